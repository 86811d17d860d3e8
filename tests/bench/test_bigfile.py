"""bench.bigfile: the file it writes repeats no sentence of its own (a repeat is
embedded once, which would flatter the rate), it reads the progress line
that `python -m ingest` prints, and its memory slope is a least-squares fit."""

from __future__ import annotations

import re

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
