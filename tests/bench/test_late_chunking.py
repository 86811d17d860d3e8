"""bench.late_chunking on seed-dev: both kinds of sentence vector are made
for every sentence the build makes, and scored on the same questions."""

from __future__ import annotations

import pytest

from bench.late_chunking import format_report, run, token_rows
from rag.config import Config

pytestmark = pytest.mark.bench


def test_a_sentence_takes_the_tokens_its_characters_overlap_and_no_special_token():
    offsets = [(0, 0), (0, 2), (2, 5), (5, 6), (6, 9), (0, 0)]
    assert token_rows(offsets, 2, 6) == [2, 3]
    assert token_rows(offsets, 3, 4) == [2]            # a token cut by the span still counts
    assert token_rows(offsets, 0, 1) == [1]            # never the (0, 0) of [CLS] or [SEP]
    assert token_rows(offsets, 9, 12) == []            # past the truncation


def test_seed_dev_scores_separate_late_and_mixed_sentence_vectors():
    report = run("seed-dev", Config.from_env({}))
    assert report.chunks > 10 and report.sentences > report.chunks
    assert report.chunk_tokens > 0 and report.sentence_tokens > 0
    assert [r.vectors for r in report.rankings] == ["separate", "late", "mean of both"]
    assert len({r.questions for r in report.rankings}) == 1 and report.rankings[0].questions >= 8
    # the two kinds are alike but not the same vector (else the comparison is void)
    assert 0.5 < report.cosine_median < 0.99
    # the build's own sentence vectors find the evidence sentence for most questions (0.7 measured)
    assert report.rankings[0].sentence_hit >= 0.6
    text = format_report(report)
    assert "CPU: " in text and "| late |" in text and "chunk R@1 by best sentence" in text
