"""bench.embed on six of the essay's texts: the table has the baseline
and the runtime auto picks, and the vectors agree (no speed is asserted)."""

from __future__ import annotations

import numpy as np
import pytest

from bench.embed import build_texts, evenly, format_report, run
from rag.config import Config

pytestmark = pytest.mark.bench


def test_essay_texts_are_the_builds_chunks_and_sentences():
    texts = build_texts("essay", Config.from_env({}))
    assert len(texts) > 100 and len(set(texts)) == len(texts)
    assert evenly(texts, 10) == [texts[i * len(texts) // 10] for i in range(10)]
    assert evenly(texts, 0) == texts


def test_a_tiny_run_prints_the_cpu_the_load_and_the_ratio():
    report = run("essay", 6, ["auto"], Config.from_env({}))
    assert report.texts == 6 and report.tokens > 6
    base, auto = report.rows
    assert (base.vectors * auto.vectors).sum(axis=1).min() >= 0.999
    np.testing.assert_allclose(np.linalg.norm(auto.vectors, axis=1), 1.0, atol=1e-5)
    text = format_report(report)
    for expected in ("CPU: ", "load average at start", "auto picks: ", "| baseline: SentenceTransformer.encode | fp32",
                     "| auto ("):
        assert expected in text
