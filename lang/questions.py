"""What a question asks for, and the words that ask rather than say.

One classifier for every part of the answer that depends on the kind of
question: the list gathering (a list question quotes the items of a list),
the answer-type check (a how-many question needs a sentence that holds a
number) and the short answer (a fact question gets its shortest span).

Decisions a careful reader makes, pinned in ``tests/lang/test_questions.py``:

- "分为几种？", "有哪几点？", "包括哪几个方面？" ask for the kinds, points,
  aspects themselves: a list, not a count. "有多少种？" and "how many kinds"
  ask for a count.
- "Which city hosted it?" asks for one fact; "Which countries are members?"
  ("which … are/were") and "What are …?" ask for a list.
- A date wins over everything ("哪一年", "几月几号"), an ordinal (第几) over
  a count (第几位 is not 几位).
- "为什么" asks for a reason, which one clause can give (a short answer);
  "如何", "怎么", "是否" ask for a way or a yes/no, which no short span gives.
  After a verb that takes 为, or ending the question, 为什么 is 为 + 什么
  ("医院更名为什么？" asks for the new name).

Simplified and Traditional Chinese are read alike (the question words are
folded to Simplified first), English by its question words.
"""

from __future__ import annotations

import re
from enum import Enum

from lang.numerals import COUNT_MEASURES, ZH_POWERS, number_value
from lang.scripts import fold


class Asks(Enum):
    """What a question asks for."""

    LIST = "list"          # several items: 哪些, 分为几种, what are, which … are
    NUMBER = "number"      # a count or a measure: 多少, 几个, how many
    DATE = "date"          # a date or a time: 何时, 哪一年, when
    ORDINAL = "ordinal"    # a position: 第几
    NAME = "name"          # what something is called: 叫什么, 名称, called
    FACT = "fact"          # one other fact: 谁, 什么, 哪个, who, where, which X
    REASON = "reason"      # why: 为什么, 为何, why
    OPEN = "open"          # a way, a yes/no, a description: 如何, 怎么, 是否, how, is it


# Kinds a single short span can answer. A reason is one: the clause that
# gives it (CMRC 2018 marks such a clause as the answer to its 为什么 questions).
FACT_KINDS = frozenset({Asks.NUMBER, Asks.DATE, Asks.ORDINAL, Asks.NAME, Asks.FACT, Asks.REASON})

# --- question words -------------------------------------------------------------

# Words that stand where the answer would (the short answer aligns a
# question with a sentence around them). Longer forms first is not needed:
# patterns built from these lists sort them longest first.
INTERROGATIVES_ZH = (
    "为什么", "为何", "什么样", "怎么样", "怎么办", "什么", "怎么", "怎样", "如何", "哪一年", "哪年", "哪些",
    "哪几", "哪个", "哪里", "哪儿", "哪", "多少", "几个", "几", "谁", "何时", "是否", "是不是", "有没有",
)
# Words that make a sentence a question or frame it, and say nothing of its
# topic: with the interrogatives, what a question's terms leave out.
_PARTICLES_ZH = ("吗", "呢", "吧")
_FRAMING_ZH = ("请问", "这篇", "这个", "那个", "这些", "那些")

# Traditional forms of the characters the question patterns are written
# with; a question is folded to Simplified through this table before it is
# classified, and the question words are matched in both forms.
_TRADITIONAL_FORMS = "為麼樣辦幾個裡裏兒誰時間種點類數號歲屆項條層輛臺顆塊門輪場張隻頭戶長遠寬紀這嗎請問沒們兩萬億與稱來週級會對說"
_SIMPLIFIED_FORMS = "为么样办几个里里儿谁时间种点类数号岁届项条层辆台颗块门轮场张只头户长远宽纪这吗请问没们两万亿与称来周级会对说"
_TRADITIONAL = str.maketrans(_TRADITIONAL_FORMS, _SIMPLIFIED_FORMS)
_SIMPLIFIED_TO_TRADITIONAL: dict[str, list[str]] = {}
for _t, _s in zip(_TRADITIONAL_FORMS, _SIMPLIFIED_FORMS):
    _SIMPLIFIED_TO_TRADITIONAL.setdefault(_s, []).append(_t)


def to_simplified(text: str) -> str:
    """``text`` with the Traditional characters of question vocabulary
    written in Simplified (什麼 -> 什么, 幾種 -> 几种); other characters stay."""
    return text.translate(_TRADITIONAL)


def _spellings(word: str) -> set[str]:
    """``word`` in Simplified and in every Traditional spelling."""
    forms = {""}
    for ch in word:
        forms = {f + c for f in forms for c in [ch] + _SIMPLIFIED_TO_TRADITIONAL.get(ch, [])}
    return forms


def _alternation(words) -> str:
    forms = {form for w in words for form in _spellings(w)}
    return "|".join(re.escape(w) for w in sorted(forms, key=lambda w: (-len(w), w)))


# The interrogatives, in both scripts (for the short answer's alignment).
INTERROGATIVE = re.compile(_alternation(INTERROGATIVES_ZH))
# 为什么 read as 为 + 什么 ("as what"), not "why": after a verb that takes 为
# ("更名为什么", "被誉为什么", "命名为什么") or ending the question.
_AS_WHAT = re.compile(r"(?<=[名称稱誉譽改编編变變成作译譯视視认認选選定列分更封])(?:为|為)(?=什么|什麼)|"
                      r"(?<=[^\W\d_])(?:为|為)(?=(?:什么|什麼)[?？。.!！\s]*$)")
# What terms(question=True) cuts out of a (folded) question.
QUESTION_WORD = re.compile(_alternation(INTERROGATIVES_ZH + _PARTICLES_ZH + _FRAMING_ZH))

# --- the classifier --------------------------------------------------------------

# Fixed phrases with 多少 that ask nothing ("more or less").
_NOT_A_QUESTION = re.compile(r"或多或少|多多少少|多少有些|多少有点")

_DATE = re.compile(
    r"何时|何年|何日|什么时候|什么时间|啥时候|哪一?年|哪一?天|哪个?月|几月|几号|几点钟|几点(?:开始|结束|出发|举行|到达|半|了)|"
    r"现在几点|哪个?年代|什么年代|"
    r"哪个?世纪|哪个?朝代|的(?:时间|日期|年份)(?:是|为)?(?:什么|多少)?[?？]?$|"
    r"^\W*(?:and )?when\b|\bwhen (?:did|was|were|is|are|does|do|will|has|had)\b|"
    r"\b(?:what|which) (?:year|date|day|month|century|decade|time)\b")
_ORDINAL = re.compile(r"第几|\bwhich (?:place|position|rank)\b")
_LIST = re.compile(
    r"哪些|哪几(?!年)|哪[两二三四五六七八九十]|有什么|有何|包括什么|包含什么|几个?方面|几点(?!钟)|几种|几类|几大|"
    r"\bwhat are\b|\bwhich\b(?:\s+[\w-]+){0,3}?\s+(?:are|were)\b|\blist\b|\bname the\b|"
    r"\bwhat (?:kinds?|types?|sorts?)\b")
# 多长/多高/多远 ask for a measurement; 多大 only at the end of the question
# ("面积有多大？"), since "有多大影响" asks how important; 多重 is left out
# ("多重身份": multiple identities).
_NUMBER = re.compile(
    r"多少|百分之几|(?<!哪)几[" + ZH_POWERS + r"]?(?:" + "|".join(COUNT_MEASURES) + r")|"
    r"多(?:长|高|远|久|深|宽|厚)|多大[?？]?$|"
    r"\bhow (?:many|much|old|long|tall|high|far|deep|wide)\b|"
    r"\bwhat (?:percentage|percent|proportion|fraction|share)\b|\bthe number of\b")
_NAME = re.compile(r"叫什么|叫做什么|名称|名字|称为|称作|\bcalled\b|\bnamed?\b")
_REASON = re.compile(r"为什么|为何|什么原因|\bwhy\b")
_OPEN = re.compile(r"怎么|怎样|如何|是否|是不是|有没有|能否|可否|吗[?？]?$|"
                   r"\bhow\b|^\W*(?:is|are|was|were|do|does|did|can|could|should|will|would|has|have)\b")
_FACT = re.compile(r"谁|什么|哪|何地|何处|何人|\bwho(?:m|se)?\b|\bwhere\b|\bwhat (?:is|was|were)\b|\bwhich\b")


def find_interrogative(question: str) -> tuple[int, int] | None:
    """Where the interrogative of ``question`` stands (start, end): the word
    the answer takes the place of. In "医院更名为什么" that is 什么, not 为什么."""
    m = INTERROGATIVE.search(question)
    if m is None:
        return None
    if _AS_WHAT.match(question, m.start()):
        return m.start() + 1, m.end()
    return m.start(), m.end()


def asks(question: str) -> Asks:
    """What ``question`` asks for (see the module docstring for the order
    in which the kinds are tried and why)."""
    q = _NOT_A_QUESTION.sub("", to_simplified(fold(question).strip()))
    q = _AS_WHAT.sub("为 ", q)
    for pattern, kind in ((_DATE, Asks.DATE), (_ORDINAL, Asks.ORDINAL), (_LIST, Asks.LIST),
                          (_NUMBER, Asks.NUMBER), (_NAME, Asks.NAME), (_REASON, Asks.REASON),
                          (_OPEN, Asks.OPEN), (_FACT, Asks.FACT)):
        if pattern.search(q):
            return kind
    return Asks.OPEN


def is_list_question(question: str) -> bool:
    """Whether ``question`` asks for several items."""
    return asks(question) is Asks.LIST


def is_fact_question(question: str) -> bool:
    """Whether ``question`` asks for one fact a short span can give (a
    number, a date, a position, a name, a who/what/where)."""
    return asks(question) in FACT_KINDS


# --- what kind of thing the answer is ------------------------------------------------


class Target(Enum):
    """What kind of span answers a fact question: the short answer prefers
    spans of that kind (a person's name for 谁, a place for 哪里)."""

    PERSON = "person"      # 谁, 何人, 哪位, who
    PLACE = "place"        # 哪里, 何地, 哪个国家, where
    TIME = "time"          # 何时, 哪一年, when (Asks.DATE)
    NUMBER = "number"      # 多少, 几个, 第几, how many (Asks.NUMBER, Asks.ORDINAL)
    THING = "thing"        # 什么, 哪个 + noun, what, which: a noun phrase


# Periods asked for by name (什么时期, 哪个时代): a time, though no date is required.
_PERIOD = re.compile(r"(?:什么|哪个?|哪一个?)(?:时期|时代|朝代|年代|世纪|季节)")
_PERSON = re.compile(r"谁|何人|哪位|哪一位|什么人|哪个人|哪些人|\bwho(?:m|se)?\b")
_PLACE = re.compile(r"哪里|哪儿|何地|何处|哪个?(?:国家|城市|省|市|县|地区|地方|州|岛|国)|什么地方|在哪|\bwhere\b")


def answer_target(question: str) -> Target:
    """The kind of span that answers ``question`` (see :class:`Target`)."""
    kind = asks(question)
    if kind is Asks.DATE:
        return Target.TIME
    if kind in (Asks.NUMBER, Asks.ORDINAL):
        return Target.NUMBER
    q = to_simplified(fold(question))
    if _PERIOD.search(q):
        return Target.TIME
    if _PERSON.search(q):
        return Target.PERSON
    if _PLACE.search(q):
        return Target.PLACE
    return Target.THING


# How many items a list question asks for: 哪三个结合, 哪两种, 哪 3 项, "what are the three".
_ITEM_COUNT = re.compile(r"哪\s*([两二三四五六七八九十]|\d{1,2})\s*(?:个|种|项|点|条|类|大|方面|部分|位|家|件)|"
                         r"\b(?:what|which)\s+(?:are|were)?\s*(?:the\s+)?(two|three|four|five|six|seven|eight|nine|ten)\b")
_EN_COUNTS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10}


def asked_count(question: str) -> int | None:
    """The number of items a list question names ("哪三个结合" -> 3), or None."""
    m = _ITEM_COUNT.search(to_simplified(fold(question)))
    if m is None:
        return None
    token = m.group(1) or m.group(2)
    if token in _EN_COUNTS:
        return _EN_COUNTS[token]
    return number_value(token)
