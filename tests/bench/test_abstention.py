"""bench.abstention: the threshold sweep and the proposed threshold."""

from __future__ import annotations

import pytest

from bench.abstention import (AbstentionReport, Confidence, errors_at, format_report, propose, sweep,
                              thresholds_between)


def conf(value: float, answerable: bool, missing: str | None = None) -> Confidence:
    return Confidence("q", "?", "x", answerable, value, missing)


# Answerable at 0.9, 1.0, 1.1, 1.2; unanswerable at 0.8, 0.85, 0.95.
FOUND = [conf(v, True) for v in (0.9, 1.0, 1.1, 1.2)] + [conf(v, False) for v in (0.8, 0.85, 0.95)]


def test_abstaining_below_the_threshold_counts_both_errors():
    at = errors_at(FOUND, 0.95)
    # answerable below 0.95: 0.9; unanswerable at or above 0.95: 0.95
    assert (at.wrong, at.missed) == (1, 1)
    assert at.wrong_abstentions == pytest.approx(0.25) and at.missed_abstentions == pytest.approx(1 / 3)
    assert errors_at(FOUND, 0.0).missed == 3 and errors_at(FOUND, 2.0).wrong == 4


def test_the_proposed_threshold_has_the_least_total_error_and_sits_mid_run():
    rows = sweep(FOUND, thresholds_between(0.8, 1.1, 0.01))
    best = propose(rows)
    # Only thresholds in (0.95, 1.0] separate all but 0.9: sum 0.25.
    assert best.total == pytest.approx(0.25)
    assert 0.96 <= best.threshold <= 1.0
    assert best.threshold == pytest.approx(0.98)


def test_the_middle_of_the_best_run_is_proposed():
    rows = sweep(FOUND, [0.5, 0.96, 0.97, 0.98])
    assert propose(rows).threshold == 0.97
    with pytest.raises(ValueError):
        propose([])


def test_thresholds_between_has_no_float_drift():
    steps = thresholds_between(0.7, 1.3, 0.01)
    assert len(steps) == 61 and steps[0] == 0.7 and steps[-1] == 1.3 and 1.03 in steps


def test_the_report_marks_the_proposed_and_configured_thresholds():
    rows = sweep(FOUND, thresholds_between(0.8, 1.1, 0.01))
    report = AbstentionReport(4, 3, rows, propose(rows), errors_at(FOUND, 1.03), {"x: answerable": 4},
                              {"x: answerable": {"proposed": 1, "configured": 2}}, 1.0)
    text = format_report(report)
    assert "0.98 (proposed)" in text and "1.03 (configured)" in text
    assert "proposed abstain_threshold = 0.98 (configured 1.03)" in text
    assert "| x: answerable | 4 | 1 | 2 |" in text


def test_the_answer_type_check_abstains_whatever_the_confidence():
    found = FOUND + [conf(1.1, False, "number"), conf(1.2, True, "date")]
    without, with_check = errors_at(found, 0.95), errors_at(found, 0.95, type_check=True)
    assert (without.wrong, without.missed) == (1, 2)
    assert (with_check.wrong, with_check.missed) == (2, 1)
    assert [r.missed for r in sweep(found, [0.0, 2.0], type_check=True)] == [3, 0]


def test_the_report_shows_the_answer_type_check_beside_the_sweep():
    found = FOUND + [conf(1.1, False, "number")]
    rows = sweep(found, thresholds_between(0.8, 1.1, 0.01))
    report = AbstentionReport(4, 4, rows, propose(rows), errors_at(found, 1.03), {"x: unanswerable": 4},
                              {"x: unanswerable": {"proposed": 2, "configured": 1, "checked": 0}}, 1.0,
                              checked=sweep(found, thresholds_between(0.8, 1.1, 0.01), type_check=True),
                              configured_checked=errors_at(found, 1.03, type_check=True))
    text = format_report(report)
    assert "wrong, with the answer-type check" in text
    # at 1.03: answerable 0.9 and 1.0 abstained; the unanswerable 1.1 answered, unless checked
    assert "| 1.03 (configured) | 0.500 (2) | 0.250 (1) | 0.750 | 0.500 (2) | 0.000 (0) | 0.500 |" in text
    assert "| x: unanswerable | 4 | 2 | 1 | 0 |" in text
