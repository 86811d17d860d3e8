"""bench.scale on a CI-sized slice: a few CMRC trial paragraphs as the base
(their questions asked), a few dev paragraphs as the distractor pool, grown
to two sizes capped by --max-chunks; the second past dense_flat_max, so the
approximate index and its recall are exercised, and the Milvus store (a
milvus-lite server the run starts and stops) beside FAISS when installed."""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from bench.retrieval import Progress
from bench.scale import format_report, open_corpora, run, synthesize
from rag.config import Config

pytestmark = pytest.mark.bench

HAVE_MILVUS = all(importlib.util.find_spec(m) for m in ("pymilvus", "milvus_lite"))


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    from bench.embed_cache import CachedEmbedder
    from rag.models.embedder import Embedder

    root = tmp_path_factory.mktemp("scale-indexes")
    config = Config.from_env({})
    embedder = CachedEmbedder(Embedder.from_config(config), root / ".cache" / "embeddings.sqlite")
    base, questions, vectors, _, _ = open_corpora("cmrc2018-trial", "cmrc2018-trial", config, 30,
                                                  Progress(quiet=True), root, embedder, distractors=3)
    _, _, _, pool, _ = open_corpora("cmrc2018-dev", "cmrc2018-dev", config, 6, Progress(quiet=True), root,
                                    embedder, distractors=2)
    return base, questions, vectors, pool, embedder, config


def test_distractors_copy_pool_chunks_with_moved_vectors_and_sentences(corpora):
    base, _, _, pool, _, _ = corpora
    corpus = synthesize(base, pool, len(base.chunks) + 500, noise=0.5)
    store = corpus.store
    assert len(store.chunks) == len(base.chunks) + 500 == len(corpus.text_rows)
    assert [c.id for c in store.chunks] == list(range(len(store.chunks)))
    row = len(base.chunks) + 7
    source = int(store.sources[7])
    assert store.chunks[row].text == pool.chunks[source].text
    cosine = float(store.vectors[row] @ pool.vectors[source])
    assert 0.8 < cosine < 0.95 and abs(np.linalg.norm(store.vectors[row]) - 1) < 1e-5
    sentences, vectors = store.sentences_of(row)
    assert [s.text for s in sentences] == [s.text for s in pool.sentences_of(source)[0]]
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1, atol=1e-5)


def test_a_capped_run_reports_each_size_and_store_and_finds_the_questions_paragraphs(corpora, tmp_path):
    base, questions, vectors, pool, embedder, config = corpora
    stores = ("faiss", "milvus") if HAVE_MILVUS else ("faiss",)
    report = run(base, pool, questions, vectors, config.replace(dense_flat_max=3000), embedder,
                 sizes=(2000, 10**6), stores=stores, max_chunks=6000, latency_questions=10, work_dir=tmp_path,
                 base_name="trial slice", pool_name="dev slice")
    assert [(r.chunks, r.store) for r in report.rows] == [(n, s) for n in (2000, 6000) for s in stores]
    small, large = (r for r in report.rows if r.store == "faiss")
    assert small.dense_index.startswith("flat") and small.recall_at_10 == 1.0
    assert large.dense_index.startswith("ivf") and large.recall_at_10 >= 0.95
    # The slice's own questions over its paragraphs and 5,000 copies of others.
    assert small.r_at_1 >= 0.85 and large.r_at_1 >= 0.85
    assert all(r.questions == len(questions) and r.full.p50_ms > 0 and r.disk_mb > 0 for r in report.rows)
    if HAVE_MILVUS:
        milvus = {r.chunks: r for r in report.rows if r.store == "milvus"}
        assert abs(milvus[2000].r_at_1 - small.r_at_1) <= 0.05
    assert "| 6,000 | faiss | ivf" in format_report(report)
    assert not list(tmp_path.iterdir()) or all(not p.name.startswith("scale-") for p in tmp_path.iterdir())


@pytest.mark.skipif(not HAVE_MILVUS, reason="pymilvus and milvus-lite are optional extras: `make scale` installs them")
def test_the_bm25_comparison_asks_every_question_of_both_and_leaves_no_milvus_folder(corpora, tmp_path):
    from bench.scale import compare_bm25

    base, questions, _, _, _, config = corpora
    result = compare_bm25(base, questions, config, tmp_path)
    assert result["questions"] == len(questions)
    assert result["project_bm25_r_at_1"] >= 0.8 and 0.0 <= result["milvus_bm25_jieba_r_at_1"] <= 1.0
    assert not list(tmp_path.iterdir())
