"""The build's embedding on Ray (rag/index/ray_embed.py): a local two-CPU
Ray instance, Ray Data actors running the real embedder over a small corpus,
must give the vectors a local build gives; and without ``--ray`` nothing of
Ray (nor of Milvus) is imported."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from support import ESSAY, PROJECT_ROOT, make_config
from rag.index.store import IndexStore
from rag.models.embedder import MIN_COSINE, Embedder


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray", reason="ray is an optional extra: `make scale` installs it")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"py_modules": [str(PROJECT_ROOT / p) for p in ("rag", "ingest", "lang")]})
    yield ray
    ray.shutdown()


def test_a_build_embedded_on_ray_has_the_vectors_of_a_local_build(local_ray, essay_config, tmp_path):
    from rag.index.build import build_index

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "essay.txt").write_text(ESSAY.read_text("utf-8"), "utf-8")
    config = make_config(corpus, tmp_path / "index", ray="auto")
    report = build_index(config)
    on_ray, local = IndexStore.load(config.index_dir), IndexStore.load(essay_config.index_dir)
    assert report.stats.chunks_embedded == len(on_ray.chunks) == len(local.chunks)
    assert [c.text for c in on_ray.chunks] == [c.text for c in local.chunks]
    # The actors embed as a question is embedded (ONNX wherever it loads); the local build may
    # have run bf16 (on an AMX machine, once loaded in this process): then the vectors agree
    # within the runtimes' cosine floor.
    same_runtime = Embedder.from_config(config).runtime == Embedder.from_config(config, bulk=True).runtime
    for ours, theirs in ((on_ray.vectors, local.vectors), (on_ray.sentences.vectors, local.sentences.vectors)):
        if same_runtime:
            assert np.allclose(ours, theirs, atol=1e-5)
        assert (ours * theirs).sum(axis=1).min() >= MIN_COSINE


def test_without_the_flags_a_build_and_a_search_import_neither_ray_nor_milvus(tmp_path):
    script = f"""
import sys
sys.path.insert(0, {str(PROJECT_ROOT / 'tests')!r})
from fakes import FakeEmbedder
from support import make_config
from pathlib import Path
from rag.index.build import build_index
from rag.index.store import IndexStore
from rag.retrieve.retriever import Retriever
corpus = Path({str(tmp_path / 'corpus')!r}); corpus.mkdir()
(corpus / "a.txt").write_text("组织工作的创新。" * 20, "utf-8")
config = make_config(corpus, Path({str(tmp_path / 'index')!r}))
build_index(config, embedder=FakeEmbedder())
Retriever(IndexStore.load(config.index_dir), FakeEmbedder(), config).search("创新")
print(sorted(m for m in sys.modules if m.split(".")[0] in ("ray", "pymilvus", "milvus_lite")))
"""
    out = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True,
                         timeout=120)
    assert out.stdout.strip().splitlines()[-1] == "[]", out.stderr[-2000:]
