"""The cross-lingual term table of an index: every distinct BM25 term of the
corpus worth translating into, embedded once at build time (``query:``
prefix, like a question's words), so that a question in another script can
be translated word by word at query time (:mod:`rag.retrieve.crosslingual`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

import numpy as np

from rag.config import Tokenizer
from rag.index.lexical import tokenize

if TYPE_CHECKING:
    from rag.models.embedder import TextEmbedder

_DIGITS = re.compile(r"\d+")


@dataclass(frozen=True)
class TermTable:
    """The corpus terms a question's words can be translated into, and their
    unit vectors: ``vectors[i]`` (dim,) float32 is ``terms[i]`` embedded as a
    query."""

    terms: list[str]
    vectors: np.ndarray

    def __len__(self) -> int:
        return len(self.terms)


def corpus_terms(texts: Iterable[str], mode: Tokenizer | str) -> list[str]:
    """The distinct BM25 terms of ``texts`` worth translating into: two
    characters or more, not a bare number. Sorted, so a table is reproducible."""
    found: set[str] = set()
    for text in texts:
        found.update(t for t in tokenize(text, mode) if len(t) >= 2 and not _DIGITS.fullmatch(t))
    return sorted(found)


# Terms per forward pass of the embedder. Terms are one or two words, so a
# pass costs little more than its fixed overhead, and that overhead balloons
# when the two cores are shared with other work: 1,024 terms of the essay took
# 52 s in passes of 32 (the configured embed_batch_size), 7-12 s in passes of
# 256, with another process busy on both cores; 3.3 s and 3.1 s on an idle
# machine (README, "Index builds").
TERM_BATCH = 256


def embed_terms(terms: Sequence[str], embedder: TextEmbedder, known: TermTable | None = None,
                progress: Callable[[int, int], None] | None = None, batch: int = 1024) -> TermTable:
    """The table of ``terms``, reusing the vectors of ``known`` (the serving
    index's table) for terms it has and embedding only the new ones, ``batch``
    at a time (:data:`TERM_BATCH` per forward pass); ``progress(done, total)``
    counts the new ones. (The build embeds the new ones through its
    resumable stream instead: :func:`reused_vectors` is the shared half.)"""
    vectors, missing = reused_vectors(terms, known, embedder.dim)
    for lo in range(0, len(missing), batch):
        rows = missing[lo:lo + batch]
        vectors[rows] = embedder.embed_queries([terms[i] for i in rows], batch_size=TERM_BATCH)
        if progress is not None:
            progress(lo + len(rows), len(missing))
    return TermTable(list(terms), vectors)


def reused_vectors(terms: Sequence[str], known: TermTable | None, dim: int) -> tuple[np.ndarray, list[int]]:
    """(len(terms), dim) vectors with the rows of terms ``known`` has filled
    in, and the rows still to embed (``known`` lacks them, or its vectors
    have another dimension)."""
    vectors = np.zeros((len(terms), dim), dtype=np.float32)
    have = {} if known is None or known.vectors.shape[1:] != (dim,) else {t: i for i, t in enumerate(known.terms)}
    missing = []
    for i, t in enumerate(terms):
        if t in have:
            vectors[i] = known.vectors[have[t]]
        else:
            missing.append(i)
    return vectors, missing
