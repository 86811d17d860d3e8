"""rag.answer.followup: elliptical follow-ups made self-contained."""

from __future__ import annotations

from rag.answer.followup import answer_items, rewrite_followup
from rag.records import Answer, Turn

STYLES = ("组工干部要树立敬业爱岗的作风,强化责任,扎实工作[1]。树立求实高效的作风,求真务实,雷厉风行[2]。"
          "树立正直规范的作风,坚持原则,一丝不苟[3]。")
FORMS = "具体表现为以下三种形式:一是行政命令式。[1]二是盲目机械式。[2]三是集中运动式。[3]"
HISTORY = [Turn("组工干部要树立哪些作风？", STYLES)]


def test_self_contained_question_is_returned_unchanged():
    for question in ["党的代表大会提出了什么宏伟目标？", "这篇文章的标题是什么？", "这个城市去年的财政收入是多少？",
                     "What should organization department staff learn to keep up with the times?"]:
        assert rewrite_followup(question, HISTORY) == question


def test_without_history_nothing_is_rewritten():
    assert rewrite_followup("那第二点呢？", []) == "那第二点呢？"


def test_second_point_asks_about_the_second_item_of_the_previous_answer():
    assert "求实高效" in rewrite_followup("那第二点呢？", HISTORY)
    assert "正直规范" in rewrite_followup("第三条为什么重要？", HISTORY)
    assert "为什么重要" in rewrite_followup("第三条为什么重要？", HISTORY)
    assert "正直规范" in rewrite_followup("最后一点呢？", HISTORY)


def test_numbered_items_are_split_at_their_markers():
    assert answer_items(FORMS) == ["一是行政命令式", "二是盲目机械式", "三是集中运动式"]
    assert "盲目机械式" in rewrite_followup("那第二种呢？", [Turn("旧方法有哪几种形式？", FORMS)])


def test_items_listed_in_one_sentence_are_split_at_enumeration_commas():
    answer = "明确规定干部教育培训的内容、方式、考核手段[1]。"
    assert "考核手段" in rewrite_followup("第三个呢？", [Turn("要明确规定哪些内容？", answer)])


def test_english_ordinal_follow_up_names_the_item():
    rewritten = rewrite_followup("and the second one?", HISTORY)
    assert "求实高效" in rewritten and rewritten.startswith("What")


def test_what_about_puts_the_new_subject_in_the_previous_question():
    assert rewrite_followup("那组织部门呢？", HISTORY) == "组织部门要树立哪些作风？"
    previous = [Turn("What should organization department staff learn to keep up with the times?", "…[1]。")]
    assert rewrite_followup("What about leaders?", previous) == "What should leaders learn to keep up with the times?"


def test_why_asks_why_the_previous_answer_holds():
    rewritten = rewrite_followup("为什么？", HISTORY)
    assert rewritten.startswith("为什么") and "敬业爱岗" in rewritten
    assert rewrite_followup("why?", HISTORY).startswith("Why ")


def test_leading_pronoun_is_replaced_by_the_previous_short_answer_or_subject():
    target = Answer(question="党的代表大会提出了什么宏伟目标？", answer="党的**提出了全面建设小康社会的宏伟目标[1]。",
                    abstained=False, citations=[], hits=[], short_answer="全面建设小康社会的宏伟目标")
    assert rewrite_followup("它是怎么实现的？", [Turn(target.question, target)]) == "全面建设小康社会的宏伟目标是怎么实现的？"
    assert rewrite_followup("它有什么作用？", HISTORY) == "组工干部有什么作用？"


def test_more_repeats_the_previous_standalone_question():
    previous = Answer(question="那组织部门呢？", answer="…[1]。", abstained=False, citations=[], hits=[],
                      standalone_question="组织部门要树立哪些作风？")
    assert rewrite_followup("还有呢？", [Turn("那组织部门呢？", previous)]) == "组织部门要树立哪些作风？"


def test_follow_up_through_the_engine_answers_about_the_second_item(essay_engine):
    first = essay_engine.ask("组工干部要树立哪些作风？")
    assert "求实高效" in first.answer
    second = essay_engine.ask("那第二点呢？", [Turn("组工干部要树立哪些作风？", first)])
    assert second.standalone_question and "求实高效" in second.standalone_question
    assert not second.abstained and "求实高效" in second.answer
