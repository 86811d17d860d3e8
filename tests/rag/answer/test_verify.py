"""rag.answer.verify: every statement of an answer checked against the passage it cites."""

from __future__ import annotations

import pytest

from support import ESSAY
from ingest.chunking import chunk_document
from ingest.loaders import load_document
from rag.config import Config
from rag.models.embedder import Embedder
from rag.records import Citation, Hit, Statement
from rag.answer.verify import (citation_coverage, citation_precision, dangling_markers, is_trivial, split_statements,
                        unsupported, verify)


@pytest.fixture(scope="module")
def config() -> Config:
    return Config.from_env({})


@pytest.fixture(scope="module")
def embedder(config) -> Embedder:
    return Embedder.from_config(config)


@pytest.fixture(scope="module")
def chunks(config):
    doc = load_document(ESSAY, ESSAY.parent)
    return chunk_document(doc, config.chunk_size, config.chunk_overlap)


def passage_with(chunks, words: str) -> str:
    return next(c.text for c in chunks if words in c.text)


@pytest.fixture(scope="module")
def passages(chunks) -> list[str]:
    """[1] the 小康社会 passage, [2] the 形成制度 passage, [3] the 大政方针 passage."""
    return [passage_with(chunks, "小康社会"), passage_with(chunks, "已经成熟的做法"), passage_with(chunks, "大政方针")]


# --- splitting --------------------------------------------------------------

def test_markers_before_or_after_the_end_punctuation_belong_to_that_sentence():
    statements = split_statements("甲方提出了目标[1]。乙方提出了办法。[2] Third claim [3]. Fourth claim. [1][3]")
    assert [s.text for s in statements] == ["甲方提出了目标。", "乙方提出了办法。", "Third claim.", "Fourth claim."]
    assert [s.citations for s in statements] == [(1,), (2,), (3,), (1, 3)]


def test_marker_lists_and_full_width_brackets_are_parsed():
    statements = split_statements("价格是3.5元[1, 2]。另一句【3】。")
    assert [s.citations for s in statements] == [(1, 2), (3,)]
    assert statements[0].text == "价格是3.5元。"


def test_list_bullets_are_layout_not_content():
    statements = split_statements("要点如下：\n- 第一项内容 [1]\n2. 第二项内容 [2]")
    assert [s.text for s in statements] == ["要点如下：", "第一项内容", "第二项内容"]


def test_marker_naming_no_passage_is_dropped_and_reported():
    statements = split_statements("甲方提出了目标[1][7]。", known={1, 2})
    assert statements[0].citations == (1,)
    assert statements[0].dangling == (7,)
    assert dangling_markers(statements) == [7]


# --- supported or not -------------------------------------------------------

def test_quoted_and_paraphrased_statements_are_supported(passages, embedder, config):
    text = ("党的代表大会提出了全面建设小康社会的宏伟目标[1]。"
            "对已经成熟的做法，要尽快把它形成制度[2]。"
            "组工干部应当及时掌握中央的大政方针，不断学习科学理论和现代科技文化知识[3]。")
    statements = verify(text, passages, embedder, config)
    assert [s.supported for s in statements] == [True, True, True]
    assert all(s.support >= config.support_threshold for s in statements)


def test_fabricated_and_contradicting_statements_are_unsupported(passages, embedder, config):
    text = ("该市去年的财政收入达到了五十亿元[1]。"          # not in the passage at all
            "对已经成熟的做法应当暂缓推广，先观察十年[2]。"    # contradicts it, same topic
            "组工干部不需要学习，只要服从命令即可[3]。")        # negates it
    statements = verify(text, passages, embedder, config)
    assert [s.supported for s in statements] == [False, False, False]
    assert all(s.support < config.support_threshold for s in statements)


def test_a_true_statement_citing_the_wrong_passage_is_unsupported(passages, embedder, config):
    statements = verify("党的代表大会提出了全面建设小康社会的宏伟目标[2]。", passages, embedder, config)
    assert statements[0].supported is False


def test_statement_is_supported_when_any_of_its_citations_supports_it(passages, embedder, config):
    statements = verify("党的代表大会提出了全面建设小康社会的宏伟目标[2][1]。", passages, embedder, config)
    assert statements[0].supported is True
    assert statements[0].supporting == (1,)


def test_english_statement_citing_a_chinese_passage_is_checked_by_meaning(passages, embedder, config):
    text = ("Organization staff should keep up with the central government's major policies "
            "and keep learning science and technology [3]. "
            "The city hired five hundred new civil servants last year [3].")
    statements = verify(text, passages, embedder, config)
    assert [s.supported for s in statements] == [True, False]


def test_uncited_claim_is_unsupported_but_connective_text_is_not_flagged(passages, embedder, config):
    statements = verify("综上所述：\n党的代表大会提出了全面建设小康社会的宏伟目标。", passages, embedder, config)
    assert [(s.text, s.supported) for s in statements] == [
        ("综上所述：", True), ("党的代表大会提出了全面建设小康社会的宏伟目标。", False)]
    assert is_trivial("Here are the main points:") and is_trivial("文档中没有找到这个问题的答案。")
    assert not is_trivial("组织部门要创新。")


RIVER = ["黄河全长约5,464公里，流域面积七十五万平方公里。该站于1998年建成，共有12座水闸。"]


def test_a_reply_that_is_only_a_number_or_a_short_span_is_supported_when_verbatim(embedder, config):
    # An LLM answering with the fact alone: too few terms for recall ("1998" shares no
    # bigram with "于1998年"), yet every character of it stands in the cited sentence.
    for reply in ("1998[1]", "5464公里[1]", "5,464[1]。", "1998年[1]", "12座[1]", "黄河[1]"):
        [statement] = verify(reply, RIVER, embedder, config)
        assert statement.supported is True and statement.support >= config.support_threshold, reply


def test_a_short_reply_is_compared_by_numeric_value(embedder, config):
    for reply in ("75万平方公里[1]", "五千四百六十四公里[1]", "二〇〇八年[1]"):
        passages = RIVER + ["该馆于2008年开放。"]
        [statement] = verify(reply.replace("[1]", "[1][2]"), passages, embedder, config)
        assert statement.supported is True, reply


def test_a_short_reply_not_in_its_cited_sentence_or_cutting_a_number_is_unsupported(embedder, config):
    # "2" stands inside "12", "464" inside "5,464": neither is what the sentence says.
    for reply in ("2[1]", "464[1]", "1999[1]", "长江[1]", "13座[1]", "3[1]"):
        [statement] = verify(reply, RIVER, embedder, config)
        assert statement.supported is False, reply


def test_citations_hits_and_plain_texts_are_all_accepted_as_passages(chunks, passages, embedder, config):
    text = "党的代表大会提出了全面建设小康社会的宏伟目标[1]。"
    chunk = next(c for c in chunks if "小康社会" in c.text)
    sentence = "党的**提出了全面建设小康社会的宏伟目标"
    start = chunk.start + chunk.text.index(sentence)
    as_citation = [Citation(n=1, doc=chunk.doc, title=chunk.title, section=chunk.section, start=start,
                            end=start + len(sentence), text=sentence, chunk_id=chunk.id)]
    as_hits = [Hit(chunk, score=1.0, rank=1)]
    for given in (as_citation, as_hits, [passages[0]], {1: passages[0]}):
        assert verify(text, given, embedder, config)[0].supported is True


# --- report helpers ---------------------------------------------------------

def test_precision_counts_citations_and_coverage_counts_claims():
    statements = [
        Statement("a", (1, 2), supported=True, supporting=(1,)),
        Statement("b", (3,), supported=False),
        Statement("c", (), supported=False),
        Statement("综上所述：", (), supported=True),
    ]
    assert citation_precision(statements) == pytest.approx(1 / 3)
    assert citation_coverage(statements) == pytest.approx(1 / 3)
    assert [s.text for s in unsupported(statements)] == ["b", "c"]


def test_metrics_of_an_answer_without_claims_are_vacuously_perfect():
    assert citation_precision([]) == 1.0
    assert citation_coverage([Statement("综上所述：", (), supported=True)]) == 1.0
