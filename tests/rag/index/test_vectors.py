"""The dense index type chosen by size (rag/index/vectors.py): exact while
small, IVF past ``dense_flat_max`` with its nprobe tuned to the recall floor,
HNSW when asked; the choice recorded in the manifest; loading memory-mapped."""

from __future__ import annotations

import json

import faiss
import numpy as np
import pytest

from support import ESSAY, make_config
from fakes import FakeEmbedder
from rag.config import Config
from rag.index.build import build_index
from rag.index.store import IndexStore, current_version, read_manifest
from rag.index.vectors import DenseSpec, build_dense, chosen_kind, load_dense, recall_at_k, save_dense


def clustered(n: int, dim: int = 48, clusters: int = 200, seed: int = 0) -> np.ndarray:
    """Unit vectors around ``clusters`` centres: text embeddings are clustered
    by topic, and an IVF index is built for such data."""
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim)).astype(np.float32)
    points = centres[rng.integers(0, clusters, n)] + 0.6 * rng.standard_normal((n, dim)).astype(np.float32)
    return points / np.linalg.norm(points, axis=1, keepdims=True)


def exact_top(queries: np.ndarray, vectors: np.ndarray, k: int = 10) -> np.ndarray:
    return np.argsort(-(queries @ vectors.T), axis=1, kind="stable")[:, :k]


def test_auto_picks_exact_search_up_to_the_size_limit_and_ivf_past_it():
    config = Config.from_env({}, dense_flat_max=1000)
    assert chosen_kind(1000, config) == "flat"
    assert chosen_kind(1001, config) == "ivf"
    assert chosen_kind(10, config.replace(dense_index="hnsw")) == "hnsw"


def test_a_small_corpus_gets_an_exact_flat_index():
    vectors = clustered(500)
    index, spec = build_dense(vectors, Config.from_env({}))
    assert spec == DenseSpec() and spec.kind == "flat" and spec.recall_at_10 == 1.0
    assert isinstance(index, faiss.IndexFlatIP) and index.ntotal == 500


@pytest.mark.parametrize("kind, knob", [("ivf", "nprobe"), ("hnsw", "ef_search")])
def test_an_approximate_index_is_tuned_to_the_recall_floor_and_keeps_it_on_other_queries(kind, knob):
    vectors = clustered(20_000, seed=1)
    calibration = clustered(300, seed=2)
    config = Config.from_env({}, dense_flat_max=1000, dense_index=kind, dense_hnsw_ef_construction=40)
    index, spec = build_dense(vectors, config, calibration)
    assert spec.kind == kind and spec.calibration_queries == 300
    assert spec.recall_at_10 >= 0.98 and knob in spec.params
    # Queries it was not tuned on: the floor holds (within sampling noise).
    fresh = clustered(300, seed=3)
    assert recall_at_k(index, fresh, exact_top(fresh, vectors)) >= 0.97


def test_a_saved_ivf_index_loads_memory_mapped_with_its_tuned_nprobe(tmp_path):
    vectors = clustered(10_000, seed=4)
    index, spec = build_dense(vectors, Config.from_env({}, dense_flat_max=1000))
    save_dense(index, tmp_path / "dense.faiss")
    loaded = load_dense(tmp_path / "dense.faiss", spec)
    assert faiss.extract_index_ivf(loaded).nprobe == spec.params["nprobe"]
    queries = clustered(50, seed=5)
    assert np.array_equal(loaded.search(queries, 10)[1], index.search(queries, 10)[1])


def test_the_built_index_type_is_recorded_in_the_manifest_and_search_finds_the_same_rows(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "essay.txt").write_text(ESSAY.read_text("utf-8")[:8000], "utf-8")
    flat_config = make_config(corpus, tmp_path / "flat")
    ivf_config = make_config(corpus, tmp_path / "ivf", dense_flat_max=5)
    embedder = FakeEmbedder()
    build_index(flat_config, embedder=embedder)
    build_index(ivf_config, embedder=embedder)
    spec = read_manifest(ivf_config.index_dir).dense
    assert spec.kind == "ivf" and spec.recall_at_10 >= 0.98 and {"nlist", "nprobe"} <= set(spec.params)
    assert read_manifest(flat_config.index_dir).dense.kind == "flat"
    flat, ivf = IndexStore.load(flat_config.index_dir), IndexStore.load(ivf_config.index_dir)
    queries = embedder.embed_queries(["组织工作的创新", "干部队伍建设"])
    assert np.array_equal(flat.dense.search(queries, 5)[1], ivf.dense.search(queries, 5)[1])


def test_an_index_written_before_the_spec_existed_loads_as_flat(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(ESSAY.read_text("utf-8")[:1500], "utf-8")
    config = make_config(corpus, tmp_path / "index")
    build_index(config, embedder=FakeEmbedder())
    manifest_file = current_version(config.index_dir) / "manifest.json"
    data = json.loads(manifest_file.read_text("utf-8"))
    del data["dense"]
    manifest_file.write_text(json.dumps(data), "utf-8")
    store = IndexStore.load(config.index_dir)
    assert store.manifest.dense.kind == "flat" and store.dense.ntotal == len(store.chunks)
