"""What kind of fact a question asks for, and whether a sentence gives one.

A question asking *how many* (多少, 几个, 几 + a measure word, what
percentage) is answered only by a sentence that holds a number; one asking
*when* (何时, 什么时候, 哪一年, when) only by one that holds a date or time,
and one asking *which in order* (第几) only by one that holds an ordinal.
When none of the sentences an extractive answer would quote does, the
documents mention the topic but not the fact asked for, and the answer
abstains (:func:`rag.answer.compose.compose_answer`). What a question asks
for is :func:`lang.questions.asks`; this module maps it to the forms a
sentence can be checked for, and checks them.

Who-questions are not checked: a name has no form a rule can recognise in
Chinese text. List questions (哪些, 哪几点, 几个方面) ask for items, not a
count, and are not checked either.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Iterable

from lang.enumeration import RUNNING_LIST_NUMBER
from lang.numerals import COUNT_MEASURES, ZH_NUMERAL_CHARS, ZH_POWERS
from lang.questions import Asks, asks
from lang.scripts import fold


class ExpectedAnswer(Enum):
    """The form an answer to a question must take."""

    ANY = "any"          # nothing checkable: a name, an explanation, a list
    NUMBER = "number"    # how many / how much / what percentage
    DATE = "date"        # when / which year
    ORDINAL = "ordinal"  # 第几: the how-manieth


# --- what the question asks for -------------------------------------------------

_CHECKED = {Asks.NUMBER: ExpectedAnswer.NUMBER, Asks.DATE: ExpectedAnswer.DATE, Asks.ORDINAL: ExpectedAnswer.ORDINAL}


def expected_answer(question: str) -> ExpectedAnswer:
    """What ``question`` asks for: a date, an ordinal, a number, or nothing
    checkable (the kinds of :func:`lang.questions.asks`: a date wins over the
    others, "几月几号"; 第几 over a count, 第几位 is not 几位; a list is not a
    count, 分为几种)."""
    return _CHECKED.get(asks(question), ExpectedAnswer.ANY)


def missing_form(question: str, quoted: Iterable[str]) -> ExpectedAnswer | None:
    """What ``question`` asks for — a number, a date, an ordinal — when none
    of the ``quoted`` sentences holds one; None when they do or it asks for
    neither."""
    expected = expected_answer(question)
    if expected is ExpectedAnswer.ANY or any(satisfies(text, expected) for text in quoted):
        return None
    return expected


# --- whether a sentence gives it ------------------------------------------------

# Quoted terms are names, not quantities ("三个代表", 《1984》); idioms that
# hold a numeral and a measure word say nothing about one (年复一年).
_NAMES_AND_IDIOMS = re.compile(r"“[^”]*”|‘[^’]*’|「[^」]*」|『[^』]*』|《[^》]*》|\"[^\"]*\"|年复一年|日复一日")
# Enumeration markers are positions, not quantities or dates: "1、", "2.",
# "(3)" at the start of a sentence or after a colon. Ordinals (第一, 第3,
# 首次, the third) answer 第几 and are no count.
_LIST_MARKER = RUNNING_LIST_NUMBER
_ORDINAL = re.compile(rf"第[{ZH_NUMERAL_CHARS}\d]+|首(?:次|个|位|届|张|部|批)|"
                      r"\b(?:first|second|third|\d+(?:st|nd|rd|th)|(?:four|fif|six|seven|eigh|nin|ten)th)\b")

# Measure words and units after a Chinese numeral that make it a quantity.
_MEASURES = ("平方公里", "公里", "千米", "厘米", "毫米", "公分", "公斤", "千克", "公顷", "小时", "分钟", "世纪",
             "年代", "美元", "港元", "人次", "百分点", "米", "克", "吨", "斤", "亩", "元", "秒", "%", "％") \
    + COUNT_MEASURES + ("种", "类", "点", "批", "份", "处", "篇", "册", "月", "日", "号", "余")
# After a lone 一 these are the indefinite article ("一个重要课题", "一项
# 重要工作", "一次深刻的变革"), not a count: a lone 一 counts only before
# the other measure words (一人, 一年, 一米).
_ARTICLE_MEASURES = frozenset(("个", "种", "类", "项", "条", "位", "批", "支", "件", "份", "处", "次", "部",
                               "本", "张", "场", "点", "家", "所", "间", "成", "只", "头", "首", "月", "日", "号"))
_ZH_QUANTITY = re.compile(
    rf"(?<![{ZH_NUMERAL_CHARS}])(?P<n>(?:数|几|上(?=[{ZH_POWERS}]))?[{ZH_NUMERAL_CHARS}]+)(?:多|余|来)?"
    rf"(?P<m>{'|'.join(map(re.escape, sorted(set(_MEASURES), key=len, reverse=True)))})")
_ZH_PERCENT = re.compile(rf"百分之[{ZH_NUMERAL_CHARS}几]")
# English number words; "one" is left out ("one of them", "no one").
_EN_NUMBER = re.compile(r"\b(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|"
                        r"sixteen|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|"
                        r"hundreds?|thousands?|millions?|billions?|dozens?|percent)\b")

# Date and time expressions: any Arabic digit (years, 3月5日, 10:00); in
# Chinese numerals a year (二〇〇八年, 九八年), a month, a day of a month, a
# century or decade, an hour, an age (什么时候 is often answered "九岁那年");
# dynasties and named periods (唐末, 战国时期 — not 新时期 or 历史时期, "the
# new era", a slogan); relative days and years; English months, weekdays and the like.
_DYNASTIES = "夏商周秦汉晋隋唐宋元明清"
_DATE = re.compile(
    r"\d|[〇零一二三四五六七八九]{2,4}年|(?<![十〇零一二三四五六七八九])(?:十[一二]?|[一二三四五六七八九])月|"
    rf"月[{ZH_NUMERAL_CHARS}]+[日号]|[{ZH_NUMERAL_CHARS}]+(?:世纪|年代|点钟|点半|岁)|"
    rf"[{_DYNASTIES}](?:朝|代|初|末|中期|年间)|(?<![新史])时期|年间|"
    r"今年|去年|前年|明年|当年|同年|次年|翌年|早年|晚年|今天|昨天|明天|当天|次日|翌日|"
    r"上午|下午|凌晨|清晨|傍晚|晚上|早上|中午|夜间|[春夏秋冬][季天]|年初|年底|年末|月初|月底|上旬|中旬|下旬|"
    r"\b(?:january|february|march|april|may|june|july|august|september|october|november|december|"
    r"monday|tuesday|wednesday|thursday|friday|saturday|sunday|century|decade|yesterday|today|tomorrow|ago|"
    r"spring|summer|autumn|winter)\b")


def satisfies(sentence: str, expected: ExpectedAnswer) -> bool:
    """Whether ``sentence`` holds an answer of the ``expected`` form (a
    number, a date, an ordinal); always True for :attr:`ExpectedAnswer.ANY`."""
    if expected is ExpectedAnswer.ANY:
        return True
    text = _LIST_MARKER.sub(" ", _NAMES_AND_IDIOMS.sub(" ", fold(sentence)))
    if expected is ExpectedAnswer.ORDINAL:
        return bool(_ORDINAL.search(text))
    if expected is ExpectedAnswer.DATE:
        return bool(_DATE.search(text))
    text = _ORDINAL.sub(" ", text)     # 第三, the third: a position, not a count
    return bool(re.search(r"\d", text) or _ZH_PERCENT.search(text) or _EN_NUMBER.search(text)
                or any(_is_quantity(m) for m in _ZH_QUANTITY.finditer(text)))


def _is_quantity(m: re.Match[str]) -> bool:
    """A Chinese numeral and its measure word, not an article (一个) or a
    word that merely contains a numeral (万一, 千万)."""
    numeral, measure = m.group("n"), m.group("m")
    if numeral == "一" and measure in _ARTICLE_MEASURES:
        return False
    return not (set(numeral) <= set(ZH_POWERS) and len(numeral) > 1)
