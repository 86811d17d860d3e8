"""The shortest span of a sentence that answers a fact question.

Rule-based, so its behaviour can be measured and explained (the CMRC
benchmark scores it with exact match and character F1). Which questions get
one, and which rules try first, is what they ask for
(:func:`lang.questions.asks`):

1. a number with its unit, for 多少/几个/第几/how many;
2. a date, for 何时/哪一年/when;
3. the words around the question word, aligned with the sentence: for
   "提出了什么宏伟目标" in "…提出了全面建设小康社会的宏伟目标,…" the span
   between "提出了" and "宏伟目标", with the head noun: "全面建设小康社会的宏伟目标";
4. a quoted term (「」“”《》"") the question does not already contain;
5. the clause after 是/为/叫 (up to the next punctuation);
6. the sentence itself when it is one short phrase (no inner punctuation).

Every result is a substring of the sentence, or None.
"""

from __future__ import annotations

import re

from lang.numerals import ZH_NUMERAL_CHARS
from lang.questions import Asks, asks, find_interrogative

_NUMBER = re.compile(
    rf"(?:\d+(?:[.,]\d+)*|[{ZH_NUMERAL_CHARS}]+)\s*(?:多|余)?\s*"
    r"(?:%|％|‰|万亿|亿|万|千|百)?\s*"
    r"(?:元|美元|人民币|人次|人|名|位|个|项|次|年|月|天|日|岁|倍|种|条|家|所|平方公里|公里|千米|米|吨|公斤|千克|克|小时|分钟|秒|户|亩|座|部|篇|本)?")
_DATE = re.compile(r"\d{4}\s*年(?:\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*[日号])?)?|\d{4}-\d{1,2}-\d{1,2}|"
                   r"\d{1,2}\s*月\s*\d{1,2}\s*[日号]|(?<!\d)\d{4}(?!\d)|[一二三四五六七八九〇零]{4}年")
_QUOTED = re.compile(r"「([^」]+)」|“([^”]+)”|《([^》]+)》|\"([^\"]+)\"|『([^』]+)』")
_COPULA_CLAUSE = re.compile(r"(?:是|为|叫做|叫|称为|称作)([^，。,;；:：！？!?]+)")
_PUNCT = re.compile(r"[，。,;；:：！？!?、\s]")


def extract_short_answer(question: str, sentence: str) -> str | None:
    """The shortest span of ``sentence`` that answers ``question``, or None
    when no rule finds one (see the module docstring for the rules)."""
    kind = asks(question)
    candidates: list[str | None] = []
    if kind is Asks.DATE:
        candidates.append(_first_new(_DATE, sentence, question))
    if kind in (Asks.NUMBER, Asks.ORDINAL):
        candidates.append(_first_new(_NUMBER, sentence, question, need_digit=True))
    if kind is Asks.NAME:
        candidates.append(_quoted(sentence, question))
    candidates.append(_aligned(question, sentence))
    candidates.append(_quoted(sentence, question))
    candidates.append(_copula_clause(sentence, question))
    candidates.append(_whole_phrase(sentence))
    for c in candidates:
        if c:
            return c
    return None


def _first_new(pattern: re.Pattern[str], sentence: str, question: str, need_digit: bool = False) -> str | None:
    for m in pattern.finditer(sentence):
        span = m.group(0).strip()
        if not span or span in question:
            continue
        if need_digit and not re.search(rf"[\d{ZH_NUMERAL_CHARS}]", span):
            continue
        return span
    return None


def _quoted(sentence: str, question: str) -> str | None:
    for m in _QUOTED.finditer(sentence):
        inner = next(g for g in m.groups() if g)
        if inner not in question:
            return m.group(0)
    return None


def _aligned(question: str, sentence: str) -> str | None:
    """Align the question's words before and after its question word with
    the sentence and return what stands between them (with the words after,
    which name what the answer is: "…的宏伟目标")."""
    q = _PUNCT.sub("", question)
    found = find_interrogative(q)
    if found is None:
        return None
    left, right = q[:found[0]], q[found[1]:]
    if right.startswith("的"):
        right = right[1:]
    start = _end_of_longest_suffix(left, sentence)
    if start is None:
        return None
    head = _longest_prefix_after(right, sentence, start)
    if head is not None:
        pos, length = head
        span = sentence[start:pos + length]
    else:
        stop = _PUNCT.search(sentence, start)
        span = sentence[start:stop.start() if stop else len(sentence)]
    span = span.strip()
    return span if span and _PUNCT.search(span) is None and span != sentence.strip() else None


def _end_of_longest_suffix(left: str, sentence: str, least: int = 2) -> int | None:
    """Where, in ``sentence``, the longest suffix of ``left`` (at least
    ``least`` characters) ends."""
    for size in range(len(left), least - 1, -1):
        pos = sentence.find(left[-size:])
        if pos >= 0:
            return pos + size
    return None


def _longest_prefix_after(right: str, sentence: str, start: int, least: int = 2) -> tuple[int, int] | None:
    """(position, length) of the longest prefix of ``right`` found in
    ``sentence`` after ``start`` and before the next punctuation."""
    stop = _PUNCT.search(sentence, start)
    limit = stop.start() if stop else len(sentence)
    for size in range(len(right), least - 1, -1):
        pos = sentence.find(right[:size], start, limit)
        if pos > start:
            return pos, size
    return None


def _copula_clause(sentence: str, question: str) -> str | None:
    for m in _COPULA_CLAUSE.finditer(sentence):
        clause = m.group(1).strip()
        if clause and clause not in question:
            return clause
    return None


def _whole_phrase(sentence: str) -> str | None:
    text = sentence.strip().rstrip("。.!！?？")
    return text if text and _PUNCT.search(text) is None else None
