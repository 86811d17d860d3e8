"""ingest.sentences: Chinese and English sentence ends, quotes and closing
brackets kept with their sentence, spans verbatim with absolute offsets."""

from __future__ import annotations

from ingest.sentences import QUOTE_MAX_CHARS, split_sentences
from sample_files import ESSAY_TEXT


def texts(sentences) -> list[str]:
    return [s.text for s in sentences]


def test_chinese_sentence_ends_split_and_quotes_do_not():
    text = ("(一)创新组织工作方式方法是实践“三个代表”重要思想的本质要求。"
            "“三个代表”重要思想具有与时俱进的马克思主义理论品质。真的吗？是的！还有；最后")
    assert texts(split_sentences(text)) == [
        "(一)创新组织工作方式方法是实践“三个代表”重要思想的本质要求。",
        "“三个代表”重要思想具有与时俱进的马克思主义理论品质。",
        "真的吗？", "是的！", "还有；", "最后"]


def test_a_sentence_end_inside_a_chinese_quote_does_not_split():
    text = "他说：“我们走吧。你来吗？”然后离开了。"
    assert texts(split_sentences(text)) == ["他说：“我们走吧。你来吗？”", "然后离开了。"]


def test_a_quoted_sentence_keeps_its_closing_quote():
    # From the essay: the quotation is a sentence of its own, ” included.
    text = "一是抓好整体与局部的结合。“不谋全局者,不足以谋一域。”同志先后多次在不同场合。"
    assert texts(split_sentences(text)) == [
        "一是抓好整体与局部的结合。", "“不谋全局者,不足以谋一域。”", "同志先后多次在不同场合。"]


def test_a_quote_left_open_too_long_splits_anyway():
    text = "“" + "很长的引文。" * (QUOTE_MAX_CHARS // 6 + 5)
    sentences = split_sentences(text)
    assert len(sentences) > 1
    assert all(len(s.text) <= QUOTE_MAX_CHARS + 10 for s in sentences)


def test_runs_of_end_marks_and_closing_brackets_stay_together():
    text = "等等……后来呢？！（完。）好"
    assert texts(split_sentences(text)) == ["等等……", "后来呢？！", "（完。）", "好"]


def test_english_periods_split_but_not_decimals_abbreviations_or_list_numbers():
    text = "Dr. Smith paid 3.5 dollars, e.g. for tea. Then he left! Why? Nobody knows.\n1. First item. 2. Second"
    assert texts(split_sentences(text)) == [
        "Dr. Smith paid 3.5 dollars, e.g. for tea.", "Then he left!", "Why?", "Nobody knows.",
        "1. First item.", "2. Second"]


def test_fullwidth_full_stop_ends_sentences_but_not_list_numbers():
    assert texts(split_sentences("1．领导班子建设．要加强学习．")) == ["1．领导班子建设．", "要加强学习．"]


def test_ascii_punctuation_between_chinese_characters_ends_sentences():
    # The scrape wrote ；！？ as ASCII: "…事难办;二是盲目机械式。"
    assert texts(split_sentences("门难进,脸难看,事难办;二是盲目机械式!三是?完")) == [
        "门难进,脸难看,事难办;", "二是盲目机械式!", "三是?", "完"]


def test_line_breaks_split_and_spans_are_stripped_with_absolute_offsets():
    text = "  标题行  \r\n\r\n\u3000\u3000第一句。 第二句。\n\n"
    sentences = split_sentences(text)
    assert texts(sentences) == ["标题行", "第一句。", "第二句。"]
    for s in sentences:
        assert text[s.start:s.end] == s.text
    inner = split_sentences(text, 12, len(text))
    assert texts(inner) == ["第一句。", "第二句。"] and inner[0].start == sentences[1].start


def test_every_essay_sentence_is_verbatim_and_ends_at_an_end_mark_or_line_end():
    sentences = split_sentences(ESSAY_TEXT)
    assert len(sentences) > 100
    for s in sentences:
        assert ESSAY_TEXT[s.start:s.end] == s.text
        line_end = ESSAY_TEXT.find("\n", s.start)
        assert s.text[-1] in "。;”:" or s.end == (len(ESSAY_TEXT) if line_end < 0 else line_end), s.text
    assert "“三个代表”重要思想具有与时俱进的马克思主义理论品质。" in texts(sentences)


def test_empty_and_blank_text_give_no_sentences():
    assert split_sentences("") == [] and split_sentences(" \n\t\u3000\n") == []
