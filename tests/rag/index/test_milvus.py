"""The Milvus store (rag/index/milvus.py) against Milvus Lite 3.x: embedded
(``milvus-lite:PATH``) and as a gRPC server on loopback (``milvus://``, the
protocol of a Milvus cluster), started and stopped here. Builds use the fake
embedder: what is tested is where the vectors live, not what they mean."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pymilvus", reason="pymilvus is an optional extra: `make scale` installs it")
pytest.importorskip("milvus_lite", reason="milvus-lite is an optional extra: `make scale` installs it")

from support import ESSAY, make_config  # noqa: E402
from fakes import FakeEmbedder  # noqa: E402
from bench.scale import MilvusLiteServer  # noqa: E402
from rag.index.build import BuildError, build_index  # noqa: E402
from rag.index.milvus import client, index_alias  # noqa: E402
from rag.index.store import IndexStore, StoreUnreachable, read_manifest  # noqa: E402
from rag.retrieve.retriever import Retriever  # noqa: E402

ESSAY_TEXT = ESSAY.read_text("utf-8")
QUESTIONS = ["组织工作如何创新？", "干部队伍建设的要求", "基层党组织"]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    lite = MilvusLiteServer(tmp_path_factory.mktemp("milvus-server"))
    yield lite.store
    lite.stop()


@pytest.fixture(params=["server", "embedded"])
def store(request, tmp_path):
    return request.getfixturevalue("server") if request.param == "server" else f"milvus-lite:{tmp_path / 'lite'}"


@pytest.fixture()
def corpus(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "a.txt").write_text(ESSAY_TEXT[:2500], "utf-8")
    (folder / "b.txt").write_text(ESSAY_TEXT[3000:5500], "utf-8")
    return folder


def hits(config, embedder):
    retriever = Retriever(IndexStore.load(config.index_dir, config.store), embedder, config)
    return [[(h.chunk.doc, h.chunk.start) for h in retriever.search(q)] for q in QUESTIONS]


def test_a_milvus_built_index_serves_the_same_hits_as_faiss(store, corpus, tmp_path):
    embedder = FakeEmbedder()
    faiss_config = make_config(corpus, tmp_path / "faiss-index")
    milvus_config = make_config(corpus, tmp_path / "milvus-index", store=store)
    build_index(faiss_config, embedder=embedder)
    build_index(milvus_config, embedder=embedder)
    spec = read_manifest(milvus_config.index_dir).dense
    assert spec.kind == "milvus" and spec.params["uri"] == store
    assert not list(milvus_config.index_dir.glob("v-*/dense.faiss"))
    assert hits(milvus_config, embedder) == hits(faiss_config, embedder)


def test_updates_and_deletes_go_to_a_new_collection_and_the_alias_follows(server, corpus, tmp_path):
    embedder = FakeEmbedder()
    config = make_config(corpus, tmp_path / "index", store=server)
    collections = []
    for step in range(3):
        if step == 1:
            (corpus / "c.txt").write_text(ESSAY_TEXT[6000:8000], "utf-8")
        if step == 2:
            (corpus / "a.txt").unlink()
        build_index(config, embedder=embedder)
        collections.append(read_manifest(config.index_dir).dense.params["collection"])
        store = IndexStore.load(config.index_dir, config.store)
        docs = {c.doc for c in store.chunks}
        assert store.dense.ntotal == len(store.chunks)
        assert client(server).describe_alias(index_alias(config.index_dir))["collection_name"] == collections[-1]
    assert docs == {"b.txt", "c.txt"}
    # The serving collection and the one it replaced stay (a process serving
    # the previous version keeps working until it reloads); older ones go.
    mine = {c for c in client(server).list_collections() if c.startswith(index_alias(config.index_dir))}
    assert mine == set(collections[1:])
    rows = store.dense.search(embedder.embed_queries(["基层"]), 5)[1][0]
    assert all(0 <= r < len(store.chunks) for r in rows)


def test_an_unreachable_milvus_fails_the_build_and_the_last_good_index_keeps_serving(server, corpus, tmp_path):
    embedder = FakeEmbedder()
    config = make_config(corpus, tmp_path / "index", store=server)
    build_index(config, embedder=embedder)
    before = hits(config, embedder)
    (corpus / "c.txt").write_text(ESSAY_TEXT[6000:8000], "utf-8")
    with pytest.raises(BuildError, match="milvus://127.0.0.1:9"):
        build_index(config.replace(store="milvus://127.0.0.1:9"), embedder=embedder)
    assert hits(config, embedder) == before


def test_loading_an_index_whose_milvus_is_down_says_what_to_do(corpus, tmp_path):
    lite = MilvusLiteServer(tmp_path / "short-lived")
    config = make_config(corpus, tmp_path / "index", store=lite.store)
    build_index(config, embedder=FakeEmbedder())
    lite.stop()
    with pytest.raises(StoreUnreachable, match="start Milvus"):
        IndexStore.load(config.index_dir, "milvus://127.0.0.1:9")


def test_search_pads_with_minus_one_past_the_collection_size(server, corpus, tmp_path):
    embedder = FakeEmbedder()
    config = make_config(corpus, tmp_path / "index", store=server)
    build_index(config, embedder=embedder)
    store = IndexStore.load(config.index_dir, config.store)
    scores, rows = store.dense.search(embedder.embed_queries(["组织"]), store.dense.ntotal + 3)
    assert (rows[0, -3:] == -1).all() and np.isfinite(scores[0, :-3]).all()
