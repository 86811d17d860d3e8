"""Question to ranked hits: dense (FAISS) and lexical (BM25) candidates,
fused, then optionally re-ranked.

Each retriever returns :class:`Candidate` rows (chunk row and score); fusion
turns the two lists into one ordered list of :class:`~rag.records.Hit`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rag.config import Config
from rag.embedder import Embedder
from rag.records import Hit
from rag.store import IndexStore


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


class Retriever:
    """Searches one loaded index with one embedder."""

    def __init__(self, store: IndexStore, embedder: Embedder, config: Config) -> None:
        self.store = store
        self.embedder = embedder
        self.config = config

    def search(self, question: str, k: int | None = None, *, fusion: str | None = None,
               rerank: bool | None = None, query_vector: np.ndarray | None = None) -> list[Hit]:
        """The ``k`` best hits for ``question``, best first.

        ``fusion`` ("rrf", "weighted", "dense", "lexical") and ``rerank``
        override the config for this call (the benchmark compares them).
        """
        k = k or self.config.top_k
        fusion = fusion or self.config.fusion
        rerank = self.config.rerank if rerank is None else rerank
        depth = max(self.config.candidates, k)
        if query_vector is None and fusion != "lexical":
            query_vector = self.embedder.embed_queries([question])[0]
        dense = self.dense(query_vector, depth) if fusion != "lexical" else []
        lexical = self.lexical(question, depth) if fusion != "dense" else []
        fused = fuse(dense, lexical, fusion, self.config)
        if rerank and fused:
            from rag.rerank import rerank as rerank_candidates

            fused = rerank_candidates(question, query_vector, fused, self.store, self.embedder, self.config)
        return [self._hit(c, rank) for rank, c in enumerate(fused[:k], start=1)]

    def dense(self, query_vector: np.ndarray, depth: int) -> list[Candidate]:
        depth = min(depth, self.store.dense.ntotal)
        if depth == 0:
            return []
        scores, rows = self.store.dense.search(query_vector.reshape(1, -1).astype(np.float32), depth)
        return [Candidate(int(r), float(s)) for r, s in zip(rows[0], scores[0]) if r >= 0]

    def lexical(self, question: str, depth: int) -> list[Candidate]:
        return [Candidate(m.index, m.score) for m in self.store.lexical.search(question, depth)]

    def _hit(self, c: FusedCandidate, rank: int) -> Hit:
        retrievers = tuple(name for name, r in (("dense", c.dense_rank), ("lexical", c.lexical_rank))
                           if r is not None)
        return Hit(self.store.chunks[c.row], score=c.score, rank=rank, retrievers=retrievers,
                   dense_score=c.dense_score, lexical_score=c.lexical_score)


def fuse(dense: list[Candidate], lexical: list[Candidate], method: str, config: Config) -> list[FusedCandidate]:
    """One ranking from two, best first.

    - "rrf": reciprocal-rank fusion, sum of weight / (rrf_k + rank).
    - "weighted": sum of weight * min-max normalised score per retriever.
    - "dense" / "lexical": that retriever alone.
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
    fused = []
    for row, e in rows.items():
        if method == "rrf":
            score = sum(w / (config.rrf_k + r) for w, r in ((config.dense_weight, e["dense_rank"]),
                                                             (config.lexical_weight, e["lexical_rank"]))
                        if r is not None)
        elif method == "weighted":
            score = (config.dense_weight * dense_norm.get(row, 0.0)
                     + config.lexical_weight * lexical_norm.get(row, 0.0))
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
