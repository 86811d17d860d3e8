"""lang.citations: the one grammar of citation markers."""

from __future__ import annotations

import pytest

from lang.citations import find_markers, strip_markers


@pytest.mark.parametrize("text,numbers", [
    ("甲[1]", [(1,)]), ("甲[1][2]", [(1,), (2,)]), ("甲[1, 2]", [(1, 2)]), ("甲[1，2、3]", [(1, 2, 3)]),
    ("甲【3】", [(3,)]), ("甲[ 4 ]", [(4,)]),
])
def test_every_marker_form_an_answer_writes_is_read_with_its_numbers(text, numbers):
    assert [m.numbers for m in find_markers(text)] == numbers


def test_markers_are_found_where_they_stand():
    [marker] = find_markers("甲乙[12]。")
    assert (marker.start, marker.end) == (2, 6)


@pytest.mark.parametrize("text", ["成立于[2024]年", "见[a]", "[]", "列表[1-2]"])
def test_brackets_that_hold_no_passage_number_are_not_markers(text):
    assert list(find_markers(text)) == []


def test_strip_markers_leaves_the_statement():
    assert strip_markers("甲[1, 2]乙【3】。") == "甲乙。"
