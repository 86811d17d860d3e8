"""lang.terms: one rule for the terms two texts are compared by, in two views."""

from __future__ import annotations

from lang.terms import recall, term_set, terms


def test_chinese_runs_give_bigrams_and_a_lone_character_a_unigram():
    assert set(terms("组织工作").counts) == {"组织", "织工", "工作"}
    assert set(terms("党，人").counts) == {"党", "人"}


def test_digits_inside_a_chinese_run_take_part_in_its_bigrams():
    assert set(terms("1992年4月").counts) == {"19", "99", "92", "2年", "年4", "4月"}


def test_latin_words_are_lower_cased_whole_and_full_width_folds():
    assert set(terms("Ｒｅｒａｎｋ the BM25 café").counts) == {"rerank", "the", "bm25", "café"}


def test_question_words_and_english_function_words_leave_a_question():
    assert set(terms("组工干部应该具备哪些能力？", question=True).counts) == {"组工", "工干", "干部", "部应", "应该",
                                                                     "该具", "具备", "能力"}
    assert set(terms("What should the cadres learn?", question=True).counts) == {"cadres", "learn"}


def test_traditional_question_words_are_left_out_too():
    assert set(terms("這是什麼？", question=True).counts) == {"這是"}


def test_the_set_view_is_the_same_rule_without_counts():
    text = "既要抓学习，又要抓落实，抓学习是基础。"
    assert term_set(text) == frozenset(terms(text).counts)
    assert term_set(text, question=True) == frozenset(terms(text, question=True).counts)


def test_recall_finds_a_repeated_term_no_more_often_than_the_haystack_holds_it():
    # 学习学习: 学习 twice, 习学 once; the haystack holds 学习 once.
    assert recall(terms("学习学习"), terms("学习")) == 1 / 3
    assert recall(terms("学习"), terms("学习学习")) == 1.0
    assert recall(terms(""), terms("学习")) == 0.0
