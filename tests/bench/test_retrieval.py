"""bench.retrieval: relevance and metrics, and the harness end to end on a
fixed CMRC 2018 trial slice and on the seed set."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from bench.datasets import EvalQuestion
from bench.retrieval import (DATASETS, INDEXES_DIR, first_hit_rank, format_report, is_relevant, load_dataset, run,
                             summarise)
from conftest import PROJECT_ROOT
from rag.config import Config
from ingest.records import Chunk

# Floors well under the measured figures (README, "Retrieval quality"), so that
# noise cannot break them but a real regression does. Measured, fused + rerank:
# the 200-question trial slice R@1 0.98 / R@5 1.0 / MRR 0.988; seed-dev R@1 0.91 / R@5 1.0.
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
def slice_report(tmp_path_factory):
    """The harness on the first 200 trial questions, over their paragraphs and
    40 others, with the default settings (vectors from the benchmark cache)."""
    return run("cmrc2018-trial", Config.from_env({}), limit=200, distractors=40,
               indexes_dir=tmp_path_factory.mktemp("bench-indexes"))


def test_harness_on_a_fixed_cmrc_trial_slice_clears_the_floor(slice_report):
    by_mode = {r.mode: r for r in slice_report.results}
    assert list(by_mode) == ["dense", "lexical", "fused (weighted)", "fused (weighted) + rerank"]
    best = by_mode["fused (weighted) + rerank"]
    assert slice_report.questions == 200 and best.questions == 200
    assert best.recall[1] >= SLICE_FLOOR["R@1"], format_report(slice_report)
    assert best.recall[5] >= SLICE_FLOOR["R@5"], format_report(slice_report)
    assert best.mrr >= SLICE_FLOOR["MRR"], format_report(slice_report)
    assert best.recall[1] >= by_mode["dense"].recall[1] and best.recall[1] >= by_mode["lexical"].recall[1]


def test_harness_on_the_seed_set_clears_the_floor_with_every_type(tmp_path_factory):
    report = run("seed-dev", Config.from_env({}), indexes_dir=tmp_path_factory.mktemp("bench-indexes"))
    best = report.results[-1]
    assert report.unanswerable == 1 and best.questions == 11
    assert best.recall[1] >= SEED_FLOOR["R@1"], format_report(report)
    assert best.recall[5] >= SEED_FLOOR["R@5"], format_report(report)
    assert {"crosslingual", "paraphrase", "metadata"} <= set(best.by_type)
    assert "| crosslingual | 1 |" in format_report(report)


def test_the_command_line_prints_json(slice_report):
    # The slice's index is in a temporary folder; the CLI run below reuses the
    # seed index of bench/indexes/ (built on first use, then cached).
    out = subprocess.run([sys.executable, "-m", "bench.retrieval", "--dataset", "seed-dev", "--json", "--quiet"],
                         capture_output=True, text=True, cwd=PROJECT_ROOT, timeout=900)
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["dataset"] == "seed-dev" and len(report["results"]) == 4
    assert set(report["results"][0]["recall"]) == {"1", "3", "5", "10"}
    assert str(INDEXES_DIR.relative_to(PROJECT_ROOT)) in report["index"]
