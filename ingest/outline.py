"""The section path of every offset of a Document, and where its body starts.

Headings come from the format (Markdown, Word, HTML) or, for plain text, from
:mod:`ingest.headings`; the body starts after the front matter. The outline
is computed once per document text (cached) and read by the chunker and by
anyone asking which section an offset is in.
"""

from __future__ import annotations

import bisect
import functools
from dataclasses import dataclass

from ingest.front_matter import front_matter
from ingest.headings import ScopedHeading, scoped_headings
from ingest.records import Document, Heading


@dataclass(frozen=True)
class _Boundary:
    """From ``offset`` on (until the next boundary) the section is ``path``."""

    offset: int
    path: str
    hard: bool      # a new top-level section: chunks never cross it


@dataclass(frozen=True)
class Outline:
    body_start: int
    headings: tuple[Heading, ...]       # of the body, in order
    boundaries: tuple[_Boundary, ...]

    @functools.cached_property
    def offsets(self) -> list[int]:
        return [b.offset for b in self.boundaries]

    def index_at(self, offset: int) -> int:
        """Index of the boundary in force at offset, -1 before the first."""
        return bisect.bisect_right(self.offsets, offset) - 1

    def path_at(self, offset: int) -> str:
        i = self.index_at(offset)
        return self.boundaries[i].path if i >= 0 else ""


def document_outline(doc: Document) -> Outline:
    return _outline_of(doc.text, doc.title, doc.headings)


@functools.lru_cache(maxsize=32)
def _outline_of(text: str, title: str, given: tuple[Heading, ...]) -> Outline:
    body_start = front_matter(text, title).body_start
    if given:
        found = [ScopedHeading(h) for h in sorted(given, key=lambda h: (h.start, h.end)) if h.start >= body_start]
        found = _without_overlaps(found)
    else:
        found = scoped_headings(text, body_start, len(text))
    levels = sorted({f.heading.level for f in found})
    hard_levels = set(levels[:2])

    events: list[tuple[int, int, ScopedHeading]] = []    # offset, 0 = close / 1 = open, heading
    for f in found:
        events.append((f.heading.start, 1, f))
        if f.scope_end is not None:
            events.append((f.scope_end, 0, f))
    events.sort(key=lambda e: (e[0], e[1]))

    stack: list[ScopedHeading] = []
    boundaries: list[_Boundary] = []
    for offset, kind, f in events:
        if kind == 1:
            while stack and stack[-1].heading.level >= f.heading.level:
                stack.pop()
            stack.append(f)
            hard = f.heading.level in hard_levels
        else:
            if f not in stack:
                continue
            del stack[stack.index(f):]
            hard = False
        path = " > ".join(s.heading.title for s in stack)
        if boundaries and boundaries[-1].offset == offset:
            hard = hard or boundaries[-1].hard
            boundaries.pop()
        boundaries.append(_Boundary(offset, path, hard))
    return Outline(body_start, tuple(f.heading for f in found), tuple(boundaries))


def _without_overlaps(found: list[ScopedHeading]) -> list[ScopedHeading]:
    kept: list[ScopedHeading] = []
    for f in found:
        if not kept or f.heading.start >= kept[-1].heading.end:
            kept.append(f)
    return kept


def section_at(doc: Document, offset: int) -> str:
    """The section path (heading titles joined by " > ") at ``offset`` of
    ``doc``; "" before the first heading. Cached per document text."""
    return document_outline(doc).path_at(offset)


def body_start(doc: Document) -> int:
    """Offset where the body of ``doc`` starts, after its front matter."""
    return document_outline(doc).body_start
