"""rag.answer.lists: a list question is answered with every item of the
enumeration its cue introduces, each item cited on its own numbered line."""

from __future__ import annotations

import json

import pytest

from support import ESSAY, SHARED_DATA
from lang.questions import is_list_question
from rag.answer.compose import compose_answer
from rag.answer.evidence import Candidate, ScoredUnit, SentenceVectors
from rag.answer.lists import enumerations
from rag.answer.units import units
from rag.records import Chunk, Hit

VECTORS = SentenceVectors(capacity=20000)
ESSAY_TEXT = ESSAY.read_text("utf-8")


def essay_units(start_marker: str, end_marker: str) -> list[ScoredUnit]:
    """The units of the essay between two strings of it (a real passage)."""
    start = ESSAY_TEXT.index(start_marker)
    end = ESSAY_TEXT.index(end_marker, start) + len(end_marker)
    return as_units(ESSAY_TEXT[start:end], start)


def as_units(text: str, offset: int = 0) -> list[ScoredUnit]:
    chunk = Chunk(0, "doc.txt", "title", "", offset, offset + len(text), text)
    hit = Hit(chunk=chunk, score=1.0, rank=1)
    return [ScoredUnit(Candidate(u, hit), 0.0, 0.0, 0.0, 0.0) for u in units(text, offset)]


def items_of(found: list[ScoredUnit], enumeration) -> list[str]:
    return [found[i].unit.text for i in enumeration.items]


def test_topic_items_are_found_across_the_sentences_that_explain_them():
    found = essay_units("(一)在工作思路上要找准结合点", "三是抓好继承与创新的结合。")
    [three] = [e for e in enumerations(found) if e.kind == "cn_topic"]
    assert items_of(found, three) == ["一是抓好整体与局部的结合。", "二是抓好当前与长远的结合。",
                                      "三是抓好继承与创新的结合。"]


def test_items_after_an_introduction_with_a_colon_start_at_item_one():
    found = essay_units("具体表现为以下三种形式", "三是集中运动式。")
    [three] = enumerations(found)
    items = [found[i].unit.text[-8:] for i in three.items]
    assert items == ["一是行政命令式。", "二是盲目机械式。", "三是集中运动式。"]


def test_a_new_item_one_starts_another_list_of_the_same_kind():
    # 一是…三是 (forms of the old methods), then 一要…三要 (the new ones): two lists, not one of six.
    found = essay_units("具体表现为以下三种形式", "三要提倡创造性工作法。")
    lists = [e for e in enumerations(found) if e.kind == "cn_topic"]
    assert [len(e.items) for e in lists] == [3, 3]
    assert found[lists[1].items[0]].unit.text == "一要提倡透明工作法。"


def test_arabic_numbered_items_are_a_list():
    found = essay_units("1、领导班子思想政治建设的方式方法得到不断改进", "2、干部教育培训的方式方法不断更新。")
    [two] = [e for e in enumerations(found) if e.kind == "arabic"]
    assert len(two.items) == 2


@pytest.mark.parametrize("text,kind,count", [
    ("我们做了三件事。首先，统一了思想。其次，完善了制度。最后，加强了监督。", "sequence", 3),
    ("要求如下。第一，坚持原则。第二，依法办事。第三，接受监督。", "cn_ordinal", 3),
    ("主要措施：①完善制度。②加强培训。③严格考核。", "circled", 3),
    ("（一）完善制度。（二）加强培训。", "cn_paren", 2),
    ("(1)完善制度。(2)加强培训。(3)严格考核。", "arabic_paren", 3),
])
def test_each_enumeration_style_is_read_as_one_list(text, kind, count):
    found = as_units(text)
    [enumeration] = [e for e in enumerations(found) if e.kind == kind]
    assert len(enumeration.items) == count


@pytest.fixture(scope="module")
def retriever(essay_engine):
    return essay_engine.retriever()


def ask(question, retriever):
    hits = retriever.search(question)
    return compose_answer(question, hits, retriever.embedder, retriever.config,
                          documents_text=lambda path: retriever.store.documents[path].text, vectors=VECTORS,
                          store=retriever.store)


def numbered_lines(answer) -> list[str]:
    return [line for line in answer.answer.splitlines() if line[:1].isdigit() and ". " in line[:4]]


@pytest.mark.parametrize("question,items", [
    ("在工作思路上要抓好哪三个结合？", ["整体与局部", "当前与长远", "继承与创新"]),
    ("不合时宜的旧工作方法有哪三种表现形式？", ["行政命令式", "盲目机械式", "集中运动式"]),
    ("当前组织工作方式方法上存在哪几方面的不足和问题？",
     ["缺乏创新精神", "工作方法单一", "工作作风有待于改进", "工作机制不配套"]),
])
def test_a_list_question_is_answered_with_every_item_on_a_numbered_cited_line(question, items, retriever):
    answer = ask(question, retriever)
    lines = numbered_lines(answer)
    assert len(lines) == len(items), answer.answer
    for line, item in zip(lines, items):
        assert item in line and line.rstrip().endswith("]"), line
    assert all(ESSAY_TEXT[c.start:c.end] == c.text for c in answer.citations)


def test_parallel_clauses_are_the_items_when_no_numbers_mark_them(retriever):
    answer = ask("组工干部要树立哪些作风？", retriever)
    lines = numbered_lines(answer)
    assert len(lines) == 6 and all("作风" in line for line in lines), answer.answer


def test_items_explained_under_a_number_are_not_a_list_the_question_asks_for(retriever):
    # The answer is the sentence under 五是, not the six numbered mechanisms around it.
    answer = ask("干部教育培训机制要明确规定哪些内容？", retriever)
    assert not numbered_lines(answer)
    assert "考核手段" in answer.answer


SEED = [json.loads(line) for line in (SHARED_DATA / "seed_dev_qa.jsonl").read_text("utf-8").splitlines()
        if line.strip()]


@pytest.mark.parametrize("seed", [q for q in SEED if is_list_question(q["q"])], ids=lambda q: q["id"])
def test_every_seed_list_question_quotes_its_items(seed, retriever):
    answer = ask(seed["q"], retriever)
    assert not answer.abstained
    assert any(key in answer.answer for key in seed["keys"]), answer.answer
