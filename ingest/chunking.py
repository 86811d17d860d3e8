"""A Document to chunks: its body sentences packed to about a size.

Everything here indexes ``Document.text`` as loaded: a chunk is a
``(start, end)`` span of it, so ``doc.text[c.start:c.end] == c.text`` holds
exactly and citations can be shown in place. Nothing is normalised.

Chunks are built from whole sentences ("units", :mod:`ingest.sentences`):
headings and sentences of the body, which starts after the document's front
matter (title line, ``时间:…`` metadata lines; see :mod:`ingest.front_matter`).
A chunk never spans two top-level sections (the two shallowest heading levels
of the document, :mod:`ingest.outline`), so every chunk has one honest
section path; deeper headings (``1、`` items) start a new chunk only when the
current one is already half full, so that a list of short items does not
become a list of tiny chunks.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingest.outline import Outline, document_outline
from ingest.records import Chunk, Document
from ingest.sentences import split_sentences


@dataclass(frozen=True)
class _Unit:
    """A sentence, piece of an over-long sentence, or heading: what chunks are made of."""

    start: int
    end: int
    heading: bool
    boundary: int       # index of the outline boundary in force


@dataclass
class _Draft:
    units: list[_Unit]
    overlap: int        # leading units repeated from the previous chunk

    @property
    def start(self) -> int:
        return self.units[0].start

    @property
    def end(self) -> int:
        return self.units[-1].end


def chunk_document(doc: Document, chunk_size: int, overlap: int, first_id: int = 0) -> list[Chunk]:
    """Pack the body sentences of ``doc`` into chunks of about ``chunk_size``
    characters, repeating ``overlap`` trailing sentences of a chunk at the
    start of the next one in the same section. Ids run from ``first_id``.
    (The sizes have no defaults here: ``rag.config.Config`` holds them.)

    Sentences are never cut unless longer than twice ``chunk_size`` (then at
    commas, else hard). A heading is the first unit of its section's first
    chunk. ``text == doc.text[start:end]`` for every chunk.
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be positive, got {chunk_size}")
    outline = document_outline(doc)
    units = _units(doc.text, outline, chunk_size)
    drafts = _pack(units, outline, chunk_size, max(0, overlap))
    chunks = []
    for i, d in enumerate(drafts):
        first_own = d.units[d.overlap] if d.overlap < len(d.units) else d.units[0]
        chunks.append(Chunk(
            id=first_id + i,
            doc=doc.path,
            title=doc.title,
            section=outline.boundaries[first_own.boundary].path if first_own.boundary >= 0 else "",
            start=d.start,
            end=d.end,
            text=doc.text[d.start:d.end],
            page=doc.page_at(d.start),
        ))
    return chunks


def _units(text: str, outline: Outline, chunk_size: int) -> list[_Unit]:
    spans: list[tuple[int, int, bool]] = []
    pos = outline.body_start
    for h in outline.headings:
        if h.start > pos:
            spans.extend((s.start, s.end, False) for s in split_sentences(text, pos, h.start))
        s = split_sentences(text, h.start, h.end)
        if s:
            # A heading spanning lines (setext Markdown) is still one unit.
            spans.append((s[0].start, s[-1].end, True))
        pos = max(pos, h.end)
    spans.extend((s.start, s.end, False) for s in split_sentences(text, pos, len(text)))

    units = []
    for start, end, heading in spans:
        pieces = [(start, end)] if heading or end - start <= 2 * chunk_size else _pieces(text, start, end, chunk_size)
        for a, b in pieces:
            units.append(_Unit(a, b, heading, outline.index_at(a)))
    return units


_SOFT_BREAKS = ("，,；;：:", "、", " \t")


def _pieces(text: str, start: int, end: int, size: int) -> list[tuple[int, int]]:
    """Cut an over-long sentence into pieces of at most ``size``: after the
    last comma that fits (then 、, then a space), else hard at ``size``."""
    pieces = []
    pos = start
    while end - pos > size:
        cut = 0
        for chars in _SOFT_BREAKS:
            cut = max(text.rfind(c, pos + size // 3, pos + size) for c in chars) + 1
            if cut > 0:
                break
        if cut <= 0:
            cut = pos + size
        pieces.append((pos, cut))
        pos = cut
    pieces.append((pos, end))
    # Cuts at spaces leave whitespace at the edges; spans are stripped.
    out = []
    for a, b in pieces:
        while a < b and text[a].isspace():
            a += 1
        while b > a and text[b - 1].isspace():
            b -= 1
        if a < b:
            out.append((a, b))
    return out


def _pack(units: list[_Unit], outline: Outline, size: int, overlap: int) -> list[_Draft]:
    drafts: list[_Draft] = []
    cur = _Draft([], 0)
    soft_min = size // 2

    def close() -> None:
        own = cur.units[cur.overlap:]
        if not own:
            return   # nothing but repeated sentences: not a chunk
        prev = drafts[-1] if drafts else None
        if (cur.overlap and prev is not None and own[-1].end - own[0].start < size // 4
                and own[-1].end - prev.start <= size * 3 // 2):
            prev.units.extend(own)   # a short tail reads better with what it follows
            return
        drafts.append(cur)

    for u in units:
        if cur.units:
            last = cur.units[-1]
            changed = u.boundary != last.boundary
            hard = changed and any(outline.boundaries[b].hard for b in range(last.boundary + 1, u.boundary + 1))
            span = last.end - cur.start
            if hard or (changed and span >= soft_min):
                close()
                cur = _Draft([], 0)
            elif _has_body(cur) and not _fits(span, u.end - cur.start, size):
                close()
                tail = _overlap_tail(cur.units, u, overlap, size)
                cur = _Draft(tail, len(tail))
        cur.units.append(u)
    close()
    return drafts


def _has_body(d: _Draft) -> bool:
    return any(not u.heading for u in d.units[d.overlap:])


def _fits(span: int, new_span: int, size: int) -> bool:
    # Take the sentence when it keeps the chunk within size, or brings it
    # closer to size than stopping short would (within half a size over).
    return new_span <= size or (new_span - size < size - span and new_span <= size * 3 // 2)


def _overlap_tail(units: list[_Unit], nxt: _Unit, overlap: int, size: int) -> list[_Unit]:
    """The last ``overlap`` sentences, when in nxt's section and short enough
    that the next chunk is not mostly repetition."""
    tail: list[_Unit] = []
    # Never the whole chunk: repeating all of it would make it a part of the next.
    for u in reversed(units[1:]):
        if len(tail) == overlap or u.heading or u.boundary != nxt.boundary:
            break
        if u.end - u.start + sum(t.end - t.start for t in tail) > size // 2:
            break
        tail.insert(0, u)
    return tail
