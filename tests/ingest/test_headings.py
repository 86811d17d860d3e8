"""ingest.headings: the numbered headings of plain text, those a scrape merged
into paragraphs included, enumerations and stray numbers excluded."""

from __future__ import annotations

import pytest

from ingest.headings import detect_headings
from ingest.outline import body_start
from ingest.records import Document
from sample_files import H1, H1_1, H1_2, H1_3, H2, H3, H3_1, H3_4, H4, load_essay


@pytest.fixture(scope="module")
def essay(tmp_path_factory) -> Document:
    return load_essay(tmp_path_factory.mktemp("essay"))


def test_essay_headings_include_those_merged_into_paragraphs(essay):
    headings = detect_headings(essay.text, body_start(essay))
    assert [(h.level, h.title) for h in headings] == [
        (1, H1), (2, H1_1), (2, H1_2), (2, H1_3),
        (1, H2),
        (3, "1、领导班子思想政治建设的方式方法得到不断改进"),
        (3, "2、干部教育培训的方式方法不断更新"),
        (3, "3、干部人事制度改革的方式方法不断有新突破"),
        (3, "4、干部监督工作的方式方法不断完善"),
        (3, "5、党的基层组织建设和党员教育管理方式方法不断强化"),
        (1, H3),                                   # glued to its first sentence, no punctuation between
        (2, H3_1),                                 # after "…新的思路和方法。" in the same paragraph
        (2, "(二)在工作重点上要立足需求点"),
        (2, "(三)在工作方式上要寻求突破点"),
        (2, H3_4),
        (1, H4),                                   # after "…保证提高决策质量。", glued to its body
    ]
    for h in headings:
        assert essay.text[h.start:h.end].rstrip("。") == h.title


def test_glued_heading_ends_where_the_body_repeats_its_last_words(essay):
    start = essay.text.index(H3)
    assert essay.text[start + len(H3):].startswith("创新组织工作方式方法,必须始终坚持")
    start = essay.text.index(H4)
    assert essay.text[start + len(H4):].startswith("组织工作与时俱进,不断创新工作方法")


def test_enumerations_are_not_headings(essay):
    titles = [h.title for h in detect_headings(essay.text, body_start(essay))]
    assert not any(t.startswith(("一是", "二是", "一要")) for t in titles)


def test_text_headings_use_the_first_sentence_and_a_rank_based_level():
    text = "第一章 总则\n一、目的\n为了规范管理。\n（一）适用范围。本办法适用于全体。\n1. 细则\n内容。\n"
    headings = detect_headings(text)
    assert [(h.level, h.title) for h in headings] == [
        (1, "第一章 总则"), (2, "一、目的"), (3, "（一）适用范围"), (4, "1. 细则")]


def test_out_of_sequence_numbers_inside_a_paragraph_are_not_headings():
    text = "一、总则\n增长了3%。3、这不是标题。1.5亿元是个数字。\n二、细则\n正文。"
    assert [h.title for h in detect_headings(text)] == ["一、总则", "二、细则"]
