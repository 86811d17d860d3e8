"""A Document to sentences, sections and chunks.

Everything here indexes ``Document.text`` as loaded: a sentence or chunk is a
``(start, end)`` span of it, so ``doc.text[c.start:c.end] == c.text`` holds
exactly and citations can be shown in place. Nothing is normalised.

Chunks are built from whole sentences ("units"): headings and sentences of the
body, which starts after the document's front matter (title line, ``时间:…``
metadata lines; see :func:`ingest.loaders.front_matter`). A chunk never spans
two top-level sections (the two shallowest heading levels of the document),
so every chunk has one honest section path; deeper headings (``1、`` items)
start a new chunk only when the current one is already half full, so that a
list of short items does not become a list of tiny chunks.
"""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass

from ingest.loaders import front_matter
from ingest.records import Chunk, Document, Heading, Sentence
from lang.enumeration import HEADING_KINDS, Marker, match_marker
from lang.scripts import is_ideograph

# --- sentences -------------------------------------------------------------

# Characters that end a sentence. ASCII ones count only in context (see
# _ends_here): scraped Chinese text often carries ASCII punctuation.
_ENDERS = "。！？；…!?;.．"
# Closers that belong to the sentence they close: 他说：“走吧。” is one sentence.
_CLOSERS = "”’」』）)》〉】]\"'"
_QUOTE_OPEN = "“「『"
_QUOTE_CLOSE = "”」』"
# A 。 inside “…” does not end the sentence: the quote is part of it. But a
# quote that stays open this long is a long quotation or a lost closing mark
# (scrapes drop them), and one "sentence" of a whole paragraph helps no one.
QUOTE_MAX_CHARS = 120

_INTERESTING = re.compile("[\n\r" + re.escape(_ENDERS + _QUOTE_OPEN + _QUOTE_CLOSE) + "]")
_LIST_MARKER = re.compile(r"\d{1,3}|[A-Za-z]|[ivxlcIVXLC]{1,5}")
_ABBREVIATIONS = frozenset({"mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs", "etc", "inc", "ltd",
                            "co", "no", "fig", "vol", "pp", "al", "approx", "dept", "e.g", "i.e"})
_LAST_WORD = re.compile(r"([A-Za-z][A-Za-z.]*)$")


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[Sentence]:
    """Sentences of ``text[start:end]``, with offsets into ``text``.

    Splits after 。！？；… (and runs of them, "……", "？！"), after ASCII
    ``. ! ?`` followed by whitespace (or ``! ? ;`` between Chinese characters,
    as scrapes write them), and at every line break. Closing quotes and
    brackets stay with the sentence they close; a sentence end inside an
    open Chinese quote “…” does not split unless the quote has been open for
    more than QUOTE_MAX_CHARS. Spans are stripped of surrounding whitespace;
    empty ones are dropped. Pure and linear: also used at query time.
    """
    end = len(text) if end is None else min(end, len(text))
    out: list[Sentence] = []
    seg = start
    depth = 0
    quote_at = 0
    skip_to = start
    for m in _INTERESTING.finditer(text, start, end):
        i = m.start()
        if i < skip_to:
            continue
        c = text[i]
        if c == "\n" or c == "\r":
            _emit(text, seg, i, out)
            seg = i + 1
            depth = 0
            continue
        if c in _QUOTE_OPEN:
            if depth == 0:
                quote_at = i
            depth += 1
            continue
        if c in _QUOTE_CLOSE:
            depth = max(0, depth - 1)
            continue
        if not _ends_here(text, i, seg, end):
            continue
        j = i + 1
        while j < end and text[j] in _ENDERS:
            j += 1
        while j < end and text[j] in _CLOSERS:
            if text[j] in _QUOTE_CLOSE:
                depth = max(0, depth - 1)
            j += 1
        skip_to = j
        if depth > 0 and i - quote_at <= QUOTE_MAX_CHARS:
            continue
        _emit(text, seg, j, out)
        seg = j
        depth = 0
    _emit(text, seg, end, out)
    return out


def _ends_here(text: str, i: int, seg: int, end: int) -> bool:
    c = text[i]
    if c in "。！？；…":
        return True
    if c == "．":   # a full stop in some Chinese typesetting, but also "1．" of a list
        return not _LIST_MARKER.fullmatch(text[seg:i].strip())
    nxt = text[i + 1] if i + 1 < end else ""
    if c == ".":
        # "3.5", "e.g. the", and the "1." of a numbered list are not ends.
        if nxt and not nxt.isspace() and nxt not in _CLOSERS:
            return False
        if _LIST_MARKER.fullmatch(text[seg:i].strip()):
            return False
        word = _LAST_WORD.search(text, max(seg, i - 12), i)
        if word and word.group(1).lower() in _ABBREVIATIONS:
            return False
        after = text[i + 1:i + 3].lstrip()
        return not (after and after[0].islower())
    # ! ? ; : an end before whitespace, or between Chinese characters (where
    # a scrape turned ！？； into ASCII).
    if not nxt or nxt.isspace() or nxt in _CLOSERS:
        return True
    return is_ideograph(nxt) and i > 0 and is_ideograph(text[i - 1])


def _emit(text: str, a: int, b: int, out: list[Sentence]) -> None:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    if a < b:
        out.append(Sentence(a, b, text[a:b]))


# --- headings of plain text ------------------------------------------------

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
class _Found:
    """A heading with what the outline needs beyond the record."""

    heading: Heading
    scope_end: int | None = None    # where a run-in item's section ends


def detect_headings(text: str, start: int = 0, end: int | None = None) -> list[Heading]:
    """Numbered headings of plain text: ``第X章``/``第X节``, ``一、``,
    ``(一)``/``（一）``, ``1、``/``1.``, ``(1)``; levels are assigned by rank
    among the kinds the text uses (so ``一、`` is level 1 when there are no
    chapters). See :func:`_detect` for the rules."""
    return [f.heading for f in _detect(text, start, len(text) if end is None else end)]


def _detect(text: str, start: int, end: int) -> list[_Found]:
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
    return [_Found(Heading(c.start, c.end, level[c.kind], c.title), c.scope_end) for c in raw]


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


# --- outline: the section path of every offset ----------------------------


@dataclass(frozen=True)
class _Boundary:
    """From ``offset`` on (until the next boundary) the section is ``path``."""

    offset: int
    path: str
    hard: bool      # a new top-level section: chunks never cross it


@dataclass(frozen=True)
class _Outline:
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


def _outline(doc: Document) -> _Outline:
    return _outline_of(doc.text, doc.title, doc.headings)


@functools.lru_cache(maxsize=32)
def _outline_of(text: str, title: str, given: tuple[Heading, ...]) -> _Outline:
    body_start = front_matter(text, title).body_start
    if given:
        found = [_Found(h) for h in sorted(given, key=lambda h: (h.start, h.end)) if h.start >= body_start]
        found = _without_overlaps(found)
    else:
        found = _detect(text, body_start, len(text))
    levels = sorted({f.heading.level for f in found})
    hard_levels = set(levels[:2])

    events: list[tuple[int, int, _Found]] = []    # offset, 0 = close / 1 = open, heading
    for f in found:
        events.append((f.heading.start, 1, f))
        if f.scope_end is not None:
            events.append((f.scope_end, 0, f))
    events.sort(key=lambda e: (e[0], e[1]))

    stack: list[_Found] = []
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
    return _Outline(body_start, tuple(f.heading for f in found), tuple(boundaries))


def _without_overlaps(found: list[_Found]) -> list[_Found]:
    kept: list[_Found] = []
    for f in found:
        if not kept or f.heading.start >= kept[-1].heading.end:
            kept.append(f)
    return kept


def section_at(doc: Document, offset: int) -> str:
    """The section path (heading titles joined by " > ") at ``offset`` of
    ``doc``; "" before the first heading. Cached per document text."""
    return _outline(doc).path_at(offset)


def body_start(doc: Document) -> int:
    """Offset where the body of ``doc`` starts, after its front matter."""
    return _outline(doc).body_start


# --- chunks ----------------------------------------------------------------


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
    outline = _outline(doc)
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


def _units(text: str, outline: _Outline, chunk_size: int) -> list[_Unit]:
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


def _pack(units: list[_Unit], outline: _Outline, size: int, overlap: int) -> list[_Draft]:
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
