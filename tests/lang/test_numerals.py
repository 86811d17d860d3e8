"""lang.numerals: one parser for numbers written in words."""

from __future__ import annotations

import pytest

from lang.numerals import number_value, parse_chinese


@pytest.mark.parametrize("numeral,value", [("一", 1), ("十", 10), ("十一", 11), ("二十", 20), ("二十三", 23),
                                           ("一百零五", 105), ("两", 2), ("两千", 2000), ("〇", 0)])
def test_chinese_numerals_parse_to_their_value(numeral, value):
    assert parse_chinese(numeral) == value


@pytest.mark.parametrize("numeral", ["一二", "百", "", "十a"])
def test_strings_that_are_no_chinese_numeral_give_none(numeral):
    assert parse_chinese(numeral) is None


@pytest.mark.parametrize("token,value", [("3", 3), ("12", 12), ("second", 2), ("Tenth", 10), ("三", 3)])
def test_an_enumeration_number_is_read_in_any_of_its_scripts(token, value):
    assert number_value(token) == value


def test_a_word_that_is_no_number_gives_none():
    assert number_value("last") is None
