"""bench.build: the build benchmark's report on a tiny corpus (structure and
counts; never a time limit: speed figures belong in the README)."""

from __future__ import annotations

import json

import pytest

from bench.build import APPENDED, TABLE_STAGES, format_report, main, run
from support import make_config
from fakes import FakeEmbedder
from rag.index.progress import Step
from rag.index.lexical import tokenize

# Three short documents: a title line, then three sentences, one chunk each
# (well under the 600-character chunk size).
DOCS = {
    "a.txt": "青松湖\n青松湖位于北岭县东侧。湖边有一座古老的石桥。每年春天游客很多。\n",
    "b.txt": "北岭茶叶\n北岭县以茶叶闻名。当地茶农在山坡上种植绿茶。绿茶远销各地。\n",
    "c.txt": "县图书馆\n县图书馆藏书十万册。图书馆每周开放六天。读者可以免费借阅。\n",
}


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    corpus = tmp_path_factory.mktemp("bench-build-corpus")
    for name, text in DOCS.items():
        (corpus / name).write_text(text, "utf-8")
    work = tmp_path_factory.mktemp("bench-build-work")
    # Batches of four texts, so the interrupted run stops inside the stream of 13.
    config = make_config(corpus, work / "unused-index").replace(embed_checkpoint=4)
    # The counts do not depend on what the vectors mean: the fake embedder
    # (the command-line test below runs the real one).
    result = run(config, corpus_dir=corpus, work_dir=work, embedder=FakeEmbedder())
    # The benchmark builds in its own temporary folders and changes a copy.
    assert sorted(p.name for p in corpus.iterdir()) == sorted(DOCS)
    assert (corpus / "a.txt").read_text("utf-8") == DOCS["a.txt"]
    assert list(work.iterdir()) == []
    return result


def test_four_runs_each_with_every_stage_timed(report):
    assert [r.name for r in report.runs] == ["full", "unchanged", "one changed", "resumed"]
    for r in report.runs:
        assert set(r.seconds) == set(Step)
        assert all(s >= 0 for s in r.seconds.values())
        assert r.wall_seconds > 0 and r.peak_rss_mb > 0
        # The stages cover the build (a little time goes to locking and bookkeeping).
        assert sum(r.seconds.values()) <= r.wall_seconds
    assert report.documents == 3 and report.chunks == 3
    assert report.changed_document == "a.txt"


def test_the_full_build_embeds_everything(report):
    full = report.run("full")
    assert (full.documents_embedded, full.documents_reused) == (3, 0)
    assert (full.chunks_embedded, full.chunks_reused, full.chunks_staged) == (3, 0, 0)
    assert full.sentences_embedded == 9 and full.sentences_reused == 0
    assert full.terms_embedded == report.terms > 0 and full.terms_reused == 0
    assert full.embedded_per_second > 0 and full.terms_per_second > 0


def test_an_unchanged_corpus_embeds_nothing(report):
    same = report.run("unchanged")
    assert (same.documents_embedded, same.documents_reused) == (0, 3)
    assert (same.chunks_embedded, same.chunks_reused) == (0, 3)
    assert (same.sentences_embedded, same.sentences_reused) == (0, 9)
    assert (same.terms_embedded, same.terms_reused) == (0, report.terms)
    assert same.embedded_per_second is None and same.seconds["embed"] == 0 and same.seconds["chunk"] == 0


def test_one_changed_file_embeds_only_its_own_chunks_and_new_terms(report):
    one = report.run("one changed")
    assert (one.documents_embedded, one.documents_reused) == (1, 2)
    assert (one.chunks_embedded, one.chunks_reused) == (1, 2)
    assert (one.sentences_embedded, one.sentences_reused) == (4, 6)   # a.txt's 3 sentences and the appended one
    new_terms = ({t for t in tokenize(APPENDED, 'jieba') if len(t) >= 2}
                 - {t for text in DOCS.values() for t in tokenize(text, 'jieba')})
    assert 0 < one.terms_embedded <= len(new_terms)
    assert one.terms_reused == report.terms


def test_the_resumed_build_takes_the_finished_batches_from_staging(report):
    resumed = report.run("resumed")
    # Interrupted past half of the full build's 12 texts: of the 13 texts now (3
    # chunks, 10 sentences), longest first in batches of 4, two batches (the 3
    # chunks and 5 sentences) were done when the third was interrupted.
    assert report.interrupted == "after 6 of 12 texts" and report.interrupted_seconds > 0
    assert (resumed.chunks_staged, resumed.chunks_embedded, resumed.chunks_reused) == (3, 0, 0)
    assert (resumed.sentences_staged, resumed.sentences_embedded) == (5, 5)
    assert resumed.terms_reused == 0   # a full rebuild keeps no terms


def test_markdown_and_json_reports(report, capsys):
    table = format_report(report)
    header = next(line for line in table.splitlines() if line.startswith("| run |"))
    assert all(f" {stage} " in header for stage in TABLE_STAGES)
    rows = [line for line in table.splitlines() if line.startswith("| ") and not line.startswith("| run")]
    assert [row.split(" | ")[0] for row in rows] == ["| full", "| unchanged", "| one changed", "| resumed"]
    assert "0 / 3" in rows[1]
    separator = next(line for line in table.splitlines() if line.startswith("|---"))
    assert {len(line.split("|")) for line in [header, separator, *rows]} == {len(header.split("|"))}
    data = json.loads(json.dumps(report.to_json()))
    assert [r["name"] for r in data["runs"]] == ["full", "unchanged", "one changed", "resumed"]


@pytest.mark.bench
def test_command_line_prints_json(tmp_path, capsys):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(DOCS["a.txt"] + DOCS["b.txt"], "utf-8")
    assert main(["--corpus", str(corpus), "--json", "--quiet", "--baseline-texts", "12"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["documents"] == 1 and data["interrupted"] == "at the term table"
    # The plain fp32 model timed on 12 of the texts the full build embedded, and the ratios.
    baseline = data["baseline"]
    assert baseline["texts"] == 12
    assert baseline["build_texts"] == data["chunks"] + data["sentences"] + data["clauses"] + data["terms"]
    assert baseline["speedup"] > 0 and baseline["wall_over_embedding"] >= 1
    assert data["cpu"] and data["runtime"]
    # each run names the runtime it chose; the report's is the full build's (the interrupted run's too)
    assert data["runs"][0]["runtime"] and data["runtime"].startswith(data["runs"][0]["runtime"])
    assert data["runs"][1]["runtime"] == ""       # the unchanged run embedded nothing
    resumed = data["runs"][3]
    assert resumed["chunks_staged"] == 1 and resumed["chunks_embedded"] == 0 and resumed["terms_embedded"] > 0
