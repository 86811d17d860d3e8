"""tests/fakes.py: the fake embedder the build-mechanics tests use is
deterministic (across instances and processes), gives unit vectors of its
``dim``, and has the real embedder's interface."""

from __future__ import annotations

import inspect
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from fakes import FakeEmbedder
from rag.models.embedder import Embedder

TEXTS = ["组织工作要与时俱进。", "组织工作必须与时俱进", "The lake lies east of the county.", "", "a"]


def test_vectors_are_float32_unit_rows_of_the_configured_dim():
    for dim in (16, 384):
        fake = FakeEmbedder(dim=dim)
        for vectors in (fake.embed_passages(TEXTS), fake.embed_queries(TEXTS)):
            assert vectors.shape == (len(TEXTS), dim) and vectors.dtype == np.float32
            np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-6)


def test_same_text_same_vector_in_another_instance_and_another_process():
    ours = FakeEmbedder().embed_passages(TEXTS)
    np.testing.assert_array_equal(ours, FakeEmbedder().embed_passages(TEXTS))
    # Python's own str hash changes per process; the fake must not depend on it.
    code = ("import sys, numpy as np; sys.path.insert(0, sys.argv[1]); from fakes import FakeEmbedder; "
            f"sys.stdout.write(FakeEmbedder().embed_passages({TEXTS!r}).tobytes().hex())")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code, str(Path(__file__).parent)], capture_output=True, text=True,
                         env=env, timeout=120, check=True)
    np.testing.assert_array_equal(np.frombuffer(bytes.fromhex(out.stdout), dtype=np.float32).reshape(ours.shape),
                                  ours)


def test_shared_characters_bring_texts_closer_and_prefixes_matter():
    fake = FakeEmbedder()
    v = fake.embed_passages(TEXTS[:3])
    assert v[0] @ v[1] > v[0] @ v[2] + 0.3
    assert not np.array_equal(fake.embed_queries(TEXTS[:1]), fake.embed_passages(TEXTS[:1]))


def test_passages_are_embedded_in_batches_with_progress_and_calls_recorded():
    fake = FakeEmbedder(batch_size=2)
    seen = []
    batched = fake.embed_passages(TEXTS, progress=lambda done, total: seen.append((done, total)))
    assert seen == [(2, 5), (4, 5), (5, 5)]
    np.testing.assert_array_equal(batched, FakeEmbedder(batch_size=64).embed_passages(TEXTS))
    fake.embed_queries(["x"], batch_size=8)
    assert fake.calls == [("passages", 5), ("queries", 1)]


def test_interface_matches_the_real_embedder():
    for method in ("embed_queries", "embed_passages"):
        real = list(inspect.signature(getattr(Embedder, method)).parameters)
        fake = list(inspect.signature(getattr(FakeEmbedder, method)).parameters)
        assert fake[:len(real)] == real, method    # the same arguments in the same order (and maybe more)
    fake = FakeEmbedder()
    assert all(hasattr(fake, a) for a in ("name", "dim", "query_prefix", "passage_prefix", "batch_size"))
