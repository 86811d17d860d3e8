"""The shortest span of a sentence that answers a fact question.

Rule-based, so its behaviour can be measured and explained (the CMRC
benchmark scores it with exact match and character F1):

1. a number with its unit, for 多少/几/how many;
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

from lang.terms import fold

_FACT_QUESTION = re.compile(
    r"谁|何时|什么时候|哪一年|哪年|哪天|多少|几[个年月天次项名人岁位种条]|叫什么|是什么|什么|哪个|哪位|哪里|何地|"
    r"\bwho\b|\bwhen\b|\bhow (?:many|much|long|old)\b|\bwhat (?:is|was|are|were)\b|\bwhich year\b|\bcalled\b|\bwhere\b",
    re.IGNORECASE)
_LIST_WORDS = re.compile(r"哪些|哪几|有什么|有何|what are|which are", re.IGNORECASE)
_NUMBER_QUESTION = re.compile(r"多少|几[个年月天次项名人岁位种条]?|how (?:many|much|long|old)", re.IGNORECASE)
_TIME_QUESTION = re.compile(r"何时|什么时候|哪一年|哪年|哪天|when|what year|which year", re.IGNORECASE)
_NAME_QUESTION = re.compile(r"叫什么|名称|名字|称为|called|named", re.IGNORECASE)

_ZH_NUM = "零〇一二两三四五六七八九十百千万亿"
_NUMBER = re.compile(
    rf"(?:\d+(?:[.,]\d+)*|[{_ZH_NUM}]+)\s*(?:多|余)?\s*"
    r"(?:%|％|‰|万亿|亿|万|千|百)?\s*"
    r"(?:元|美元|人民币|人次|人|名|位|个|项|次|年|月|天|日|岁|倍|种|条|家|所|平方公里|公里|千米|米|吨|公斤|千克|克|小时|分钟|秒|户|亩|座|部|篇|本)?")
_DATE = re.compile(r"\d{4}\s*年(?:\s*\d{1,2}\s*月(?:\s*\d{1,2}\s*[日号])?)?|\d{4}-\d{1,2}-\d{1,2}|"
                   r"\d{1,2}\s*月\s*\d{1,2}\s*[日号]|(?<!\d)\d{4}(?!\d)|[一二三四五六七八九〇零]{4}年")
_QUOTED = re.compile(r"「([^」]+)」|“([^”]+)”|《([^》]+)》|\"([^\"]+)\"|『([^』]+)』")
_COPULA_CLAUSE = re.compile(r"(?:是|为|叫做|叫|称为|称作)([^，。,;；:：！？!?]+)")
_QUESTION_WORD = re.compile(r"什么样的|什么|哪些|哪个|哪一年|哪年|谁|多少|几|何时|如何|怎样|怎么")
_PUNCT = re.compile(r"[，。,;；:：！？!?、\s]")


def is_fact_question(question: str) -> bool:
    """A question asking for one fact (who, when, how many, what is X called)
    rather than a list or an explanation."""
    q = fold(question)
    return bool(_FACT_QUESTION.search(q)) and not _LIST_WORDS.search(q)


def extract_short_answer(question: str, sentence: str) -> str | None:
    """The shortest span of ``sentence`` that answers ``question``, or None
    when no rule finds one (see the module docstring for the rules)."""
    q = fold(question)
    candidates: list[str | None] = []
    if _TIME_QUESTION.search(q):
        candidates.append(_first_new(_DATE, sentence, question))
    if _NUMBER_QUESTION.search(q):
        candidates.append(_first_new(_NUMBER, sentence, question, need_digit=True))
    if _NAME_QUESTION.search(q):
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
        if need_digit and not re.search(rf"[\d{_ZH_NUM}]", span):
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
    m = _QUESTION_WORD.search(q)
    if not m:
        return None
    left, right = q[:m.start()], q[m.end():]
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
