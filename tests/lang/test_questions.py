"""lang.questions: one classifier of what a question asks for.

Before it, three classifiers disagreed: "干部教育培训分为几种？" was a list
question to the answer composer, a number question to the short answer and
neither to the answer-type check; "Which city hosted it?" was a list
question because of ``which``. Each decision below is the reading a careful
reader makes.
"""

from __future__ import annotations

import pytest

from lang.questions import INTERROGATIVE, QUESTION_WORD, Asks, asks, is_fact_question, is_list_question


@pytest.mark.parametrize("question", [
    "干部教育培训分为几种？", "有哪几点要求？", "包括哪几个方面？", "组工干部还要具备哪些能力？",
    "要提倡哪三种工作法？", "这项工作有什么要求？", "What are the main problems?",
    "Which countries are members of the union?", "Which of these were adopted?", "List the principles.",
    "幹部教育培訓分為幾種？", "有哪些要求？",
])
def test_questions_asking_for_several_items_are_list_questions(question):
    assert asks(question) is Asks.LIST
    assert is_list_question(question)
    assert not is_fact_question(question), "a list has no one short answer"


def test_asking_how_many_kinds_is_a_count_not_a_list():
    assert asks("干部教育培训有多少种？") is Asks.NUMBER
    assert asks("How many kinds of training are there?") is Asks.NUMBER


@pytest.mark.parametrize("question", ["Which city hosted it?", "Which party won the election?"])
def test_which_with_a_singular_predicate_asks_for_one_fact(question):
    assert asks(question) is Asks.FACT
    assert is_fact_question(question)


@pytest.mark.parametrize("question,kind", [
    ("组工干部的平均年龄是多少岁？", Asks.NUMBER), ("有几个党支部？", Asks.NUMBER),
    ("How many members does it have?", Asks.NUMBER),
    ("这篇文章是什么时候发布的？", Asks.DATE), ("会议在几月几号召开？", Asks.DATE), ("哪一年成立的？", Asks.DATE),
    ("会议几点开始？", Asks.DATE), ("When did the war end?", Asks.DATE), ("這是什麼時候發生的？", Asks.DATE),
    ("高英是北魏皇家的第几位皇后？", Asks.ORDINAL),
    ("这种方法叫什么？", Asks.NAME), ("What is the river called?", Asks.NAME),
    ("党的代表大会提出了什么宏伟目标？", Asks.FACT), ("他是谁？", Asks.FACT), ("作者毕业于哪所大学？", Asks.FACT),
    ("Who wrote it?", Asks.FACT),
    ("为什么要创新组织工作？", Asks.REASON), ("為什麼要創新？", Asks.REASON), ("Why did it fail?", Asks.REASON),
    ("医院更名为什么？", Asks.FACT), ("赛里木湖被誉为什么？", Asks.FACT),
    ("如何做好组织工作？", Asks.OPEN), ("是否需要审批？", Asks.OPEN), ("Is it open on Sundays?", Asks.OPEN),
])
def test_each_question_is_read_as_asking_for_one_kind(question, kind):
    assert asks(question) is kind


def test_a_date_wins_over_a_count_and_an_ordinal_over_a_count():
    assert asks("几月几号有几个人到场？") is Asks.DATE
    assert asks("第几个到达？") is Asks.ORDINAL


def test_a_reason_gets_a_short_answer_a_way_or_a_yes_no_does_not():
    # A reason is one clause (CMRC 2018 answers its 为什么 questions with one);
    # "how to" and "whether" have no one span that answers them.
    assert is_fact_question("为什么要加强学习？")
    assert not is_fact_question("如何加强学习？")
    assert not is_fact_question("是否需要加强学习？")


def test_more_or_less_is_not_a_how_much_question():
    assert asks("他多多少少知道一些，这说明了什么？") is Asks.FACT


def test_question_words_are_found_in_both_scripts():
    assert INTERROGATIVE.search("這叫什麼").group(0) == "什麼"
    assert QUESTION_WORD.sub(" ", "请问这个方法是什么吗").split() == ["方法是"]
