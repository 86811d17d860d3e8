"""Enumeration markers: the numbers that open a heading or a list item.

Chinese writing numbers its parts in a handful of ways, and a heading and a
list item use the same ones: ``第一章``, ``一、``, ``（一）``, ``1、``/``1.``,
``(1)``, and, inside running text, ``一是/二要``, ``第一，``, ``①``,
``首先/其次/最后`` or "first, second". Each *kind* of marker has one pattern here; the number is
the item's position. Items of one list share a kind ("一是…二是…三是"), so a
list is the run of markers of one kind counting up.

The heading finder (:mod:`ingest.headings`) reads the heading kinds to build a
document's outline; the answer (:mod:`rag.answer.lists`) and the follow-up
rewriter read the item kinds to gather and address a list's items.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lang.numerals import EN_ORDINALS, number_value

# A Chinese numeral as headings and items write it (一, 十二, 一百零五).
_CN = "[一二三四五六七八九十百零〇]+"
_CIRCLED = "\u2460-\u2473"          # ① .. ⑳

_PATTERNS: dict[str, re.Pattern[str]] = {
    "chapter": re.compile(rf"第({_CN}|\d{{1,3}})[章篇编部]"),
    "section": re.compile(rf"第({_CN}|\d{{1,3}})节"),
    "cn_comma": re.compile(rf"({_CN})、"),                                     # 一、
    "cn_paren": re.compile(rf"[（(]({_CN})[）)]"),                              # （一）
    "arabic": re.compile(r"(\d{1,2})(?:、|[.．](?!\d))(?!\d)"),                # 1、 1.
    "arabic_paren": re.compile(r"[（(](\d{1,2})[）)]"),                         # (1)
    "cn_topic": re.compile(rf"({_CN})(?:是|要|抓|在|来|则)"),                   # 一是 二要 三抓
    "cn_ordinal": re.compile(rf"第({_CN}|\d{{1,2}})(?:[,，、:：]|是|要|点|条|方面)"),  # 第一，
    "en_ordinal": re.compile(rf"\b({'|'.join(EN_ORDINALS)})(?:ly)?\b", re.IGNORECASE),  # first, secondly
    "circled": re.compile(f"([{_CIRCLED}])"),                                  # ①
    "sequence": re.compile(r"(首先|其次|再次|再者|最后)(?=[,，、:：]|[^\W\d_])"),        # 首先 其次 最后
}

# The position of 最后 ("finally"): whatever number the list has reached.
LAST_ITEM = 1000
_SEQUENCE = {"首先": 1, "其次": 2, "再次": 3, "再者": 3, "最后": LAST_ITEM}

# Heading kinds, outermost first: their order ranks them in an outline.
HEADING_KINDS = ("chapter", "section", "cn_comma", "cn_paren", "arabic", "arabic_paren")
# Item kinds in the order they are tried: "一是" before "一、", so a topic
# item is not read as a heading-style number.
ITEM_KINDS = ("cn_topic", "cn_ordinal", "cn_paren", "arabic_paren", "cn_comma", "arabic", "en_ordinal", "circled",
              "sequence")

# An Arabic list number wherever running text puts one: at the start or
# after a colon or a blank, as 1、 1. 1) 1） (1). Such a number is a
# position, not a quantity (see rag.answer.expected).
RUNNING_LIST_NUMBER = re.compile(r"(?:^|(?<=[:：\s]))[(（]?\d{1,2}\s*[、.)）](?!\d)")

_CLAUSE_END = re.compile(r"[，,。；;！？!?]")
_COLON = re.compile(r"[:：]")


@dataclass(frozen=True)
class Marker:
    """A marker at a position of a text: its kind, its number (None when its
    numeral is not a number, "一二、"), and the offset just after it."""

    kind: str
    number: int | None
    end: int


@dataclass(frozen=True)
class Ordinal:
    """The kind and position of a list item."""

    kind: str
    number: int


def match_marker(text: str, pos: int = 0, limit: int | None = None,
                 kinds: tuple[str, ...] = ITEM_KINDS) -> Marker | None:
    """The marker of the first of ``kinds`` that matches at ``pos`` (before
    ``limit``), if any."""
    limit = len(text) if limit is None else limit
    for kind in kinds:
        m = _PATTERNS[kind].match(text, pos, limit)
        if m:
            return Marker(kind, _value(kind, m.group(1)), m.end())
    return None


def _value(kind: str, token: str) -> int | None:
    if kind == "circled":
        return ord(token) - 0x245F
    if kind == "sequence":
        return _SEQUENCE[token]
    return number_value(token)


def item_marker(text: str) -> tuple[Ordinal, str] | None:
    """The item marker a unit starts with — also after an introduction
    ending in a colon ("…以下三种形式:一是行政命令式") — and the item's label:
    what follows the marker up to the end of its clause ("一是行政命令式。"
    -> "行政命令式")."""
    head = text.lstrip()
    tail = _COLON.split(head, maxsplit=1)
    for part in [head] + ([tail[1].lstrip()] if len(tail) == 2 else []):
        marker = match_marker(part)
        if marker is not None and marker.number:
            label = _CLAUSE_END.split(part[marker.end:], maxsplit=1)[0].strip()
            return Ordinal(marker.kind, marker.number), label
    return None


def ordinal_of(text: str) -> Ordinal | None:
    """The item marker a unit starts with (see :func:`item_marker`), if any."""
    found = item_marker(text)
    return found[0] if found else None
