"""bench.load: bounded and loopback-only before it starts anything; the
figures it reports from a run's results."""

from __future__ import annotations

import pytest

from bench.load import Checker, Result, main, percentile, summary


@pytest.mark.parametrize("argv", [["--url", "http://192.0.2.10:7860"], ["--url", "http://example.org"],
                                  ["--clients", "0"], ["--clients", "100000"], ["--seconds", "99999"],
                                  ["--soak", "99999"], ["--targets", "api,elsewhere"]])
def test_it_refuses_to_load_another_machine_or_to_run_unbounded(argv):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2


def test_the_summary_counts_errors_and_lost_requests_and_takes_percentiles_of_the_answers():
    results = [Result(True, s / 10, version="v-1") for s in range(1, 21)]
    results += [Result(False, 5.0, "HTTP 500: boom"), Result(False, 300.0, "no response", lost=True)]
    s = summary(results, 10.0)
    assert (s["requests"], s["ok"], s["errors"], s["lost"]) == (22, 20, 2, 1)
    assert s["throughput_per_s"] == 2.0 and s["p50_s"] == percentile([r / 10 for r in range(1, 21)], 0.5)
    assert s["p95_s"] == 1.9 and s["max_s"] == 2.0 and s["versions"] == {"v-1": 20}


def test_a_citation_must_be_its_documents_text_at_its_offsets(tmp_path):
    (tmp_path / "a.txt").write_text("前言。组织部门是职能部门。", "utf-8")
    checker = Checker(tmp_path)
    good = {"n": 1, "doc": "a.txt", "start": 3, "end": 13, "text": "组织部门是职能部门。"}
    assert checker.problem({"answer": "x[1]", "citations": [good]}) == ""
    assert "not its document's text" in checker.problem({"answer": "x", "citations": [{**good, "start": 2}]})
    assert "not in the corpus" in checker.problem({"answer": "x", "citations": [{**good, "doc": "gone.txt"}]})
    assert checker.problem({"error": "x"}) == "not an answer object"
