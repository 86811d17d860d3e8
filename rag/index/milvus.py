"""The dense vectors in Milvus, for when one machine is not enough.

``Config.store`` names the deployment (``--store`` / ``RAG_STORE``):

- ``milvus://HOST:PORT``: a Milvus Standalone or Distributed cluster, or a
  ``milvus-lite server`` (the same gRPC protocol);
- ``milvus-lite:PATH``: Milvus Lite embedded in this process, its data in the
  folder ``PATH``.

A build writes its vectors into a new collection of its own (one per index
version, named after it: ``rag_<index>_<version>``), with the chunk row as
primary key, and records the collection in the manifest; publishing the
version (``CURRENT``, :func:`rag.index.store.publish`) then points the alias
``rag_<index>`` at it and drops the collections older than the one it
replaced. A process still serving the previous version keeps searching its
collection until it reloads; a failed build leaves its half-written
collection unaliased, and the next build drops it.

Everything else of a version (chunk table, sentence table, BM25, terms)
stays in the version folder: Milvus serves the one part that grows with the
corpus past one machine's memory, and the project's BM25 (jieba search mode
without HMM, the project's stop words) keeps serving lexical search, so
fusion and rerank see the same candidates as on the FAISS path.

pymilvus and milvus-lite are optional extras (``make scale``): this module is
imported only when a Milvus store is configured.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path
from typing import Any

import numpy as np

from rag.config import Config, DenseKind
from rag.index.vectors import RECALL_K, DenseSpec, chosen_kind, recall_at_k

PREFIX = "rag_"
INSERT_BATCH = 2000
ROW, VECTOR = "row", "dense"


class MilvusError(RuntimeError):
    """Milvus cannot be reached or used; the message says why and what to do."""


_clients: dict[str, Any] = {}
_clients_lock = threading.Lock()


def is_milvus(store: str) -> bool:
    return store.startswith(("milvus://", "milvus-lite:"))


def client_uri(store: str) -> str:
    """What pymilvus connects to for ``store`` (see the module docstring)."""
    if store.startswith("milvus://"):
        address = store.removeprefix("milvus://").rstrip("/")
        if not address or ":" not in address:
            raise MilvusError(f"store {store!r}: give the address as milvus://HOST:PORT (e.g. milvus://127.0.0.1:19530)")
        return f"http://{address}"
    if store.startswith("milvus-lite:"):
        folder = Path(store.removeprefix("milvus-lite:")).expanduser()
        if not str(folder):
            raise MilvusError(f"store {store!r}: give Milvus Lite's data folder as milvus-lite:PATH")
        folder.mkdir(parents=True, exist_ok=True)
        # Milvus Lite keeps a collection's data in the folder of its ".db" name.
        return str(folder.resolve() / "milvus.db")
    raise MilvusError(f"store {store!r} is not a Milvus store: use milvus://HOST:PORT or milvus-lite:PATH")


def client(store: str):
    """One pymilvus client per store and process."""
    uri = client_uri(store)
    with _clients_lock:
        if uri not in _clients:
            try:
                from pymilvus import MilvusClient
            except ImportError as exc:
                raise MilvusError("pymilvus is not installed: run `make scale` (pip install -r "
                                  "requirements-scale.txt)") from exc
            try:
                _clients[uri] = MilvusClient(uri, timeout=10)
            except Exception as exc:   # pymilvus raises its own exception types
                raise MilvusError(f"cannot connect to {store}: {exc}") from exc
        return _clients[uri]


def release(store: str) -> None:
    """Close this process's client of ``store`` (an embedded Milvus Lite
    then lets go of its folder)."""
    with _clients_lock:
        milvus = _clients.pop(client_uri(store), None)
    if milvus is not None:
        milvus.close()


class MilvusDense:
    """A Milvus collection searched under FAISS's contract (:class:`rag.index.vectors.DenseSearch`)."""

    def __init__(self, store: str, collection: str, ntotal: int, search_params: dict[str, Any]) -> None:
        self.store = store
        self.collection = collection
        self.ntotal = ntotal
        self.search_params = search_params
        self._client = client(store)

    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``queries`` (n, dim) float32 -> (scores (n, k), rows (n, k) int64, -1 padded)."""
        queries = np.asarray(queries, dtype=np.float32).reshape(len(queries), -1)
        scores = np.full((len(queries), k), -np.inf, dtype=np.float32)
        rows = np.full((len(queries), k), -1, dtype=np.int64)
        try:
            found = self._client.search(self.collection, data=list(queries), anns_field=VECTOR, limit=k,
                                        output_fields=[ROW], search_params=self.search_params)
        except Exception as exc:
            raise MilvusError(f"search in {self.collection} at {self.store} failed: {exc}") from exc
        for i, hits in enumerate(found):
            for j, hit in enumerate(hits[:k]):
                rows[i, j], scores[i, j] = int(hit[ROW]), float(hit["distance"])
        return scores, rows


def index_alias(index_dir: Path) -> str:
    """The alias of the serving collection of ``index_dir`` (stable across versions)."""
    return PREFIX + hashlib.sha256(str(Path(index_dir).resolve()).encode()).hexdigest()[:10]


def collection_name(index_dir: Path, version: str) -> str:
    return index_alias(index_dir) + "_" + "".join(ch if ch.isalnum() else "_" for ch in version)


def write_collection(config: Config, version: str, vectors: np.ndarray,
                     calibration: np.ndarray | None = None) -> tuple[MilvusDense, DenseSpec]:
    """A new collection for index ``version`` holding ``vectors`` (n, dim)
    float32 unit rows (row i = chunk i), indexed and loaded, and the spec the
    manifest records (recall@10 measured like :func:`rag.index.vectors.build_dense`'s)."""
    from pymilvus import DataType

    store, name = config.store, collection_name(config.index_dir, version)
    milvus = client(store)
    n, dim = vectors.shape
    # Exact search while FAISS would search exactly; HNSW past it (Milvus's default ANN type).
    approximate = chosen_kind(n, config) is not DenseKind.FLAT
    index_type, search_params = ("HNSW", {"metric_type": "IP", "params": {"ef": 128}}) if approximate else (
        "FLAT", {"metric_type": "IP"})
    try:
        if milvus.has_collection(name):
            milvus.drop_collection(name)
        schema = milvus.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field(ROW, DataType.INT64, is_primary=True)
        schema.add_field(VECTOR, DataType.FLOAT_VECTOR, dim=dim)
        index_params = milvus.prepare_index_params()
        build_params = {"M": config.dense_hnsw_m, "efConstruction": config.dense_hnsw_ef_construction}
        index_params.add_index(VECTOR, index_type=index_type, metric_type="IP",
                               params=build_params if approximate else {})
        milvus.create_collection(name, schema=schema, index_params=index_params)
        for start in range(0, n, INSERT_BATCH):
            block = vectors[start:start + INSERT_BATCH]
            milvus.insert(name, [{ROW: start + i, VECTOR: v} for i, v in enumerate(block)])
        milvus.flush(name)
        milvus.load_collection(name)
    except MilvusError:
        raise
    except Exception as exc:
        raise MilvusError(f"writing collection {name} at {store} failed: {exc}") from exc
    dense = MilvusDense(store, name, n, search_params)
    params: dict[str, int | str] = {"uri": store, "collection": name, "index_type": index_type}
    recall, measured = 1.0, 0
    if approximate and n > RECALL_K:
        import faiss

        rng = np.random.default_rng(0)
        pool = calibration if calibration is not None and len(calibration) else vectors
        queries = np.ascontiguousarray(pool[np.sort(rng.choice(len(pool), min(config.dense_calibration_queries,
                                                                                   len(pool)), replace=False))])
        _, exact = faiss.knn(queries, np.ascontiguousarray(vectors, dtype=np.float32), RECALL_K,
                             metric=faiss.METRIC_INNER_PRODUCT)
        recall, measured = round(recall_at_k(dense, queries, exact), 4), len(queries)
    return dense, DenseSpec(DenseKind.MILVUS.value, params, recall, measured)


def open_collection(store: str, collection: str) -> MilvusDense:
    """The collection of a published version, loaded for search."""
    milvus = client(store)
    try:
        if not milvus.has_collection(collection):
            raise MilvusError(f"collection {collection} does not exist at {store}")
        milvus.load_collection(collection)
        ntotal = int(milvus.get_collection_stats(collection)["row_count"])
        index = milvus.describe_index(collection, VECTOR) or {}
    except MilvusError:
        raise
    except Exception as exc:
        raise MilvusError(str(exc)) from exc
    approximate = str(index.get("index_type", "FLAT")).upper() != "FLAT"
    search_params = {"metric_type": "IP", "params": {"ef": 128}} if approximate else {"metric_type": "IP"}
    return MilvusDense(store, collection, ntotal, search_params)


def publish_collection(store: str, index_dir: Path, collection: str) -> None:
    """Point ``index_dir``'s alias at ``collection``, then drop this index's
    collections but it and the one it replaced (see the module docstring)."""
    milvus = client(store)
    alias = index_alias(index_dir)
    try:
        try:
            previous = milvus.describe_alias(alias).get("collection_name")
        except Exception:   # pymilvus raises when the alias does not exist yet
            previous = None
        if previous:
            milvus.alter_alias(collection, alias)
        else:
            milvus.create_alias(collection, alias)
        for name in milvus.list_collections():
            if name.startswith(alias + "_") and name not in {collection, previous}:
                milvus.drop_collection(name)
    except Exception as exc:
        raise MilvusError(f"publishing collection {collection} at {store} failed: {exc}") from exc
