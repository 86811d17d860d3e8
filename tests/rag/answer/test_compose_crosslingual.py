"""A question in English over Chinese documents: answered with the Chinese
quotations that hold the answer and a note that the sources are in Chinese,
its abstention judged by the cross-lingual threshold."""

from __future__ import annotations

import pytest

from support import make_config
from rag.answer.compose import SOURCES_IN_CHINESE
from rag.engine import Engine
from rag.index.build import build_index

# A small folder of encyclopedia-style passages, each stating its facts once.
DOCUMENTS = {
    "黄河.txt": "黄河\n\n黄河是中国第二长河，全长约5464公里，流域面积约75万平方公里。黄河发源于青海省巴颜喀拉山脉，"
               "流经九个省区，最后于山东省东营市注入渤海。黄河中游流经黄土高原，河水因此含沙量很高。",
    "长江.txt": "长江\n\n长江是中国第一长河，全长约6300公里。长江发源于青藏高原的唐古拉山脉，"
               "流经十一个省级行政区，于上海市注入东海。长江流域是中国经济最发达的地区之一。",
    "西湖.txt": "西湖\n\n西湖位于浙江省杭州市西部，是中国著名的风景名胜区。西湖三面环山，面积约6.39平方公里。"
               "2011年，杭州西湖文化景观被列入世界遗产名录。",
}


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    corpus = tmp_path_factory.mktemp("rivers")
    for name, text in DOCUMENTS.items():
        (corpus / name).write_text(text, "utf-8")
    config = make_config(corpus, tmp_path_factory.mktemp("rivers-index"))
    build_index(config)
    return Engine(config)


@pytest.mark.parametrize("question,fact", [
    ("How long is the Yellow River?", "5464公里"),
    ("Where is West Lake located?", "杭州"),
])
def test_an_english_question_is_answered_with_chinese_quotations_and_a_note(engine, question, fact):
    answer = engine.ask(question)
    assert not answer.abstained, answer.notes
    assert any(fact in c.text for c in answer.citations), answer.answer
    assert SOURCES_IN_CHINESE in answer.notes
    assert answer.short_answer is None, "a Chinese span is no short answer to an English question"


def test_a_chinese_question_gets_no_note_about_the_sources_language(engine):
    answer = engine.ask("黄河有多长？")
    assert not answer.abstained and SOURCES_IN_CHINESE not in answer.notes


def test_an_english_question_the_documents_do_not_answer_abstains(engine):
    answer = engine.ask("Who won the football World Cup in 2010?")
    assert answer.abstained
