"""Follow-up questions: rewrite an elliptical question ("那第二点呢？",
"why?", "它有什么作用？") into one that retrieval can answer on its own.

Rule-based by default, so it works without an LLM and is predictable:

- an ordinal reference (第二点/第2条/the second one) becomes a question about
  that item of the previous answer;
- "那X呢？" / "what about X?" puts X in place of the previous question's
  subject;
- a leading pronoun (它/其/这个…/it/this…) is replaced by what the previous
  turn was about (its short answer, else its subject);
- "为什么？" / "why?" asks why the previous answer's first statement holds;
- "还有呢？" / "tell me more" repeats the previous question.

Anything else is self-contained and returned unchanged.
"""

from __future__ import annotations

import re
from typing import Sequence

from lang.citations import strip_markers
from lang.enumeration import ordinal_of
from lang.numerals import EN_ORDINALS, number_value
from lang.scripts import IDEOGRAPHS, is_chinese
from lang.terms import terms
from rag.answer.verify import is_trivial, split_statements
from rag.records import Answer, Turn

# "第二点", "第3条", "最后一点"; "the second one", "item 2", "the 3rd" ("last" is -1).
_ZH_ORDINAL_REF = re.compile(r"第\s*([一二两三四五六七八九十]|\d{1,2})\s*(?:点|条|个|项|方面|种|部分|句)?|最后一(?:点|条|个|项)")
_EN_ORDINAL_REF = re.compile(rf"\b(?:the\s+)?({'|'.join(EN_ORDINALS)}|last)"
                             r"\b(?:\s+(?:one|point|item|part))?|(?:number|item|point|#)\s*(\d{1,2})\b|\b(\d)(?:st|nd|rd|th)\b",
                             re.IGNORECASE)
# "那…呢？" and friends: the question names only a new subject.
_ZH_WHAT_ABOUT = re.compile(r"^(?:那么?|还有|而|至于|关于)?\s*(.+?)\s*(?:呢|怎么样|如何)\s*[？?。!！]*$")
_EN_WHAT_ABOUT = re.compile(r"^(?:and\s+)?(?:what|how)\s+about\s+(.+?)\s*[?.!]*$|^and\s+(.+?)\s*\?+$", re.IGNORECASE)
_ZH_WHY = re.compile(r"^(?:那么?|那)?\s*(?:为什么|为何|什么原因|原因是什么)\s*(?:呢|吗)?\s*[？?。!！]*$")
_EN_WHY = re.compile(r"^(?:and\s+|but\s+)?(?:why|why so|why is that|how come)\s*[?.!]*$", re.IGNORECASE)
_ZH_MORE = re.compile(r"^(?:那么?)?(?:还有呢|还有吗|还有别的吗|然后呢|具体呢|具体说说|详细说说|详细点|详细一点|展开说说|继续)\s*[？?。!！]*$")
_EN_MORE = re.compile(r"^(?:tell me more|more|go on|continue|anything else|what else|and\??)\s*[?.!]*$", re.IGNORECASE)
# A leading pronoun standing for the previous subject. 这个/那个/这些/那些
# count only when a predicate follows (so "这个城市…" is not a reference).
_ZH_PRONOUN = re.compile(r"^(?:那么?|那)?\s*(它们|它|其|该|此|这一点|这点|(?:这个|那个|这些|那些|这|那)(?=是|有|要|呢|怎|如何|为|的|能|会|在|指|包括|具体|$))")
_EN_PRONOUN = re.compile(r"\b(it|its|they|them|their|this|that|these|those)\b", re.IGNORECASE)
# Where a question's subject ends: the first word of its predicate.
_ZH_PREDICATE = re.compile(r"除了|要|应|需|必须|有|是|能|会|该|怎|如何|为什么|为何|的|在|对|和|与|还|都|可以|提出|具备|开展|包括|指")
# "What is X?" -> X; "What should X learn …?" -> X (up to its verb).
_EN_IS_SUBJECT = re.compile(r"^(?:what|who)\s+(?:is|are|was|were)\s+(?:the\s+|a\s+|an\s+)?([^?]+?)\s*\??$", re.IGNORECASE)
_EN_AUX_SUBJECT = re.compile(
    r"^(?:what|how|why|when|where|which)\s+(?:does|do|did|should|can|must|will|would|could)\s+(?:the\s+)?"
    r"([a-z][a-z\s-]*?)\s+(?:do|have|be|learn|mean|include|need|use|say|get|keep|make|take|know|help|become|"
    r"provide|require|promote|handle|deal|study|improve|achieve|avoid)\b", re.IGNORECASE)
_QUESTION_TAIL = re.compile(r"[？?。.!！\s]+$")


def rewrite_followup(question: str, history: Sequence[Turn]) -> str:
    """``question`` made self-contained using the previous turn, or
    unchanged when it already is (or there is no history)."""
    q = question.strip()
    if not history or not q:
        return question
    previous = history[-1]
    prev_q = _standalone(previous)
    chinese = is_chinese(q) or (not re.search(r"[A-Za-z]", q) and is_chinese(prev_q))

    if _ZH_MORE.match(q) or _EN_MORE.match(q):
        return prev_q
    if _ZH_WHY.match(q) or _EN_WHY.match(q):
        claim = _first_statement(previous)
        if claim:
            return f"为什么{claim}？" if chinese else f"Why {claim}?"
        return f"{_strip_tail(prev_q)}——为什么？" if chinese else f"{_strip_tail(prev_q)}: why?"

    index = _ordinal_reference(q)
    if index is not None:
        items = answer_items(previous.answer)
        if items:
            item = items[-1] if index == -1 else (items[index - 1] if 0 < index <= len(items) else None)
            if item:
                rest = _ordinal_rest(q)
                if chinese:
                    return f"“{item}”{rest or '具体指什么'}？"
                return f'What does "{item}" mean?' if not rest else f'"{item}": {rest}?'

    about = _what_about(q)
    if about:
        subject = _subject(prev_q)
        if subject and subject in prev_q and is_chinese(about) == is_chinese(prev_q):
            return prev_q.replace(subject, about, 1)
        return f"{about}：{prev_q}" if chinese else f"{about}: {prev_q}"

    if _ZH_PRONOUN.match(q):
        referent = _referent(previous, prev_q)
        if referent:
            return _ZH_PRONOUN.sub(lambda m: m.group(0)[: m.start(1) - m.start(0)] + referent, q, count=1)
        return f"{_strip_tail(prev_q)}——{q}"
    if not chinese and _EN_PRONOUN.search(q) and _content_words(q) <= 2:
        referent = _referent(previous, prev_q)
        if referent:
            return _EN_PRONOUN.sub(referent, q, count=1)
        return f"{_strip_tail(prev_q)}: {q}"
    return question


# --- pieces -------------------------------------------------------------------

def answer_items(answer: Answer | str) -> list[str]:
    """The items of a previous answer, for "第二点": its enumerated items
    (一是…二是… / 1、2、) if it has them, else its statements."""
    text = _answer_text(answer)
    if isinstance(answer, Answer) and answer.abstained:
        return []
    statements = [s.text for s in split_statements(text) if not is_trivial(s.text)]
    numbered = _numbered_items(statements)
    if len(numbered) >= 2:
        return numbered
    items = [_strip_tail(s) for s in statements]
    if len(items) == 1:
        # One statement listing its items with 、 or ; ("内容、方式、考核手段")
        parts = [p for p in re.split(r"[;；、]", items[0]) if p.strip()]
        if len(parts) >= 2:
            return parts
    return items


def _numbered_items(statements: list[str]) -> list[str]:
    """Enumerated items across the statements: each piece opening with a
    marker starts an item (text before the first marker is an introduction)."""
    pieces: list[str] = []
    for s in statements:
        pieces.extend(p for p in re.split(r"[;；]", s) if p.strip())
    items: list[str] = []
    for p in pieces:
        p = p.strip()
        if ordinal_of(p) is not None:
            items.append(_strip_tail(_after_introduction(p)))
    return items


def _after_introduction(piece: str) -> str:
    """"具体表现为以下三种形式:一是行政命令式" -> "一是行政命令式"."""
    m = re.match(r"^([^:：]*)[:：](.*)$", piece, re.DOTALL)
    if m and ordinal_of(m.group(1)) is None and ordinal_of(m.group(2)) is not None:
        return m.group(2).strip()
    return piece


def _answer_text(answer: Answer | str) -> str:
    text = answer.answer if isinstance(answer, Answer) else str(answer)
    return strip_markers(text)


def _standalone(turn: Turn) -> str:
    if isinstance(turn.answer, Answer) and turn.answer.standalone_question:
        return turn.answer.standalone_question
    return turn.question.strip()


def _first_statement(turn: Turn) -> str | None:
    if isinstance(turn.answer, Answer) and turn.answer.abstained:
        return None
    for s in split_statements(_answer_text(turn.answer)):
        if not is_trivial(s.text):
            return _strip_tail(s.text)
    return None


def _referent(turn: Turn, prev_q: str) -> str | None:
    """What a pronoun in the follow-up most likely stands for."""
    if isinstance(turn.answer, Answer) and turn.answer.short_answer and not turn.answer.abstained:
        return turn.answer.short_answer
    return _subject(prev_q)


def _subject(question: str) -> str | None:
    """The leading noun phrase of a Chinese question (up to its predicate),
    or the words after the question word of an English one."""
    q = question.strip()
    if is_chinese(q):
        run = re.match(f"[{IDEOGRAPHS}]+", q)
        if not run:
            return None
        m = _ZH_PREDICATE.search(run.group(0), 2)
        subject = run.group(0)[: m.start()] if m else None
        return subject if subject and len(subject) >= 2 else None
    m = _EN_IS_SUBJECT.match(q) or _EN_AUX_SUBJECT.match(q)
    return m.group(1).strip() if m else None


def _what_about(q: str) -> str | None:
    m = _EN_WHAT_ABOUT.match(q)
    if m:
        return (m.group(1) or m.group(2) or "").strip() or None
    m = _ZH_WHAT_ABOUT.match(q)
    if m and (q.startswith(("那", "还有", "而", "至于", "关于")) or q.rstrip("？?。!！ ").endswith("呢")):
        subject = m.group(1).strip()
        # "为什么呢", "第二点呢" and pronouns are handled by the other rules.
        if subject and not _ZH_WHY.match(subject) and not _ZH_PRONOUN.match(subject) and terms(subject):
            return subject
    return None


def _ordinal_reference(q: str) -> int | None:
    m = _ZH_ORDINAL_REF.search(q)
    if m:
        if m.group(0).startswith("最后"):
            return -1
        return number_value(m.group(1))
    m = _EN_ORDINAL_REF.search(q)
    if m:
        if m.group(1):
            return -1 if m.group(1).lower() == "last" else number_value(m.group(1))
        return int(m.group(2) or m.group(3))
    return None


def _ordinal_rest(q: str) -> str:
    """What the follow-up asks about the item, when more than "呢"."""
    rest = _ZH_ORDINAL_REF.sub("", q)
    rest = _EN_ORDINAL_REF.sub("", rest)
    rest = re.sub(r"^(?:那么?|那|and|what about|how about)\s*", "", rest.strip(), flags=re.IGNORECASE)
    rest = _strip_tail(re.sub(r"呢\s*[？?]*$", "", rest))
    return rest if terms(rest, question=False) and rest not in {"的", "是"} else ""


def _content_words(q: str) -> int:
    return len(terms(q, question=True))


def _strip_tail(text: str) -> str:
    return _QUESTION_TAIL.sub("", text.strip()).rstrip("。；;，,")
