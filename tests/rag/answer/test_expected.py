"""rag.answer.expected: which questions ask for a number, a date or an ordinal,
and which sentences give one."""

from __future__ import annotations

import pytest

from rag.answer.expected import ExpectedAnswer, expected_answer, satisfies

NUMBER, DATE, ORDINAL, ANY = ExpectedAnswer.NUMBER, ExpectedAnswer.DATE, ExpectedAnswer.ORDINAL, ExpectedAnswer.ANY


@pytest.mark.parametrize("question", [
    "非公有制经济组织中有多少个党支部？", "全市有多少名党员？", "公开选拔的干部中女性占多少比例？",
    "佩内塔获得过几次WTA赛事女子单打冠军？", "山东女子学院现有几个校区？", "伊丽莎白港机场有几条跑道？",
    "增长了百分之几？", "纽西兰鸡毛松有多高？", "学校总占地面积有多大？",
    "How many party members does the city have?", "What percentage of the staff are women?",
    "How much did it cost?",
])
def test_number_questions(question):
    assert expected_answer(question) is NUMBER


@pytest.mark.parametrize("question", [
    "第一次全市组织工作会议是哪一年召开的？", "尤金袋鼠最初是何时被发现的？", "第二届比赛什么时候举行的？",
    "他是几月几号出生的？", "潘仕成逝世的时间是？", "When was the city founded?",
    "In which year did the war end?", "What year was the school built?",
])
def test_date_questions(question):
    assert expected_answer(question) is DATE


@pytest.mark.parametrize("question", [
    # lists: several items, not a count, though 几 or 多少 appears
    "有哪几点要求？", "组织工作要从哪几个方面创新？", "干部教育培训分为几种？", "要从几个方面入手？",
    "要提倡哪三种工作法？", "组工干部还要具备哪些能力？", "会议提出了几点意见？",
    # no number asked for at all
    "党的代表大会提出了什么宏伟目标？", "组织部部长是谁？", "这种做法多少有些问题，为什么？",
    "这些措施有多大影响？", "What happens to the staff when the department is reorganised?",
    "What are the main problems?", "Who is the head of the organization department?",
])
def test_list_and_other_questions_ask_for_no_number_or_date(question):
    assert expected_answer(question) is ANY


def test_which_in_order_asks_for_an_ordinal_not_a_count():
    assert expected_answer("高英是北魏皇家的第几位皇后？") is ORDINAL
    assert satisfies("高英是北魏皇家的第二位皇后。", ORDINAL)
    assert satisfies("这是他们的第20张原创专辑。", ORDINAL)
    assert not satisfies("只有3支车队的6辆赛车起跑。", ORDINAL)


@pytest.mark.parametrize("sentence", [
    "地球体育场可以容纳6,476名观众。", "比赛共有来自64个国家及地区的84名运动员参与。",
    "全香港共四所高中书院。", "山东女子学院现有两个校区。", "改革开放二十多年来,我国取得了巨大成就。",
    "增长了百分之三十。", "目前已有数百名党员。", "全市共有一万二千名党员。", "淮海中路街道的人口密度达到每平方公里69670人。",
    "It has twelve branches.",
])
def test_sentences_with_a_number(sentence):
    assert satisfies(sentence, NUMBER)


@pytest.mark.parametrize("sentence", [
    # the essay's own sentences near the party-branch question: no count in them
    "认真探索非公有制经济组织、社会中介组织、社区党组织的地位、职能及活动方式。",
    "深入贯彻落实“三个代表”重要思想对组织工作提出的新要求。",       # a quoted name, not a quantity
    "是新时期摆在各级组织部门面前的一个重大而紧迫的课题。",          # 一个: the indefinite article
    "这是一项重要工作,要进一步加强,一定程度上也是统一认识的问题。",
    "当前任务十分紧迫,千万不能放松。",                               # 十分 = very, 千万 = by all means
    "一是行政命令式。",                                               # an enumeration marker
    "1、领导班子建设。", "第一次全市组织工作会议召开了。",             # a list marker, an ordinal
    "年复一年沿袭过去的工作方法。", "It is one of the first branches.",
])
def test_sentences_without_a_number(sentence):
    assert not satisfies(sentence, NUMBER)


@pytest.mark.parametrize("sentence", [
    "时间:2022-11-18 02:39:00", "尤金袋鼠最初是于1628年被发现的。", "二〇〇八年八月开幕。", "于十一月开放。",
    "乡里组织在唐末瓦解。", "去年召开了会议。", "九岁那年他开始写作。", "It opened in March.",
])
def test_sentences_with_a_date(sentence):
    assert satisfies(sentence, DATE)


@pytest.mark.parametrize("sentence", [
    "新的历史时期,组织部门的工作环境发生了较大变化。", "是新时期党的建设的伟大纲领。",
    "一是抓好学习。", "这两个机制不健全。", "It was the first meeting.",
])
def test_sentences_without_a_date(sentence):
    assert not satisfies(sentence, DATE)


def test_any_question_is_satisfied_by_any_sentence():
    assert satisfies("", ANY) and satisfies("一是行政命令式。", ANY)
