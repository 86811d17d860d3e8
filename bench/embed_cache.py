"""An embedder that remembers: the benchmark's way to afford sweeps on two
shared CPU cores.

Embedding is the slow step of every benchmark run (a 300-character passage
takes ~0.1-1 s on a busy 2-core machine); the same texts (questions, the
sentences of a paragraph, a chunk that every chunk size cuts the same way)
come back in every run of a sweep. :class:`CachedEmbedder` wraps a real
:class:`~rag.models.embedder.Embedder`, keeps every vector it made in a SQLite file
keyed by the embedder, the prefixed text, and returns it the next time.

It has the embedder's interface (``name``, ``dim``, ``embed_queries``,
``embed_passages``), so :func:`rag.index.build.build_index`, the retriever and
the answer module take it as they are.
"""

from __future__ import annotations

import hashlib
import sqlite3
import threading
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from rag.models.embedder import Embedder

ProgressFn = Callable[[int, int], None]


class CachedEmbedder:
    """``inner`` with a disk cache of its vectors in ``path`` (SQLite)."""

    def __init__(self, inner: Embedder, path: Path) -> None:
        self.inner = inner
        self.name = inner.name
        self.dim = inner.dim
        self.query_prefix = inner.query_prefix
        self.passage_prefix = inner.passage_prefix
        self.batch_size = inner.batch_size
        path.parent.mkdir(parents=True, exist_ok=True)
        # One connection per process, used under a lock: the UI-free benchmark
        # is single-threaded, but the answer module may embed from a pool.
        self._db = sqlite3.connect(path, timeout=60, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)")
        self._lock = threading.Lock()

    def embed_queries(self, texts: Sequence[str], progress: ProgressFn | None = None,
                      batch_size: int | None = None) -> np.ndarray:
        """(n, dim) float32 unit vectors of questions (``query:`` prefix)."""
        def encode(todo: Sequence[str]) -> np.ndarray:
            return self.inner.embed_queries(todo, batch_size=batch_size)
        return self._embed(texts, self.query_prefix, encode, progress)

    def embed_passages(self, texts: Sequence[str], progress: ProgressFn | None = None) -> np.ndarray:
        """(n, dim) float32 unit vectors of passages (``passage:`` prefix)."""
        return self._embed(texts, self.passage_prefix, self.inner.embed_passages, progress)

    def _embed(self, texts: Sequence[str], prefix: str, encode: Callable[[Sequence[str]], np.ndarray],
               progress: ProgressFn | None) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        keys = [self._key(prefix, t) for t in texts]
        found = self._get(set(keys))
        missing: dict[str, list[int]] = {}
        for i, key in enumerate(keys):
            if key in found:
                out[i] = found[key]
            else:
                missing.setdefault(key, []).append(i)
        todo = [texts[rows[0]] for rows in missing.values()]
        todo_keys = list(missing)
        # Batches of a few hundred: progress stays visible and an interrupted
        # run keeps what it had embedded.
        step = max(self.batch_size, 256)
        for lo in range(0, len(todo), step):
            vectors = encode(todo[lo:lo + step])
            self._put(todo_keys[lo:lo + step], vectors)
            for key, vector in zip(todo_keys[lo:lo + step], vectors):
                out[missing[key]] = vector
            if progress is not None:
                progress(min(lo + step, len(todo)), len(todo))
        if progress is not None and not todo:
            progress(0, 0)
        return out

    def _key(self, prefix: str, text: str) -> str:
        return hashlib.sha1(f"{self.name}\x00{prefix}{text}".encode("utf-8")).hexdigest()

    def _get(self, keys: set[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        ordered = sorted(keys)
        with self._lock:
            for lo in range(0, len(ordered), 500):
                part = ordered[lo:lo + 500]
                rows = self._db.execute(f"SELECT key, vector FROM vectors WHERE key IN ({','.join('?' * len(part))})",
                                        part).fetchall()
                for key, blob in rows:
                    vector = np.frombuffer(blob, dtype=np.float32)
                    if vector.shape == (self.dim,):
                        found[key] = vector
        return found

    def _put(self, keys: Sequence[str], vectors: np.ndarray) -> None:
        rows = [(k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in zip(keys, vectors)]
        with self._lock, self._db:
            self._db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)", rows)
