"""A deterministic stand-in for :class:`rag.models.embedder.Embedder`, for
tests of build mechanics that do not depend on meaning (reuse, staging,
counts, the atomic swap, resuming after a crash, bad input).

Each text becomes the sum of its character 1-, 2- and 3-grams hashed (blake2b,
so the same on every run and machine) into ``dim`` signed buckets, then
normalised: texts that share characters point the same way, the same text
always gives the same vector, and no model is loaded. Tests of retrieval
quality, answers and the UI keep the real model (``tests/conftest.py``).
"""

from __future__ import annotations

import hashlib
from typing import Callable, Sequence

import numpy as np

FAKE_NAME = "fake-ngram-hash"
NGRAMS = (1, 2, 3)


class FakeEmbedder:
    """Same interface as the real Embedder: ``name``, ``dim``, the two
    prefixes, ``batch_size``, ``embed_queries`` and ``embed_passages``, both
    returning (n, dim) float32 unit vectors. ``calls`` records each call as
    (method, number of texts), so tests can see what a build embedded."""

    def __init__(self, dim: int = 64, batch_size: int = 32, name: str = FAKE_NAME,
                 query_prefix: str = "query: ", passage_prefix: str = "passage: ") -> None:
        self.name = name
        self.dim = dim
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self.batch_size = batch_size
        self.calls: list[tuple[str, int]] = []

    def embed_queries(self, texts: Sequence[str], batch_size: int | None = None,
                      progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        """(``progress`` as the benchmark's CachedEmbedder takes it; the real
        Embedder has no such argument.)"""
        self.calls.append(("queries", len(texts)))
        vectors = self._encode([self.query_prefix + t for t in texts])
        if progress is not None:
            progress(len(texts), len(texts))
        return vectors

    def embed_passages(self, texts: Sequence[str],
                       progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        self.calls.append(("passages", len(texts)))
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for lo in range(0, len(texts), self.batch_size):
            hi = min(lo + self.batch_size, len(texts))
            out[lo:hi] = self._encode([self.passage_prefix + t for t in texts[lo:hi]])
            if progress is not None:
                progress(hi, len(texts))
        return out

    def _encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            for n in NGRAMS:
                for i in range(len(text) - n + 1):
                    digest = hashlib.blake2b(text[i:i + n].encode("utf-8"), digest_size=8).digest()
                    value = int.from_bytes(digest, "little")
                    out[row, value % self.dim] += 1.0 if (value >> 32) & 1 else -1.0
            norm = np.linalg.norm(out[row])
            if norm == 0:          # empty text (or every bucket cancelled): a fixed unit vector
                out[row, 0] = norm = 1.0
            out[row] /= norm
        return out
