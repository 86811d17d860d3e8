"""bench.retrieval: relevance and metrics, and the harness end to end on a
fixed CMRC 2018 trial slice and on the seed set."""

from __future__ import annotations

import json
import os
import shutil

import pytest

import bench.retrieval
from bench.datasets import EvalQuestion
from bench.retrieval import (DATASETS, INDEXES_DIR, first_hit_rank, format_report, index_folder, is_relevant,
                             load_dataset, main, run, summarise)
from rag.config import Config
from ingest.records import Chunk

# Floors well under the measured figures (README, "Retrieval quality"), so that
# noise cannot break them but a real regression does. Measured, fused + rerank
# (`python -m bench.retrieval --dataset cmrc2018-trial --limit 100 --distractors 20`):
# the 100-question trial slice R@1 0.97 / R@5 1.0 / MRR 0.985; seed-dev R@1 0.91 / R@5 1.0.
SLICE_FLOOR = {"R@1": 0.93, "R@5": 0.97, "MRR": 0.95}
SEED_FLOOR = {"R@1": 0.8, "R@5": 0.9}


def question(**fields) -> EvalQuestion:
    base = dict(id="q", question="?", type="fact", evidence=("小康社会",), answers=("小康社会",), doc="p.txt",
                answer_starts=(10,), keys=())
    return EvalQuestion(**{**base, **fields})


def chunk(start: int, end: int, doc: str = "p.txt", text: str = "", title: str = "", section: str = "") -> Chunk:
    return Chunk(0, doc, title, section, start, end, text)


def test_a_cmrc_chunk_counts_when_it_overlaps_a_gold_answer_of_its_paragraph():
    q = question()   # answer at [10, 14)
    assert is_relevant(q, chunk(0, 11), "cmrc2018-dev")
    assert is_relevant(q, chunk(13, 40), "cmrc2018-trial")
    assert not is_relevant(q, chunk(0, 10), "cmrc2018-dev")
    assert not is_relevant(q, chunk(14, 40), "cmrc2018-dev")
    assert not is_relevant(q, chunk(0, 40, doc="other.txt"), "cmrc2018-dev")
    assert not is_relevant(question(answer_starts=(-1,)), chunk(0, 40), "cmrc2018-dev")


def test_a_seed_chunk_counts_when_the_passage_it_shows_holds_the_evidence():
    q = question(evidence=("创新组织工作经验交流",))
    assert is_relevant(q, chunk(0, 5, text="正文", title="创新组织工作经验交流"), "seed-dev")
    assert is_relevant(question(), chunk(0, 9, text="全面建设小康, 社会"), "seed-dev")   # punctuation ignored
    assert not is_relevant(question(evidence=()), chunk(0, 9, text="小康社会"), "seed-dev")


def test_ranks_and_metrics():
    assert first_hit_rank([5, 3, 9], {9, 3}) == 2 and first_hit_rank([5], {1}) is None
    result = summarise("m", [1, 2, None, 25], seconds=0.4)
    assert result.recall == {1: 0.25, 3: 0.5, 5: 0.5, 10: 0.5}
    assert result.mrr == pytest.approx((1 + 0.5) / 4)     # rank 25 is past MRR@20
    assert result.ms_per_query == pytest.approx(100.0)


def test_a_slice_keeps_its_questions_documents_and_the_first_distractors():
    evalset, questions = load_dataset("cmrc2018-trial", limit=20, distractors=5)
    own = {q.doc for q in questions}
    assert len(questions) == 20
    assert own <= {d.path for d in evalset.documents}
    assert len(evalset.documents) == len(own) + 5


def test_the_translated_set_asks_trial_questions_in_english():
    evalset, questions = load_dataset("cmrc2018-trial-en")
    assert len(questions) == 40 and {q.type for q in questions} == {"crosslingual"}
    assert all(q.question.isascii() for q in questions) and len(evalset.documents) == 256
    assert set(DATASETS) >= {"cmrc2018-dev", "cmrc2018-trial", "seed-dev"}


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory):
    """``bench.retrieval.run`` with the default settings, its index folders and
    its embedding cache in a temporary folder (never the repository's
    bench/indexes/), shared by this module's runs."""
    from bench.embed_cache import CachedEmbedder
    from rag.models.embedder import Embedder

    root = tmp_path_factory.mktemp("bench-indexes")
    config = Config.from_env({})
    embedder = CachedEmbedder(Embedder.from_config(config), root / ".cache" / "embeddings.sqlite")

    def bench(dataset: str, config: Config = config, **options):
        return run(dataset, config, embedder=embedder, indexes_dir=root, **options)

    bench.root, bench.embedder = root, embedder
    return bench


@pytest.fixture(scope="module")
def slice_report(bench_run):
    """The harness on the first 100 trial questions, over their paragraphs and
    20 others (45 to embed with the real model), with the default settings."""
    return bench_run("cmrc2018-trial", limit=100, distractors=20)


@pytest.fixture(scope="module")
def seed_report(bench_run, essay_config):
    """The harness on the seed set. Its corpus is the essay, so the index it
    would build is the session's essay index: copied in, and reused."""
    evalset, _ = load_dataset("seed-dev")
    folder = index_folder("seed-dev", evalset, Config.from_env({}), bench_run.embedder.name, bench_run.root)
    shutil.copytree(essay_config.index_dir, folder, ignore=shutil.ignore_patterns(".build.lock", ".staging"))
    version = (folder / "CURRENT").read_text("utf-8")
    report = bench_run("seed-dev")
    assert report.index == str(folder)
    assert (folder / "CURRENT").read_text("utf-8") == version, "the harness rebuilt the essay index it was given"
    return report


@pytest.mark.bench
def test_harness_on_a_fixed_cmrc_trial_slice_clears_the_floor(slice_report):
    by_mode = {r.mode: r for r in slice_report.results}
    assert list(by_mode) == ["dense", "lexical", "fused (weighted)", "fused (weighted) + rerank"]
    best = by_mode["fused (weighted) + rerank"]
    assert slice_report.questions == 100 and best.questions == 100
    assert best.recall[1] >= SLICE_FLOOR["R@1"], format_report(slice_report)
    assert best.recall[5] >= SLICE_FLOOR["R@5"], format_report(slice_report)
    assert best.mrr >= SLICE_FLOOR["MRR"], format_report(slice_report)
    assert best.recall[1] >= by_mode["dense"].recall[1] and best.recall[1] >= by_mode["lexical"].recall[1]


@pytest.mark.bench
def test_harness_on_the_seed_set_clears_the_floor_with_every_type(seed_report):
    report = seed_report
    best = report.results[-1]
    assert report.unanswerable == 1 and best.questions == 11
    assert best.recall[1] >= SEED_FLOOR["R@1"], format_report(report)
    assert best.recall[5] >= SEED_FLOOR["R@5"], format_report(report)
    assert {"crosslingual", "paraphrase", "metadata"} <= set(best.by_type)
    assert "| crosslingual | 1 |" in format_report(report)


@pytest.mark.bench
def test_the_command_line_prints_json(bench_run, seed_report, monkeypatch, capsys):
    # The command line's run, with the module's temporary folders: it reuses
    # the seed index seed_report built, and prints the same figures as JSON.
    for name in [n for n in os.environ if n.startswith("RAG_")]:
        monkeypatch.delenv(name)
    monkeypatch.setattr(bench.retrieval, "run", lambda dataset, config, **options: bench_run(dataset, config, **options))
    assert main(["--dataset", "seed-dev", "--json", "--quiet"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["dataset"] == "seed-dev" and len(report["results"]) == 4
    assert set(report["results"][0]["recall"]) == {"1", "3", "5", "10"}
    assert report["index"] == seed_report.index and report["index"].startswith(str(bench_run.root))
    assert [r["recall"]["1"] for r in report["results"]] == [r.recall[1] for r in seed_report.results]
    assert [r["mrr"] for r in report["results"]] == [r.mrr for r in seed_report.results]


def test_indexes_live_in_bench_indexes_by_default_named_by_dataset_and_settings():
    evalset, _ = load_dataset("seed-dev")
    config = Config.from_env({})
    folder = index_folder("seed-dev", evalset, config, "multilingual-e5-small")
    assert folder.parent == INDEXES_DIR
    assert folder.name.startswith(f"seed-dev-cs{config.chunk_size}-ov{config.chunk_overlap}-")
    assert index_folder("seed-dev", evalset, config.replace(chunk_size=300), "multilingual-e5-small") != folder
    assert index_folder("seed-dev", evalset, config, "another-embedder") != folder
