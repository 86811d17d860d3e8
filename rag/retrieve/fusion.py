"""Two rankings, dense and lexical, made one: reciprocal-rank or weighted
min-max fusion (:func:`fuse`), over the :class:`Candidate` rows each
retriever returns."""

from __future__ import annotations

from dataclasses import dataclass

from rag.config import Config


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



def fuse(dense: list[Candidate], lexical: list[Candidate], method: str, config: Config, *,
         lexical_scale: float = 1.0) -> list[FusedCandidate]:
    """One ranking from two, best first.

    - "rrf": reciprocal-rank fusion, sum of weight / (rrf_k + rank).
    - "weighted": sum of weight * min-max normalised score per retriever
      (a convex combination when the weights sum to 1).
    - "dense" / "lexical": that retriever alone.

    ``lexical_scale`` multiplies ``lexical_weight`` for this question (see
    the module docstring).
    """
    if method not in {"rrf", "weighted", "dense", "lexical"}:
        raise ValueError(f"unknown fusion {method!r}: use rrf, weighted, dense or lexical")
    rows: dict[int, dict] = {}
    for name, cands in (("dense", dense), ("lexical", lexical)):
        for rank, c in enumerate(cands, start=1):
            entry = rows.setdefault(c.row, {"dense": None, "lexical": None, "dense_rank": None, "lexical_rank": None})
            entry[name] = c.score
            entry[name + "_rank"] = rank

    def normalised(cands: list[Candidate]) -> dict[int, float]:
        if not cands:
            return {}
        hi, lo = max(c.score for c in cands), min(c.score for c in cands)
        span = hi - lo
        return {c.row: (c.score - lo) / span if span > 0 else 1.0 for c in cands}

    dense_norm, lexical_norm = normalised(dense), normalised(lexical)
    lexical_weight = config.lexical_weight * lexical_scale
    fused = []
    for row, e in rows.items():
        if method == "rrf":
            score = sum(w / (config.rrf_k + r) for w, r in ((config.dense_weight, e["dense_rank"]),
                                                             (lexical_weight, e["lexical_rank"]))
                        if r is not None)
        elif method == "weighted":
            score = config.dense_weight * dense_norm.get(row, 0.0) + lexical_weight * lexical_norm.get(row, 0.0)
        elif method == "dense":
            if e["dense"] is None:
                continue
            score = e["dense"]
        else:
            if e["lexical"] is None:
                continue
            score = e["lexical"]
        fused.append(FusedCandidate(row, float(score), e["dense"], e["lexical"], e["dense_rank"], e["lexical_rank"]))
    # Ties (common in RRF) are broken by dense rank, then row, so order is stable.
    fused.sort(key=lambda c: (-c.score, c.dense_rank or 10**9, c.row))
    return fused
