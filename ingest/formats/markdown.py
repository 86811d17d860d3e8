"""Markdown: the text as written, and its ATX and setext headings.

The text of a .md file is the decoded file unchanged (offsets index it), so
this parser only finds the headings, outside fenced code blocks.
"""

from __future__ import annotations

import re

from ingest.decoding import decode_text
from ingest.formats import Parsed
from ingest.lines import iter_lines
from ingest.records import Heading

_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")


def parse(data: bytes, name: str) -> Parsed:
    text = decode_text(data, name)
    return Parsed(text=text, headings=tuple(markdown_headings(text)))


def markdown_headings(text: str) -> list[Heading]:
    """ATX (``## Title``) and setext (``Title`` over ``===``) headings outside
    fenced code blocks; a heading's span is its line (both lines for setext)."""
    headings: list[Heading] = []
    fence: str | None = None
    prev: tuple[int, int, str] | None = None   # start, end, stripped text of the previous plain line
    for start, end, line in iter_lines(text):
        stripped = line.strip()
        m = _FENCE.match(line)
        if fence is not None:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence):
                fence = None
            prev = None
            continue
        if m:
            fence = m.group(1)
            prev = None
            continue
        m = _ATX.match(line)
        if m:
            title = (m.group(2) or "").strip()
            if title:
                s = start + (len(line) - len(line.lstrip()))
                headings.append(Heading(s, start + len(line.rstrip()), len(m.group(1)), title))
            prev = None
            continue
        m = _SETEXT.match(line)
        if m and prev is not None:
            level = 1 if m.group(1)[0] == "=" else 2
            headings.append(Heading(prev[0], start + len(line.rstrip()), level, prev[2]))
            prev = None
            continue
        # A list item or quote over "---" is a thematic break, not a heading.
        prev = (start + len(line) - len(line.lstrip()), end, stripped) \
            if stripped and not re.match(r"^([-*+>]|\d+[.)])\s", stripped) else None
    return headings
