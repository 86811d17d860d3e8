"""Re-ranking the fused candidates without a cross-encoder.

No Chinese cross-encoder ships with the project, and two CPU cores could not
run one over twenty passages per question anyway. What the index already
holds is enough to re-order the best fused candidates: each chunk's vector,
and each of its sentences' vectors (the sentence table, embedded at build
time with the document's title as context, see :mod:`rag.index.build`).

A candidate chunk is scored by three signals, all on fixed scales so that one
set of weights serves every question::

    score = cosine(question, chunk)
          + rerank_sentence_weight * max over its sentences of cosine(question, sentence)
          + rerank_match_weight    * max over its sentences of match(question, title + section + sentence)
          + rerank_fused_weight    * fused score / best fused score of the window

- The chunk cosine says the passage is about the question's topic.
- The best sentence cosine finds the one sentence that answers: a chunk of
  several sentences dilutes it in the chunk vector, and the lead chunk of a
  document (which names the subject) otherwise wins every question about
  that subject. Sentences are embedded with their document's title, so a
  sentence that says "it" still knows what it is about.
- ``match`` is the IDF-weighted share of the question's terms (CJK character
  bigrams, Latin words; question words left out) found in one sentence or
  in the chunk's title and section path: a question usually repeats the
  words of the sentence that answers it, near each other. The title counts
  for every sentence, so the subject's name, said once per document, does
  not decide between the document's chunks.
- The fused score, lightly, keeps what the first stage knew: for a question
  in another script than the corpus the three signals above are weak (flat
  cross-lingual cosines, few matching terms), and the fused order, which
  holds the translated lexical search, is the better guide.

Only the best ``rerank_depth`` fused candidates are re-ordered; the rest keep
their fused order below them. Weights were tuned on CMRC 2018 trial and
checked on dev (see ``bench/retrieval.py`` and the README).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

# The terms of lang.terms as sets (title, section and sentence terms are unioned):
# bigrams of ideograph runs, words of the rest; question words left out of a question.
from lang.terms import term_set as terms
from rag.config import Config
from rag.index.term_stats import TermStats, context_terms
from rag.retrieve.fusion import FusedCandidate

if TYPE_CHECKING:
    from rag.index.store import IndexStore
    from rag.models.embedder import TextEmbedder

@dataclass(frozen=True)
class RerankSignals:
    """Why a candidate got its rerank score (each on its own fixed scale)."""

    row: int
    chunk_cosine: float      # question vs the chunk's vector, -1..1
    sentence_cosine: float   # question vs the chunk's best sentence, -1..1
    match: float             # 0..1: share of the question's term weight in the best sentence (+ title)
    fused: float             # 0..1: the fused score over the best fused score of the window
    score: float             # the weighted sum that orders the candidates


# --- terms -------------------------------------------------------------------


def term_stats(store: IndexStore) -> TermStats:
    """Chunk frequencies of the terms of ``store`` (title, section and
    text): those the build stored with the index, else counted once per
    loaded index (:meth:`IndexStore.derived`)."""
    if store.term_stats is not None:
        return store.term_stats
    return store.derived(_count_terms)


def _count_terms(store: IndexStore) -> TermStats:
    return TermStats.count(store.chunks)


def match(question_terms: frozenset[str], weights: dict[str, float], found: frozenset[str]) -> float:
    """Share of the question's term weight that ``found`` holds (0..1)."""
    total = sum(weights.values())
    if total <= 0:
        return 0.0
    return sum(weights[t] for t in question_terms & found) / total


# --- the reranker ----------------------------------------------------------------


def signals(question: str, query_vector: np.ndarray, rows: list[int], store: "IndexStore", config: Config,
            fused_scores: list[float] | None = None) -> list[RerankSignals]:
    """The rerank signals of chunk ``rows`` for ``question``, in the order
    given; ``fused_scores`` are the rows' fused scores (none: all equal)."""
    fused_scores = fused_scores if fused_scores is not None else [1.0] * len(rows)
    top = max(fused_scores, default=0.0)
    fused_share = [f / top if top > 0 else 0.0 for f in fused_scores]
    stats = term_stats(store)
    asked = terms(question, question=True)
    weights = {t: stats.idf(t) for t in asked}
    query = np.asarray(query_vector, dtype=np.float32).reshape(-1)
    chunk_cosines = store.vectors[rows] @ query if rows else np.zeros(0, dtype=np.float32)
    out = []
    for row, chunk_cosine, fused in zip(rows, chunk_cosines, fused_share):
        chunk = store.chunks[row]
        sentences, vectors = store.sentences_of(row)
        sentence_cosine = float((vectors @ query).max()) if len(sentences) else float(chunk_cosine)
        context = context_terms(chunk.title, chunk.section)
        best_match = max((match(asked, weights, terms(s.text) | context) for s in sentences),
                         default=match(asked, weights, terms(chunk.text) | context))
        score = (float(chunk_cosine) + config.rerank_sentence_weight * sentence_cosine
                 + config.rerank_match_weight * best_match + config.rerank_fused_weight * fused)
        out.append(RerankSignals(row, float(chunk_cosine), sentence_cosine, best_match, fused, score))
    return out


def rerank(question: str, query_vector: np.ndarray | None, fused: list[FusedCandidate], store: "IndexStore",
           embedder: TextEmbedder, config: Config, *, match_text: str | None = None) -> list[FusedCandidate]:
    """``fused`` with its best ``rerank_depth`` candidates re-ordered by
    their rerank score (see the module docstring); the rest follow in fused
    order. Each re-ordered candidate's ``score`` becomes its rerank score.

    ``query_vector`` is the question's vector; it is embedded here when the
    caller (a lexical-only search) has none. ``match_text`` is what the
    sentences' terms are matched against, when not the question itself (a
    foreign-script question's translation, see :mod:`rag.index.term_table`).
    """
    depth = min(config.rerank_depth, len(fused))
    if depth <= 1:
        return list(fused)
    if query_vector is None:
        query_vector = embedder.embed_queries([question])[0]
    window = fused[:depth]
    scored = signals(match_text if match_text is not None else question, query_vector, [c.row for c in window],
                     store, config, [c.score for c in window])
    # Stable on ties: an exact tie keeps the fused order.
    order = sorted(range(depth), key=lambda i: -scored[i].score)
    return [replace(window[i], score=scored[i].score) for i in order] + list(fused[depth:])
