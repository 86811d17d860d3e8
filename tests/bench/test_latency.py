"""bench.latency: one small run of all three parts over the essay (warm
calls, a cold command-line call, concurrent users through the real app);
the report's structure and counts, never a time limit: speed figures
belong in the README."""

from __future__ import annotations

import pytest

from bench.latency import format_report, run
from rag.config import Config

pytestmark = [pytest.mark.bench, pytest.mark.e2e]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    indexes = tmp_path_factory.mktemp("latency-indexes")
    return run(Config.from_env({}), dataset="seed-dev", questions=3, cold_runs=1, users=2, requests=2,
               indexes_dir=indexes)


def test_warm_times_every_question_for_each_call(report):
    assert set(report.warm) == {"embed question", "search", "ask"}
    assert all(part["n"] == 3 and part["p50_ms"] > 0 for part in report.warm.values())


def test_the_cold_call_answers(report):
    assert report.cold["runs"] == 1 and report.cold["p50_s"] > 0


def test_every_user_gets_an_answer_through_the_app_queue(report):
    app = report.app
    assert (app["users"], app["requests"], app["answered"], app["errors"]) == (2, 4, 4, 0), app["first_errors"]
    assert app["server_cpu_ms_per_answer"] > 0


def test_the_report_names_the_cpu_and_each_part(report):
    text = format_report(report)
    assert report.cpu and report.cpu in text
    assert "cold `python -m rag ask`" in text and "2 concurrent users" in text and "server CPU" in text
