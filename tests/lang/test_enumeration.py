"""lang.enumeration: the markers that number headings and list items."""

from __future__ import annotations

import pytest

from lang.enumeration import HEADING_KINDS, ITEM_KINDS, Ordinal, item_marker, match_marker, ordinal_of


@pytest.mark.parametrize("text,kind,number", [
    ("第三章 总则", "chapter", 3), ("第二节 范围", "section", 2), ("一、加强学习", "cn_comma", 1),
    ("（二）改进作风", "cn_paren", 2), ("(十一)其他", "cn_paren", 11), ("3. Scope", "arabic", 3),
    ("4、工作要求", "arabic", 4), ("(5)附则", "arabic_paren", 5),
])
def test_heading_markers_are_read_with_their_kind_and_number(text, kind, number):
    marker = match_marker(text, kinds=HEADING_KINDS)
    assert (marker.kind, marker.number) == (kind, number)


@pytest.mark.parametrize("text", ["3.5 亿元", "2024年", "一些问题"])
def test_a_number_that_opens_a_sentence_is_not_a_heading_marker(text):
    assert match_marker(text, kinds=HEADING_KINDS) is None


def test_a_numeral_that_is_no_number_gives_a_marker_without_one():
    # The chunker refuses such a heading; the kind still matched first.
    assert match_marker("一二、", kinds=HEADING_KINDS).number is None


@pytest.mark.parametrize("text,kind,number,label", [
    ("一是行政命令式。", "cn_topic", 1, "行政命令式"),
    ("二要抓好落实，确保实效", "cn_topic", 2, "抓好落实"),
    ("第二，坚持群众路线", "cn_ordinal", 2, "坚持群众路线"),
    ("（三）依法办事", "cn_paren", 3, "依法办事"),
    ("2、加强监督;", "arabic", 2, "加强监督"),
    ("Secondly, keep it short.", "en_ordinal", 2, ""),     # the label ends at the comma
    ("③完善制度", "circled", 3, "完善制度"),
])
def test_list_items_are_read_with_their_kind_number_and_label(text, kind, number, label):
    assert item_marker(text) == (Ordinal(kind, number), label)


def test_an_item_after_an_introduction_is_found_after_its_colon():
    assert ordinal_of("具体表现为以下三种形式:一是行政命令式") == Ordinal("cn_topic", 1)


def test_a_sentence_without_a_marker_has_no_ordinal():
    assert ordinal_of("组织工作要与时俱进。") is None


def test_headings_and_items_share_one_grammar():
    # "一、" opens a heading and a list item alike: one kind, one number.
    assert set(HEADING_KINDS) - {"chapter", "section"} <= set(ITEM_KINDS)
    assert match_marker("一、", kinds=HEADING_KINDS) == match_marker("一、")
