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

from ingest.records import Chunk, Sentence
from lang.enumeration import Ordinal, item_marker, ordinal_of
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


def gather_list(chosen: list[ScoredUnit], scored: list[ScoredUnit], config: Config,
                documents_text: DocumentsText | None) -> list[ScoredUnit]:
    """For a list question: the items of the enumeration the best unit
    belongs to. Items are the units of the same paragraph that carry the
    next (or previous) markers of the same family ("一是…二是…三是"), or —
    for unnumbered lists — the adjacent units that open the same way
    ("既要…; 既要…"). At most ``answer_list_items`` units are quoted."""
    best = chosen[0]
    neighbourhood = _neighbourhood(best, scored, config, documents_text)
    index = next((i for i, s in enumerate(neighbourhood) if s.unit.start == best.unit.start), None)
    if index is None:
        return chosen
    items = _enumeration(neighbourhood, index)
    if len(items) <= 1:
        items = _parallel_run(neighbourhood, index)
    if len(items) <= 1:
        return chosen
    picked = items[: config.answer_list_items]
    if best.unit.start not in {s.unit.start for s in picked}:
        picked = [best] + picked[: config.answer_list_items - 1]
    return picked


def _enumeration(units_: list[ScoredUnit], index: int) -> list[ScoredUnit]:
    """The numbered items around ``units_[index]``: walk back to item 1 and
    forward while the next number of the same family turns up."""
    ordinal = ordinal_of(units_[index].unit.text)
    intro = units_[index].unit.text.rstrip().endswith((":", "："))
    if ordinal is None and not intro:
        return []
    if ordinal is None:           # an introduction: the list follows it
        after = [ordinal_of(s.unit.text) for s in units_[index + 1:]]
        first = next((o for o in after if o is not None and o.number == 1), None)
        if first is None:
            return []
        ordinal = Ordinal(first.kind, 0)
    items = {ordinal.number: units_[index]}
    want = ordinal.number - 1
    for s in reversed(units_[:index]):
        if want < 1:
            break
        o = ordinal_of(s.unit.text)
        if o is not None and o.kind == ordinal.kind and o.number == want:
            items[want] = s
            want -= 1
    want = ordinal.number + 1
    for s in units_[index + 1:]:
        o = ordinal_of(s.unit.text)
        if o is not None and o.kind == ordinal.kind:
            if o.number != want:
                break             # another list of the same family begins
            items[want] = s
            want += 1
    return [items[k] for k in sorted(items)]


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
