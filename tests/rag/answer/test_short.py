"""rag.answer.short: the shortest span of a sentence that answers a fact question."""

from __future__ import annotations

from rag.answer.short import extract_short_answer


def test_a_count_question_gets_the_number_with_its_measure_word():
    assert extract_short_answer("河茂铁路共设置了几座车站？", "河茂铁路全线共设置了12座车站。") == "12座"


def test_a_date_question_gets_the_date():
    assert extract_short_answer("会议在几月几号召开？", "会议于2022年11月18日召开。") == "2022年11月18日"


def test_renamed_as_what_is_aligned_on_what_not_on_why():
    # 更名为什么 is 更名为 + 什么: the answer stands where 什么 does.
    sentence = "两校合并后，医院更名为四川大学华西医院，沿用至今。"
    assert extract_short_answer("合并后医院更名为什么？", sentence) == "四川大学华西医院"
