"""rag.answer.spans: the short answer is the best-ranked candidate span of
the best sentences, by the weights fitted on CMRC 2018 trial."""

from __future__ import annotations

import pytest

from support import ESSAY
from lang.questions import Target, answer_target
from rag.answer.spans import UnitContext, best_span, candidate_spans, feature_names, load_weights

ESSAY_TEXT = ESSAY.read_text("utf-8")


def essay_sentence(containing: str) -> str:
    """The sentence of the essay that holds ``containing`` (a real passage)."""
    at = ESSAY_TEXT.index(containing)
    start = max(ESSAY_TEXT.rfind(mark, 0, at) for mark in "。\n") + 1
    end = ESSAY_TEXT.index("。", at) + 1
    return ESSAY_TEXT[start:end]


def span(question: str, *sentences: str) -> str | None:
    found = best_span(question, [UnitContext(s, 1.2, 0.6) for s in sentences])
    return found.text if found else None


def test_the_fitted_weights_match_the_features():
    weights = load_weights()
    assert weights is not None and len(weights) == len(feature_names())


def test_a_candidates_feature_row_says_what_the_span_is_and_where_it_stands():
    question, sentence = "黄河全长多少公里？", "黄河是中国第二长河，全长约5464公里。"
    rows = {c.text: dict(zip(feature_names(), c.features.tolist()))
            for c in candidate_spans(question, [UnitContext(sentence, 1.2, 0.6)])}
    number, with_unit = rows["5464"], rows["5464公里"]
    # one-hot blocks: the kind asked for (多少: a number) met by the span's kind, its first and last word
    for row, last in ((number, "last=m"), (with_unit, "last=q")):
        on = {name for name, value in row.items() if value == 1.0 and name.startswith(("target=", "first=", "last="))}
        assert on == {"target=number&number", "first=m", last}
        assert row["class=number"] == 1.0 and row["class=noun"] == 0.0
        assert row["evidence"] == pytest.approx(1.2) and row["lexical"] == pytest.approx(0.6)
        assert (row["unit_rank_0"], row["unit_rank_2plus"], row["bias"]) == (1.0, 0.0, 1.0)
    assert number["cuts_measure"] == 1.0 and with_unit["cuts_measure"] == 0.0      # "5464" leaves 公里 outside
    assert number["right_adjacent"] > 0 and with_unit["right_adjacent"] == 0.0     # 公里 follows "5464" as asked
    assert number["repeats_question"] == 0.0 and with_unit["repeats_question"] > 0  # 公里 is the question's word
    assert (number["words_1"], with_unit["words_2"], with_unit["clause_end"]) == (1.0, 1.0, 1.0)


def test_every_candidate_is_a_span_of_its_sentence_with_no_particle_at_an_edge():
    sentence = essay_sentence("全面建设小康社会的宏伟目标")
    spans = candidate_spans("党的代表大会提出了什么宏伟目标？", [UnitContext(sentence, 1.2, 0.6)])
    assert spans
    for s in spans:
        assert sentence[s.start:s.end] == s.text
        assert not s.text.startswith(("的", "在", "和")) and not s.text.endswith(("的", "在", "和"))


def test_the_answer_stands_where_the_question_word_does_in_an_essay_sentence():
    sentence = essay_sentence("全面建设小康社会的宏伟目标")
    assert "全面建设小康社会" in span("党的代表大会提出了什么宏伟目标？", sentence)


@pytest.mark.parametrize("question,sentence,expected", [
    ("合并后医院更名为什么？", "两校合并后，医院更名为四川大学华西医院，沿用至今。", "四川大学华西医院"),
    ("会议在几月几号召开？", "会议于2022年11月18日在北京召开。", "2022年11月18日"),
    ("查图恰公园位于哪里？", "查图恰公园位于泰国曼谷北部的查图恰区，是曼谷最大的公园之一。", "曼谷"),
])
def test_the_span_of_the_kind_asked_for_is_chosen(question, sentence, expected):
    assert expected in span(question, sentence)


def test_a_span_never_merely_repeats_the_question():
    sentence = "黄河是中国第二长河，全长约5464公里。"
    assert "5464" in span("黄河全长多少公里？", sentence)


@pytest.mark.parametrize("question,target", [
    ("谁发明了电话？", Target.PERSON), ("誰發明了電話？", Target.PERSON), ("西湖位于哪里？", Target.PLACE),
    ("黄河有多长？", Target.NUMBER), ("会议何时召开？", Target.TIME), ("他是什么时期的武将？", Target.TIME),
    ("医院更名为什么？", Target.THING),
])
def test_the_question_names_the_kind_of_span_it_wants(question, target):
    assert answer_target(question) is target


def test_an_english_question_gets_no_chinese_span():
    assert span("How long is the Yellow River?", "黄河全长约5464公里。") is None
