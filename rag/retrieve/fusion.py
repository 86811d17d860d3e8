"""Two rankings, dense and lexical, made one: reciprocal-rank or weighted
min-max fusion (:func:`fuse`), over the :class:`Candidate` rows each
retriever returns."""

from __future__ import annotations

from dataclasses import dataclass

from rag.config import Config, Fusion


@dataclass(frozen=True)
class Candidate:
    """A chunk row of the index and one retriever's score for it."""

    row: int
    score: float


@dataclass(frozen=True)
class FusedCandidate:
    """A chunk row with its fused score and each retriever's own score/rank."""

    row: int
    score: float
    dense_score: float | None
    lexical_score: float | None
    dense_rank: int | None
    lexical_rank: int | None



def fuse(dense: list[Candidate], lexical: list[Candidate], method: Fusion | str, config: Config, *,
         lexical_scale: float = 1.0) -> list[FusedCandidate]:
    """One ranking from two, best first.

    - ``Fusion.RRF``: reciprocal-rank fusion, sum of weight / (rrf_k + rank).
    - ``Fusion.WEIGHTED``: sum of weight * min-max normalised score per
      retriever (a convex combination when the weights sum to 1).
    - ``Fusion.DENSE`` / ``Fusion.LEXICAL``: that retriever alone.

    ``lexical_scale`` multiplies ``lexical_weight`` for this question (the
    retriever lowers it for a question in another script than the corpus).
    """
    try:
        method = Fusion(method)
    except ValueError:
        raise ValueError(f"unknown fusion {method!r}: use one of {', '.join(Fusion)}") from None
    seen: dict[int, _Seen] = {}
    for cands, is_dense in ((dense, True), (lexical, False)):
        for rank, c in enumerate(cands, start=1):
            entry = seen.setdefault(c.row, _Seen())
            if is_dense:
                entry.dense_score, entry.dense_rank = c.score, rank
            else:
                entry.lexical_score, entry.lexical_rank = c.score, rank

    dense_norm, lexical_norm = _normalised(dense), _normalised(lexical)
    lexical_weight = config.lexical_weight * lexical_scale
    fused = []
    for row, e in seen.items():
        if method is Fusion.RRF:
            score = sum(w / (config.rrf_k + r) for w, r in ((config.dense_weight, e.dense_rank),
                                                             (lexical_weight, e.lexical_rank))
                        if r is not None)
        elif method is Fusion.WEIGHTED:
            score = config.dense_weight * dense_norm.get(row, 0.0) + lexical_weight * lexical_norm.get(row, 0.0)
        elif method is Fusion.DENSE:
            if e.dense_score is None:
                continue
            score = e.dense_score
        else:
            if e.lexical_score is None:
                continue
            score = e.lexical_score
        fused.append(FusedCandidate(row, float(score), e.dense_score, e.lexical_score, e.dense_rank, e.lexical_rank))
    # Ties (common in RRF) are broken by dense rank, then row, so order is stable.
    fused.sort(key=lambda c: (-c.score, c.dense_rank or 10**9, c.row))
    return fused


@dataclass
class _Seen:
    """What each retriever said of one row, while fusing."""

    dense_score: float | None = None
    lexical_score: float | None = None
    dense_rank: int | None = None
    lexical_rank: int | None = None


def _normalised(cands: list[Candidate]) -> dict[int, float]:
    """Scores min-max scaled to [0, 1] (all 1.0 when they are equal)."""
    if not cands:
        return {}
    hi, lo = max(c.score for c in cands), min(c.score for c in cands)
    span = hi - lo
    return {c.row: (c.score - lo) / span if span > 0 else 1.0 for c in cands}
