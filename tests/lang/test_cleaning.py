"""lang.cleaning: markup and junk taken out of a question before retrieval."""

from __future__ import annotations

import pytest

from lang.cleaning import clean_question_text, has_content


@pytest.mark.parametrize("raw", [
    "<div><script>alert('长江全长6300公里')</script>黄河有多长？</div>",
    "<p>黄河</p><b>有多长</b>？",
    "<!-- 长江 -->黄河有多长？",
    "<style>p { color: red }</style>黄河有多长？",
    "\x1b[1m黄河\x1b[0m有多长？",
    "黄\u200b河有\u202e多长？",
    "黄河\x00有多长\x07？",
    "黄河有多长？？？？？？",
])
def test_markup_control_characters_and_repeated_marks_are_removed(raw):
    assert clean_question_text(raw).text == "黄河有多长？"


def test_what_was_removed_is_reported():
    assert clean_question_text("<b>黄河</b>有多长？").removed_markup
    assert clean_question_text("黄河\x00有多长？").removed_controls
    plain = clean_question_text("黄河有多长？")
    assert not plain.changed and plain.text == "黄河有多长？"


def test_entities_are_decoded_and_a_lone_angle_bracket_is_text():
    assert clean_question_text("R&amp;D 是什么？").text == "R&D 是什么？"
    assert clean_question_text("x < 3 时 y 是多少？").text == "x < 3 时 y 是多少？"


def test_english_words_keep_their_spaces():
    assert clean_question_text("<i>How long</i> is the  Yellow River?").text == "How long is the Yellow River?"


@pytest.mark.parametrize("question", ["什么？", "是什么呢？", "What is it?", "", "？？"])
def test_a_question_of_question_words_alone_has_no_content(question):
    assert not has_content(clean_question_text(question).text)


@pytest.mark.parametrize("question", ["黄河有多长？", "这篇文章的标题是什么？", "How long is the Yellow River?"])
def test_a_question_about_something_has_content(question):
    assert has_content(question)
