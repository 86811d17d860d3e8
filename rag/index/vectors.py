"""The dense vector index: exact while exact is fast enough, approximate past it.

A build hands its chunk vectors to :func:`build_dense`, which picks the FAISS
index type by the number of chunks (as txtai does):

- ``flat``: exact inner-product search, while the corpus has at most
  ``Config.dense_flat_max`` chunks (50,000: bench.scale measured an exact
  search of 10^5 chunks at 86 ms p50 on the shared two cores, an IVF search
  of 10^6 at 7 ms);
- ``ivf``: an inverted file of ``nlist`` k-means cells (about 2 x sqrt(n)),
  of which a query scans ``nprobe``. ``nprobe`` is not guessed: it is raised
  until recall@10 against exact search, measured on calibration queries
  (a sample of the index's own sentence vectors, which are not in the dense
  index and are question-like: one sentence answers a question), reaches
  ``Config.dense_min_recall``;
- ``hnsw``: a navigable small-world graph (``m`` links per node) whose
  ``ef_search`` is raised the same way; chosen only when asked for.

What was chosen, its parameters and the measured recall are a
:class:`DenseSpec`, recorded in the manifest. A saved flat or IVF index is
loaded memory-mapped (the OS pages it in and shares it between processes).

Whatever serves the dense search (this FAISS index, or a Milvus collection,
:mod:`rag.index.milvus`) keeps FAISS's contract, :class:`DenseSearch`, so the
retriever does not know which one it talks to.
"""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

import numpy as np

from rag.config import Config, DenseKind

if TYPE_CHECKING:
    import faiss

log = logging.getLogger(__name__)

RECALL_K = 10


class DenseSearch(Protocol):
    """FAISS's search contract, which every dense store keeps."""

    ntotal: int

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``queries`` (n, dim) float32 -> (scores (n, k) float32, rows (n, k)
        int64), best first, rows padded with -1 when fewer than ``k`` exist."""
        ...


@dataclass(frozen=True)
class DenseSpec:
    """Which dense index a version has, as the manifest records it.

    ``params``: ``nlist``/``nprobe`` (ivf), ``m``/``ef_construction``/``ef_search``
    (hnsw), ``collection`` (milvus); ``recall_at_10``: measured against exact
    search on ``calibration_queries`` queries at build time (1.0 for flat).
    """

    kind: str = DenseKind.FLAT.value
    params: dict[str, int | str] = field(default_factory=dict)
    recall_at_10: float = 1.0
    calibration_queries: int = 0

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict | None) -> "DenseSpec":
        # Indexes written before the spec existed are all flat.
        return cls(**data) if data else cls()

    def describe(self) -> str:
        params = ", ".join(f"{k}={v}" for k, v in self.params.items() if k not in ("uri", "collection"))
        return f"{self.kind}" + (f" ({params})" if params else "") + f", recall@10 {self.recall_at_10:.4f}"


def chosen_kind(n_vectors: int, config: Config) -> DenseKind:
    """The index type for ``n_vectors`` chunks under ``config.dense_index``."""
    kind = DenseKind(config.dense_index)
    if kind is not DenseKind.AUTO:
        return kind
    return DenseKind.FLAT if n_vectors <= config.dense_flat_max else DenseKind.IVF


def build_dense(vectors: np.ndarray, config: Config, calibration: np.ndarray | None = None,
                seed: int = 0) -> tuple["faiss.Index", DenseSpec]:
    """The dense index over ``vectors`` (n, dim) float32 unit rows, and its spec.

    ``calibration`` (q, dim): the queries an approximate index's recall is
    tuned on; a sample of ``vectors`` when None.
    """
    import faiss

    vectors = np.ascontiguousarray(vectors, dtype=np.float32)
    n, dim = vectors.shape
    kind = chosen_kind(n, config)
    if kind is DenseKind.FLAT or n <= RECALL_K:
        index = faiss.IndexFlatIP(dim)
        index.add(vectors)
        return index, DenseSpec()
    rng = np.random.default_rng(seed)
    queries = _calibration_queries(vectors, calibration, config.dense_calibration_queries, rng)
    _, exact = faiss.knn(queries, vectors, RECALL_K, metric=faiss.METRIC_INNER_PRODUCT)
    if kind is DenseKind.IVF:
        index, params = _build_ivf(vectors, rng)
        knob, start = "nprobe", 1
        limit = params["nlist"]
    elif kind is DenseKind.HNSW:
        index, params = _build_hnsw(vectors, config)
        knob, start = "ef_search", RECALL_K
        limit = max(n, RECALL_K)
    else:
        raise ValueError(f"dense index {kind!r} is not a FAISS index type: a Milvus collection is chosen "
                         "with --store milvus://HOST:PORT or milvus-lite:PATH")
    value, recall = start, 0.0
    while True:
        _set_knob(index, knob, value)
        recall = recall_at_k(index, queries, exact)
        if recall >= config.dense_min_recall or value >= limit:
            break
        value = min(limit, value * 2)
    if recall < config.dense_min_recall:
        log.warning("dense %s index reaches recall@10 %.4f < %.2f even at %s=%d", kind, recall,
                    config.dense_min_recall, knob, value)
    params[knob] = value
    return index, DenseSpec(kind.value, params, round(recall, 4), len(queries))


def recall_at_k(index: "faiss.Index", queries: np.ndarray, exact: np.ndarray) -> float:
    """Mean share of each query's exact top-k rows (``exact`` (q, k)) that
    ``index`` returns in its own top k."""
    k = exact.shape[1]
    _, found = index.search(queries, k)
    return float(np.mean([len(set(f.tolist()) & set(e.tolist())) / k for f, e in zip(found, exact)]))


def save_dense(index: "faiss.Index", path: Path) -> None:
    import faiss

    faiss.write_index(index, str(path))


def load_dense(path: Path, spec: DenseSpec) -> "faiss.Index":
    """The saved index, memory-mapped where FAISS can (flat and IVF), with
    its search knob set from ``spec``."""
    import faiss

    flags = {DenseKind.FLAT.value: faiss.IO_FLAG_MMAP_IFC, DenseKind.IVF.value: faiss.IO_FLAG_MMAP}.get(spec.kind, 0)
    index = faiss.read_index(str(path), flags | faiss.IO_FLAG_READ_ONLY if flags else 0)
    for knob in ("nprobe", "ef_search"):
        if knob in spec.params:
            _set_knob(index, knob, int(spec.params[knob]))
    return index


# --- the approximate index types -------------------------------------------------


def _build_ivf(vectors: np.ndarray, rng: np.random.Generator) -> tuple["faiss.Index", dict[str, int]]:
    import faiss

    n, dim = vectors.shape
    # About 2 x sqrt(n) cells (a power of two): k-means stays cheap on two
    # cores, and a probed cell holds ~sqrt(n)/2 vectors, long enough to scan
    # at memory speed. FAISS wants >= 39 training points a cell.
    nlist = max(1, min(n // 39, 2 ** round(math.log2(2 * math.sqrt(n)))))
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
    # k-means needs ~40-256 points a cell; more only costs time.
    train = vectors[np.sort(rng.choice(n, size=min(n, 48 * nlist), replace=False))]
    index.train(train)
    index.add(vectors)
    return index, {"nlist": nlist}


def _build_hnsw(vectors: np.ndarray, config: Config) -> tuple["faiss.Index", dict[str, int]]:
    import faiss

    index = faiss.IndexHNSWFlat(vectors.shape[1], config.dense_hnsw_m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = config.dense_hnsw_ef_construction
    index.add(vectors)
    return index, {"m": config.dense_hnsw_m, "ef_construction": config.dense_hnsw_ef_construction}


def _set_knob(index: "faiss.Index", knob: str, value: int) -> None:
    import faiss

    if knob == "nprobe":
        faiss.extract_index_ivf(index).nprobe = value
    else:
        faiss.downcast_index(index).hnsw.efSearch = value


def _calibration_queries(vectors: np.ndarray, calibration: np.ndarray | None, count: int,
                         rng: np.random.Generator) -> np.ndarray:
    pool = vectors if calibration is None or len(calibration) == 0 else calibration
    picked = rng.choice(len(pool), size=min(count, len(pool)), replace=False)
    return np.ascontiguousarray(pool[np.sort(picked)], dtype=np.float32)
