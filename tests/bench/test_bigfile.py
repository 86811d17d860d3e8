"""bench.bigfile: the file it writes repeats no sentence of its own (a repeat is
embedded once, which would flatter the rate), it reads the progress line
that `python -m ingest` prints, its memory slope is a least-squares fit, and
with --stand-in it builds a file to the end (bench.standin: the build with
a stand-in encoder) and reports the memory of the whole build."""

from __future__ import annotations

import re

import pytest

from bench.bigfile import PROGRESS, Sample, growth_per_10k, make_file
from ingest.__main__ import describe
from rag.index.progress import BuildProgress, Stage


def test_the_big_file_does_not_repeat_its_sentences(tmp_path):
    size = make_file(tmp_path / "big.txt", 2.0)          # the paragraphs (1.65 MB) twice
    text = (tmp_path / "big.txt").read_text("utf-8")
    assert 2.0 <= size < 4.0 and "第2部分" in text
    sentences = [s for s in re.split(r"(?<=[。！？])", text) if len(s.strip()) > 12]
    assert len(sentences) > 10_000
    # only the few sentences the CMRC paragraphs themselves share repeat
    assert len(set(sentences)) >= 0.99 * len(sentences)


def test_it_reads_the_progress_line_ingest_prints():
    line = describe(BuildProgress(Stage.EMBED, 8_800, 178_678, rate=35.2, eta=5_040.0))
    match = PROGRESS.search(line)
    assert match and match.groups() == ("8,800", "178,678", "35", "1 h 24 min")
    assert PROGRESS.search(describe(BuildProgress(Stage.EMBED, 0, 10))).groups()[:2] == ("0", "10")


def test_memory_growth_is_the_slope_per_10k_texts():
    samples = [Sample(t, done, 100_000, 500 + done / 1000, "") for t, done in enumerate((0, 1_000, 5_000, 20_000))]
    assert abs(growth_per_10k(samples) - 10.0) < 1e-9           # 1 MB per 1,000 texts
    assert growth_per_10k(samples[:2]) is None


def test_anonymous_memory_growth_is_read_apart_from_mapped_files():
    # RSS grows with mapped file pages (page cache) while the process's own memory stays flat.
    samples = [Sample(t, done, 100_000, 500 + done / 1000, "", rss_anon_mb=300.0, rss_file_mb=200 + done / 1000)
               for t, done in enumerate((0, 1_000, 5_000, 20_000))]
    assert abs(growth_per_10k(samples) - 10.0) < 1e-9
    assert growth_per_10k(samples, "rss_anon_mb") == 0.0


def test_process_stats_split_rss_into_anonymous_memory_and_mapped_files():
    from bench.load import process_stats

    stats = process_stats("self")
    assert stats["rss_anon_mb"] > 0 and stats["rss_file_mb"] > 0
    assert stats["rss_anon_mb"] + stats["rss_file_mb"] <= stats["rss_mb"] + 1


@pytest.mark.bench
def test_a_stand_in_run_builds_the_file_to_the_end_and_reports_its_memory():
    from bench.bigfile import format_report, run

    report = run(0.1, minutes=5, resume_minutes=0, sample_every=0.2, stand_in=True)
    assert report.first.exit_code == 0 and report.second is None and report.module == "bench.standin"
    embedding = report.first.embedding
    assert embedding and embedding[-1].total > 500          # ~0.1 MB of prose: hundreds of chunks and sentences
    text = format_report(report)
    assert "stand-in encoder" in text and "first run (finished)" in text and "peak RSS" in text


def test_the_stand_in_encoder_gives_each_text_one_fixed_unit_vector():
    import numpy as np

    from bench.standin import DIM, StandInEmbedder

    encoder = StandInEmbedder()
    seen = []
    a = encoder.embed_passages(["甲", "乙", "甲"], progress=lambda done, total: seen.append((done, total)))
    assert a.shape == (3, DIM) and np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    assert np.array_equal(a[0], a[2]) and not np.allclose(a[0], a[1]) and seen == [(3, 3)]
    assert not np.allclose(encoder.embed_queries(["甲"])[0], a[0])      # the prefix is part of the text
