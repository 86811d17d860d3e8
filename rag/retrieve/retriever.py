"""Question to ranked hits: dense (FAISS) and lexical (BM25) candidates,
fused, then optionally re-ranked (:mod:`rag.retrieve.rerank`).

Each retriever returns :class:`Candidate` rows (chunk row and score); fusion
turns the two lists into one ordered list of :class:`~rag.records.Hit`.

A question in another script than the corpus (an English question over
Chinese documents) cannot be matched word for word: its lexical search runs
on its own words plus their translation into corpus terms
(:mod:`rag.index.term_table`), and that noisier list weighs
``crosslingual_lexical_scale`` times the usual lexical weight in fusion, so
the multilingual dense ranking leads. A lexical search that matches nothing
leaves the dense order as it is.
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np

from lang.scripts import IDEOGRAPH
from rag.config import Config, Fusion
from rag.index.store import IndexStore
from rag.models.embedder import TextEmbedder
from rag.records import Hit
from rag.retrieve.crosslingual import translate
from rag.retrieve.fusion import Candidate, FusedCandidate, fuse
from rag.retrieve.rerank import rerank as rerank_candidates


class Retriever:
    """Searches one loaded index with one embedder."""

    def __init__(self, store: IndexStore, embedder: TextEmbedder, config: Config) -> None:
        self.store = store
        self.embedder = embedder
        self.config = config

    def search(self, question: str, k: int | None = None, *, fusion: Fusion | str | None = None,
               rerank: bool | None = None, query_vector: np.ndarray | None = None) -> list[Hit]:
        """The ``k`` best hits for ``question``, best first.

        ``fusion`` and ``rerank`` override the config for this call (the
        benchmark compares them).
        """
        k = k or self.config.top_k
        fusion = Fusion(fusion or self.config.fusion)
        rerank = self.config.rerank if rerank is None else rerank
        depth = max(self.config.candidates, k)
        if query_vector is None and fusion is not Fusion.LEXICAL:
            query_vector = self.embedder.embed_queries([question])[0]
        lexical_question, scale = question, 1.0
        if fusion is not Fusion.DENSE and not same_script(question, self.store):
            translation = translate(question, self.store.terms, self.embedder, self.config.lexical_tokenizer)
            # The question's own words stay: names and codes ("Pennetta",
            # "AGG01") are often written in the corpus as they are.
            lexical_question = f"{question} {translation.query}"
            scale = self.config.crosslingual_lexical_scale
        dense = self.dense(query_vector, depth) if fusion is not Fusion.LEXICAL else []
        lexical = self.lexical(lexical_question, depth) if fusion is not Fusion.DENSE else []
        fused = fuse(dense, lexical, fusion, self.config, lexical_scale=scale)
        if rerank and fused:
            fused = rerank_candidates(question, query_vector, fused, self.store, self.embedder, self.config,
                                      match_text=lexical_question)
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


# --- scripts -----------------------------------------------------------------

_CJK = IDEOGRAPH   # lang.scripts: the CJK ranges, supplementary planes included
_LETTER = re.compile(r"[^\W\d_]")


def is_cjk_text(text: str) -> bool | None:
    """Whether a question is written in Chinese (any ideograph: a Chinese
    question naming an English term is still Chinese); None when it has no
    letters at all (a number, a code), which every script shares."""
    if _CJK.search(text):
        return True
    return False if _LETTER.search(text) else None


def corpus_is_cjk(store: IndexStore) -> bool:
    """Whether most letters of the indexed chunks are ideographs; computed
    once per loaded index (:meth:`IndexStore.derived`)."""
    return store.derived(_mostly_cjk)


def _mostly_cjk(store: IndexStore) -> bool:
    letters = cjk = 0
    # A text repeated across chunks is scanned once and counted once per copy.
    for text, n in Counter(chunk.text for chunk in store.chunks).items():
        letters += n * len(_LETTER.findall(text))
        cjk += n * len(_CJK.findall(text))
    return letters > 0 and cjk * 2 >= letters


def same_script(question: str, store: IndexStore) -> bool:
    """Whether ``question`` is in the corpus's script (Chinese or not)."""
    script = is_cjk_text(question)
    return script is None or script == corpus_is_cjk(store)
