"""The items of a list: what a list answer quotes.

Chinese prose enumerates inside paragraphs ("一是…;二是…;三是…", "第一，…
第二，…", "(一)…(二)…") or without numbers, in clauses that open alike
("既要…;既要…"). A list question (哪些, 分为几种, what are: see
:mod:`lang.questions`) is answered with the items of the list its best
sentence belongs to, gathered across sentences and across the retrieved
passages, and — when the document's text is at hand — from just past them.
A question that names one item ("行政命令式的工作方法有什么表现？") is
answered with what the document says under that item.

The markers themselves are :mod:`lang.enumeration`'s.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ingest.records import Chunk, Sentence
from lang.enumeration import LAST_ITEM, item_marker, match_marker, ordinal_of
from lang.questions import asked_count
from lang.terms import recall, terms
from rag.answer.evidence import Candidate, DocumentsText, ScoredUnit
from rag.answer.units import units
from rag.config import Config
from rag.records import Hit


def elaborate_item(question: str, best: ScoredUnit, scored: list[ScoredUnit], config: Config,
                   documents_text: DocumentsText | None) -> list[ScoredUnit] | None:
    """When the best unit is an item header that the question names ("一是
    行政命令式。" for "行政命令式的工作方法有什么表现？"), the answer is what
    the document says under it: the header and the units after it, up to
    the next item of the same list (at most ``answer_sentences`` units).
    None when the best unit is not such a header."""
    found = item_marker(best.unit.text)
    if found is None:
        return None
    ordinal, label = found
    label_terms = terms(label)
    if not label_terms or recall(label_terms, terms(question)) < 1.0:
        return None
    neighbourhood = _neighbourhood(best, scored, config, documents_text)
    index = next((i for i, s in enumerate(neighbourhood) if s.unit.start == best.unit.start), None)
    if index is None:
        return None
    out = [best]
    for s in neighbourhood[index + 1:]:
        if len(out) >= config.answer_sentences:
            break
        o = ordinal_of(s.unit.text)
        if o is not None and o.kind == ordinal.kind:
            break
        out.append(s)
    return out if len(out) > 1 else None


@dataclass(frozen=True)
class GatheredList:
    """A list answer: what introduces the list (the best unit, when it
    stands before the list: a heading, "主要有以下几个方面："), then its items."""

    lead: list[ScoredUnit]
    items: list[ScoredUnit]


@dataclass(frozen=True)
class Enumeration:
    """A run of item markers of one kind counting up from 1 ("一是…二是…
    三是"), as indices into the units it was found in."""

    kind: str
    items: list[int]


def gather_list(question: str, chosen: list[ScoredUnit], scored: list[ScoredUnit], config: Config,
                documents_text: DocumentsText | None) -> GatheredList | None:
    """For a list question: the items of the enumeration the best unit
    belongs to, introduces or closes (within ``answer_list_reach`` units),
    preferring one with as many items as the question names ("哪三个结合");
    else the adjacent units that open alike ("既要…; 既要…") or the
    semicolon clauses of one sentence. At most ``answer_list_items`` items.
    None when no list is found."""
    best = chosen[0]
    neighbourhood = _neighbourhood(best, scored, config, documents_text)
    index = next((i for i, s in enumerate(neighbourhood) if s.unit.start == best.unit.start), None)
    if index is None:
        return None
    enumeration = _nearest_enumeration(question, neighbourhood, index, config)
    if enumeration is not None:
        items = [neighbourhood[i] for i in enumeration.items]
        lead = [best] if index < enumeration.items[0] else []
        return GatheredList(lead, items[: config.answer_list_items])
    items = _parallel_run(neighbourhood, index)
    if len(items) <= 1:
        items = _clauses_of_sentence(neighbourhood, index, documents_text)
    if len(items) <= 1:
        return None
    return GatheredList([], items[: config.answer_list_items])


def enumerations(units_: list[ScoredUnit]) -> list[Enumeration]:
    """Every run of item markers of one kind counting up from 1 in
    ``units_`` (reading order); units without a marker may stand between
    items (an item's own explanation). A marker 1 starts a new run; 最后
    closes one."""
    found: list[Enumeration] = []
    open_: dict[str, Enumeration] = {}
    for i, s in enumerate(units_):
        o = ordinal_of(s.unit.text)
        if o is None:
            continue
        current = open_.get(o.kind)
        if o.number == 1:
            open_[o.kind] = Enumeration(o.kind, [i])
            found.append(open_[o.kind])
        elif current is not None and (o.number == len(current.items) + 1 or o.number == LAST_ITEM):
            current.items.append(i)
            if o.number == LAST_ITEM:
                del open_[o.kind]
    return [e for e in found if len(e.items) >= 2]


def _nearest_enumeration(question: str, units_: list[ScoredUnit], index: int, config: Config) -> Enumeration | None:
    """The enumeration the unit at ``index`` is an item of, or introduces
    (the unit just before item 1); else, when the question names how many
    items it wants ("哪三种"), the enumeration of that many items within
    ``answer_list_reach`` units that shares most of the question's terms.
    An enumeration merely nearby is not the answer: the best unit may be
    the explanation under one of its items ("明确规定…的内容" under 五是)."""
    found = enumerations(units_)
    holding = [e for e in found if index in e.items or (index == e.items[0] - 1 and _introduces(units_, e))]
    if holding:
        return holding[0]
    wanted = asked_count(question)
    if wanted is None:
        return None

    def distance(e: Enumeration) -> int:
        first, last = e.items[0], e.items[-1]
        return 0 if first <= index <= last else (first - index if index < first else index - last)

    counted = [e for e in found if len(e.items) == wanted and distance(e) <= config.answer_list_reach]
    if not counted:
        return None
    asked = terms(question, question=True)

    def relevance(e: Enumeration) -> tuple[float, int]:
        text = " ".join(units_[i].unit.text for i in e.items)
        return recall(asked, terms(text)), -distance(e)

    return max(counted, key=relevance)


def _introduces(units_: list[ScoredUnit], e: Enumeration) -> bool:
    """Whether the unit before ``e``'s first item announces the list: it
    ends in a colon, or the first item opens with its own announcement
    ("概括起来主要有以下几个方面:一是…"), which the unit before leads up to."""
    before = units_[e.items[0] - 1].unit.text.rstrip()
    first = units_[e.items[0]].unit.text
    return before.endswith((":", "：")) or ordinal_of(first) is not None and match_marker(first.lstrip()) is None


def _clauses_of_sentence(units_: list[ScoredUnit], index: int, documents_text: DocumentsText | None
                         ) -> list[ScoredUnit]:
    """The clauses of the best unit's sentence that semicolons separate
    ("…的作风;树立…的作风;树立…"): units that only a semicolon parts."""
    if documents_text is None:
        return []
    text = documents_text(units_[index].hit.chunk.doc)

    def joined(a: ScoredUnit, b: ScoredUnit) -> bool:
        return a.unit.end <= b.unit.start and text[a.unit.end:b.unit.start].strip(" \u3000") in (";", "；")

    lo = index
    while lo > 0 and joined(units_[lo - 1], units_[lo]):
        lo -= 1
    hi = index
    while hi + 1 < len(units_) and joined(units_[hi], units_[hi + 1]):
        hi += 1
    return units_[lo:hi + 1] if hi - lo >= 2 else []


def _parallel_run(units_: list[ScoredUnit], index: int) -> list[ScoredUnit]:
    """Adjacent units opening with the same two characters as the item the
    best unit holds (after its colon, if it introduces the list): "既要…;
    既要…". The best unit may also lead a run that the next two units open
    alike, when it holds their opening word ("组工干部要树立…的作风; 树立…;
    树立…")."""
    def opening(text: str) -> str:
        body = re.split(r"[:：]", text, maxsplit=1)[-1].lstrip()
        key = "".join(ch for ch in body[:2] if ch.isalnum())
        return key if len(key) == 2 else ""

    best = units_[index].unit.text
    key = opening(best)
    following = [opening(s.unit.text) for s in units_[index + 1:index + 3]]
    leads = (len(following) == 2 and following[0] and following[0] == following[1] != key
             and following[0] in re.split(r"[,，。]", best, maxsplit=1)[0])
    if leads:
        key = following[0]
    if not key:
        return []
    run = [units_[index]]
    for s in units_[index + 1:]:
        if opening(s.unit.text) != key or ":" in s.unit.text or "：" in s.unit.text:
            break
        run.append(s)
    if not leads:
        for s in reversed(units_[:index]):
            if opening(s.unit.text) != key:
                break
            run.insert(0, s)
    return run


def _neighbourhood(best: ScoredUnit, scored: list[ScoredUnit], config: Config,
                   documents_text: DocumentsText | None) -> list[ScoredUnit]:
    """The units of the best unit's paragraph, in document order: from the
    document when its text is at hand (the list may run past the retrieved
    passages; units there are credited to the passage holding them, else to
    the best unit's), else from the retrieved passages of that document that
    join up with the best unit's (no gap, no line break in between)."""
    doc = best.hit.chunk.doc
    known = {s.unit.start: s for s in scored if s.hit.chunk.doc == doc}
    if documents_text is not None:
        text = documents_text(doc)
        reach = config.chunk_size * config.answer_list_items
        lo = max(text.rfind("\n", 0, best.unit.start) + 1, best.unit.start - reach)
        hi = text.find("\n", best.unit.end)
        hi = min(len(text) if hi < 0 else hi, best.unit.end + reach)
        out = []
        for unit in units(text[lo:hi], lo):
            if unit.start in known:
                out.append(known[unit.start])
            else:
                out.append(ScoredUnit(Candidate(unit, _covering_hit(unit, scored, best)),
                                      cosine=0.0, lexical=0.0, evidence=0.0, score=0.0))
        return out
    lo, hi = _joined_span(best, [s.hit.chunk for s in scored if s.hit.chunk.doc == doc])
    breaks = {s.hit.chunk.start + m.start() for s in scored if s.hit.chunk.doc == doc
              for m in re.finditer(r"\n", s.hit.chunk.text)}
    lo = max([lo] + [b + 1 for b in breaks if b < best.unit.start])
    hi = min([hi] + [b for b in breaks if b >= best.unit.end])
    return sorted((s for s in known.values() if lo <= s.unit.start and s.unit.end <= hi), key=lambda s: s.unit.start)


def _joined_span(best: ScoredUnit, chunks: list[Chunk]) -> tuple[int, int]:
    """The stretch of the document that the given chunks cover without a gap
    around the best unit (neighbouring chunks overlap by a sentence)."""
    lo, hi = best.hit.chunk.start, best.hit.chunk.end
    grew = True
    while grew:
        grew = False
        for c in chunks:
            if c.start <= hi and c.end >= lo and (c.start < lo or c.end > hi):
                lo, hi = min(lo, c.start), max(hi, c.end)
                grew = True
    return lo, hi


def _covering_hit(unit: Sentence, scored: list[ScoredUnit], best: ScoredUnit) -> Hit:
    """The retrieved passage that contains ``unit``, else the best unit's."""
    for s in scored:
        c = s.hit.chunk
        if c.doc == best.hit.chunk.doc and c.start <= unit.start and unit.end <= c.end:
            return s.hit
    return best.hit
