"""Numbered headings of plain text (``第一章``, ``一、``, ``(一)``, ``1、``).

A .txt file (or a scrape that merged its lines) has no heading markup, so its
sections are recognised from the numbering of its lines and sentences; the
outline (:mod:`ingest.outline`) uses them when the format gave none.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.records import Heading, Sentence
from ingest.sentences import split_sentences
from lang.enumeration import HEADING_KINDS, Marker, match_marker
from lang.scripts import is_ideograph

# Kinds of numbered headings (lang.enumeration), outermost first; their rank orders them.
_RANK = {kind: i for i, kind in enumerate(HEADING_KINDS)}
# List-like kinds found inside a paragraph are run-in items ("…。1、…。2、…"):
# their section ends with the paragraph.
_RUN_IN_KINDS = {"arabic", "arabic_paren"}
_CLAUSE_END = re.compile(r"[，,：:；;]")
INLINE_HEADING_MAX_CHARS = 60    # longer "headings" inside a paragraph are sentences
HEADING_TITLE_MAX_CHARS = 60


@dataclass(frozen=True)
class _Candidate:
    start: int
    end: int
    kind: str
    title: str
    scope_end: int | None


@dataclass(frozen=True)
class ScopedHeading:
    """A heading with what the outline needs beyond the record."""

    heading: Heading
    scope_end: int | None = None    # where a run-in item's section ends


def detect_headings(text: str, start: int = 0, end: int | None = None) -> list[Heading]:
    """Numbered headings of plain text: ``第X章``/``第X节``, ``一、``,
    ``(一)``/``（一）``, ``1、``/``1.``, ``(1)``; levels are assigned by rank
    among the kinds the text uses (so ``一、`` is level 1 when there are no
    chapters). See :func:`scoped_headings` for the rules."""
    return [f.heading for f in scoped_headings(text, start, len(text) if end is None else end)]


def scoped_headings(text: str, start: int, end: int) -> list[ScopedHeading]:
    """At a line start any numbered line is a heading. Inside a paragraph
    (a scrape merged the line break away: "…保证作用。1、领导班子…") it is one
    only when it follows a sentence end, is short, and continues the
    numbering: the next number of a kind already open in this part of the
    outline, or 1 of a kind deeper than the current heading.

    A heading ends at its line end or its first sentence end. When its first
    clause runs into a comma instead, the scrape glued heading and body
    together; the body then usually restates the heading's last words
    ("三、以…创新组织工作方式方法创新组织工作方式方法,必须…"), and the
    heading ends where that repetition starts.
    """
    raw: list[_Candidate] = []
    last: dict[str, int] = {}        # last number of each open kind
    open_rank = -1                   # rank of the innermost open heading
    for line_start, line_end in _line_spans(text, start, end):
        sentences = split_sentences(text, line_start, line_end)
        for k, sentence in enumerate(sentences):
            marker = _match_kind(text, sentence.start, line_end)
            if marker is None:
                continue
            kind, number = marker.kind, marker.number
            inline = k > 0
            h_end = _heading_end(text, sentence, marker.end)
            if inline:
                expected = last.get(kind, 0) + 1
                deeper = _RANK[kind] > open_rank
                if h_end - sentence.start > INLINE_HEADING_MAX_CHARS:
                    continue
                if number != expected or (number == 1 and not deeper):
                    continue
            title = _heading_title(text[sentence.start:h_end])
            scope_end = line_end if inline and kind in _RUN_IN_KINDS else None
            raw.append(_Candidate(sentence.start, h_end, kind, title, scope_end))
            last[kind] = number
            for other in list(last):
                if _RANK[other] > _RANK[kind]:
                    del last[other]
            open_rank = _RANK[kind]
        if raw and raw[-1].scope_end == line_end:
            # The run-in items closed with their paragraph: a later list in
            # this section starts again at 1, under the enclosing heading.
            for kind in _RUN_IN_KINDS:
                last.pop(kind, None)
            open_rank = max((_RANK[kind] for kind in last), default=-1)
    kinds = sorted({c.kind for c in raw}, key=_RANK.__getitem__)
    level = {kind: i + 1 for i, kind in enumerate(kinds)}
    return [ScopedHeading(Heading(c.start, c.end, level[c.kind], c.title), c.scope_end) for c in raw]


def _line_spans(text: str, start: int, end: int):
    pos = start
    while pos < end:
        nl = text.find("\n", pos, end)
        stop = end if nl < 0 else nl
        yield pos, stop
        pos = stop + 1


def _match_kind(text: str, pos: int, limit: int) -> Marker | None:
    """The numbered heading marker at ``pos`` (``一、``, ``(二)``, ``3.``), if there is one."""
    marker = match_marker(text, pos, limit, HEADING_KINDS)
    if marker is None or marker.number is None or not text[marker.end:limit].strip():
        return None   # a bare number on a line is not a heading
    return marker


def _heading_end(text: str, sentence: Sentence, marker_end: int) -> int:
    clause = _CLAUSE_END.search(text, marker_end, sentence.end)
    if clause is None:
        return sentence.end
    # Only a heading-sized clause is worth the (cubic) search for a repeat.
    if clause.start() - marker_end > INLINE_HEADING_MAX_CHARS * 2:
        return sentence.end
    split = _repeat_split(text[marker_end:clause.start()])
    return marker_end + split if split else sentence.end


def _repeat_split(clause: str) -> int:
    """Where a doubled run of Chinese (XX, |X| >= 3) starts its second half:
    the longest such run wins. 0 when there is none."""
    n = len(clause)
    for length in range(n // 2, 2, -1):
        for k in range(2, n - 2 * length + 1):   # leave the heading at least 2 characters
            x = clause[k:k + length]
            if clause[k + length:k + 2 * length] == x and all(is_ideograph(c) for c in x):
                return k + length
    return 0


def _heading_title(span: str) -> str:
    title = span.strip().rstrip("。．.；;：:，,")
    if len(title) > HEADING_TITLE_MAX_CHARS:
        title = title[:HEADING_TITLE_MAX_CHARS].rstrip() + "…"
    return title
