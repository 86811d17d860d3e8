"""Extractive answering: quote the sentences of the retrieved passages that
best answer the question, each followed by its ``[n]`` citation — or say
plainly that the documents do not answer it.

Every statement of an extractive answer is a verbatim span of a document
(``document.text[start:end] == citation.text``), so it is supported by
construction; :func:`answer_from_generated` does the same bookkeeping for an
LLM's reply, whose statements :mod:`rag.answer.verify` has to check.

Scoring a sentence (a "unit": a sentence, or a clause of a long one cut at a
semicolon, see :mod:`rag.answer.units`):

    evidence = cosine(query, unit) + answer_lexical_weight * recall(question terms, unit)
               (+ answer_crosslingual_bonus instead, for a unit in another script)
    score    = evidence + answer_rank_weight / hit rank

The cosine (e5, ``query:``/``passage:`` prefixes) finds paraphrases and
translations; the lexical recall (CJK character bigrams of the question's
content words found in the unit) rewards the sentence that names what was
asked. ``evidence_score`` — the best evidence over all units — is the one
number compared with ``abstain_threshold``.

A question that asks for a number or a date (how many, when: see
:mod:`rag.answer.expected`) is abstained on as well when none of the sentences
the answer would quote holds one: the documents mention the topic but do not
give the fact asked for (``answer_type_check``).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Callable, Iterable, Sequence

import numpy as np

from rag.answer.about_document import answers_field, asked_field, front_matter_lines
from rag.answer.expected import ExpectedAnswer, expected_answer, satisfies
from rag.config import Config
from rag.models.embedder import Embedder
from lang.terms import fold, is_chinese, recall, terms
from ingest.records import Chunk, Sentence
from rag.records import Answer, Citation, Hit, Statement
from rag.answer.units import units
from rag.answer.short import extract_short_answer, is_fact_question
from rag.answer.verify import MARKER, is_trivial, passage_texts, split_statements, verify_statements

NO_ANSWER_ZH = "文档中没有找到这个问题的答案。以下是最相关的段落："
NO_ANSWER_EN = "The documents do not answer this question. The nearest passages are below."
# Why an answer abstained although the passages are on topic: the question
# asks for a number or a date that none of the quoted sentences holds.
MISSING_ZH = {ExpectedAnswer.NUMBER: "文档提到了这个话题，但没有给出所问的数字。",
              ExpectedAnswer.DATE: "文档提到了这个话题，但没有给出所问的日期或时间。",
              ExpectedAnswer.ORDINAL: "文档提到了这个话题，但没有说明是第几。"}
MISSING_EN = {ExpectedAnswer.NUMBER: "The documents mention this topic but do not give the number asked for.",
              ExpectedAnswer.DATE: "The documents mention this topic but do not give the date asked for.",
              ExpectedAnswer.ORDINAL: "The documents mention this topic but do not say which in order."}

DocumentsText = Callable[[str], str]

# Questions that ask for several items, so the answer gathers a list.
_LIST_QUESTION = re.compile(r"哪些|哪几|哪[两二三四五六七八九十]|有什么|有何|包括什么|包含什么|几个方面|几种|"
                            r"\bwhat are\b|\bwhich\b|\blist\b|\bname the\b|\bwhat kinds?\b|\bwhat types?\b",
                            re.IGNORECASE)
_TERMINAL = "。！？!?.…:：”」』）)\"'"

# Enumeration markers of one family share a pattern; the number is the item's
# position. "一是/二要/三抓", "第一/第二", "(一)/(二)", "1、/2." and "first/second".
_ZH_DIGITS = "一二三四五六七八九十"
_ORDINAL_FAMILIES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("shi", re.compile(rf"([{_ZH_DIGITS}]{{1,2}})(?:是|要|抓|在|来|则)")),
    ("di", re.compile(rf"第([{_ZH_DIGITS}]{{1,2}}|\d{{1,2}})(?:[,，、:：]|是|要|点|条|方面)")),
    ("paren", re.compile(rf"[(（]([{_ZH_DIGITS}]{{1,2}}|\d{{1,2}})[)）]")),
    ("dun", re.compile(rf"([{_ZH_DIGITS}]{{1,2}})、")),
    ("digit", re.compile(r"(?<![\d.])(\d{1,2})\s*[、.)](?!\d)")),
    ("en", re.compile(r"\b(first|second|third|fourth|fifth|sixth)(?:ly)?\b", re.IGNORECASE)),
)
_EN_ORDINALS = {"first": 1, "second": 2, "third": 3, "fourth": 4, "fifth": 5, "sixth": 6}


@dataclass(frozen=True)
class Candidate:
    """A unit of a retrieved passage, with the hit it came from."""

    unit: Sentence
    hit: Hit

    @property
    def key(self) -> tuple[str, int]:
        return (self.hit.chunk.doc, self.unit.start)


@dataclass(frozen=True)
class ScoredUnit:
    """A candidate unit and how well it answers the question."""

    candidate: Candidate
    cosine: float
    lexical: float
    evidence: float
    score: float

    @property
    def unit(self) -> Sentence:
        return self.candidate.unit

    @property
    def hit(self) -> Hit:
        return self.candidate.hit


@dataclass(frozen=True)
class Evidence:
    """What decides whether an extractive answer abstains: the best evidence
    (compared with ``abstain_threshold``) and the form the question asks for
    when none of the sentences the answer would quote gives it."""

    score: float
    missing: ExpectedAnswer | None


@dataclass(frozen=True)
class Ordinal:
    """An enumeration marker found at the start of a unit."""

    family: str
    number: int


# --- public API --------------------------------------------------------------

def compose_answer(question: str, hits: list[Hit], embedder: Embedder, config: Config, *,
                   documents_text: DocumentsText | None = None) -> Answer:
    """An extractive answer to ``question`` from ``hits`` (best first).

    ``documents_text(path)`` gives a document's full text; with it, a list
    answer can gather items that lie just past the retrieved passages, a
    question about the document itself (its title, date) can quote its
    front matter, and every quoted span is checked against the document.
    """
    scored = score_units(question, hits, embedder, config, documents_text=documents_text)
    confidence = max((s.evidence for s in scored), default=0.0)
    if not scored or confidence < config.abstain_threshold:
        return abstention(question, hits, confidence)
    chosen = choose_units(question, scored, config, documents_text)
    answer, citations = write_answer(question, chosen, documents_text)
    if not citations:
        return abstention(question, hits, confidence)
    missing = missing_form(question, [c.text for c in citations])
    if missing is not None and config.answer_type_check:
        return abstention(question, hits, confidence, missing)
    statements = [Statement(text=c.text, citations=(c.n,)) for c in citations]
    statements = verify_statements(statements, {c.n: c.text for c in citations}, embedder, config)
    best = max(scored, key=lambda s: s.score)
    short = extract_short_answer(question, best.unit.text) if is_fact_question(question) else None
    return Answer(question=question, answer=answer, abstained=False, citations=citations, hits=list(hits),
                  statements=statements, short_answer=short, confidence=confidence)


def assess(question: str, hits: list[Hit], embedder: Embedder, config: Config | None = None, *,
           documents_text: DocumentsText | None = None) -> Evidence:
    """The :class:`Evidence` :func:`compose_answer` decides on (for
    calibration): the best evidence score, and the form asked for that the
    sentences it would quote lack — checked whatever ``answer_type_check``
    says, so a benchmark can report the check's effect."""
    config = config or Config()
    scored = score_units(question, hits, embedder, config, documents_text=documents_text)
    if not scored:
        return Evidence(0.0, None)
    _, citations = write_answer(question, choose_units(question, scored, config, documents_text), documents_text)
    return Evidence(max(s.evidence for s in scored), missing_form(question, [c.text for c in citations]))


def evidence_score(question: str, hits: list[Hit], embedder: Embedder, config: Config | None = None, *,
                   documents_text: DocumentsText | None = None) -> float:
    """How well the best unit of ``hits`` answers ``question``: the number
    compared with ``abstain_threshold`` (for calibration)."""
    scored = score_units(question, hits, embedder, config or Config(), documents_text=documents_text)
    return max((s.evidence for s in scored), default=0.0)


def abstention(question: str, hits: list[Hit], confidence: float = 0.0,
               missing: ExpectedAnswer | None = None) -> Answer:
    """The answer that says the documents do not answer ``question``; the
    hits stay attached so the user can read the nearest passages. With
    ``missing`` (the passages are on topic but hold no number or date), a
    note says so."""
    chinese = is_chinese(question)
    notes = [(MISSING_ZH if chinese else MISSING_EN)[missing]] if missing is not None else []
    return Answer(question=question, answer=NO_ANSWER_ZH if chinese else NO_ANSWER_EN, abstained=True,
                  citations=[], hits=list(hits), notes=notes, confidence=confidence)


def missing_form(question: str, quoted: Iterable[str]) -> ExpectedAnswer | None:
    """What ``question`` asks for — a number, a date, an ordinal — when none
    of the ``quoted`` sentences holds one; None when they do or it asks for
    neither (:mod:`rag.answer.expected`)."""
    expected = expected_answer(question)
    if expected is ExpectedAnswer.ANY or any(satisfies(text, expected) for text in quoted):
        return None
    return expected


def is_list_question(question: str) -> bool:
    """Whether the question asks for several items (哪些, 哪几, what are ...)."""
    return bool(_LIST_QUESTION.search(fold(question)))


# --- scoring -----------------------------------------------------------------

def candidates(hits: Sequence[Hit]) -> list[Candidate]:
    """Every unit of every hit, once: chunks overlap by a sentence, so the
    same unit (same document, same start) is kept from its best-ranked hit."""
    seen: dict[tuple[str, int], Candidate] = {}
    for hit in sorted(hits, key=lambda h: h.rank):
        for unit in units(hit.chunk.text, hit.chunk.start):
            candidate = Candidate(unit, hit)
            seen.setdefault(candidate.key, candidate)
    return list(seen.values())


def front_matter_candidates(hits: Sequence[Hit], documents_text: DocumentsText) -> list[Candidate]:
    """The front-matter lines (title, date, …) of each retrieved document,
    credited to that document's best hit."""
    out: list[Candidate] = []
    done: set[str] = set()
    for hit in sorted(hits, key=lambda h: h.rank):
        doc = hit.chunk.doc
        if doc in done:
            continue
        done.add(doc)
        out.extend(Candidate(line, hit) for line in front_matter_lines(documents_text(doc), hit.chunk.title))
    return out


def score_units(question: str, hits: Sequence[Hit], embedder: Embedder, config: Config, *,
                documents_text: DocumentsText | None = None) -> list[ScoredUnit]:
    """Each candidate unit scored against the question (see module docstring).

    A unit in another script than the question (an English question, a
    Chinese passage) can share no terms with it, so instead of the lexical
    term it gets ``answer_crosslingual_bonus``. For a question about the
    document itself, a line stating the asked-for field counts as a full
    lexical match.
    """
    pool = candidates(hits)
    field_asked = asked_field(question)
    if field_asked and documents_text is not None:
        seen = {c.key for c in pool}
        pool += [c for c in front_matter_candidates(hits, documents_text) if c.key not in seen]
    if not pool:
        return []
    query = embedder.embed_queries([question])[0]
    vectors = _CACHE.passages(embedder, [c.unit.text for c in pool], config.sentence_cache)
    cosines = vectors @ query
    asked = terms(question, question=True)
    chinese_question = is_chinese(question)
    out = []
    for candidate, cosine in zip(pool, cosines):
        text = candidate.unit.text
        if field_asked and answers_field(text, field_asked, candidate.hit.chunk.title):
            lexical, bonus = 1.0, config.answer_lexical_weight
        elif is_chinese(text) != chinese_question:
            lexical, bonus = 0.0, config.answer_crosslingual_bonus
        else:
            lexical = recall(asked, terms(text))
            bonus = config.answer_lexical_weight * lexical
        evidence = float(cosine) + bonus
        score = evidence + config.answer_rank_weight / max(candidate.hit.rank, 1)
        out.append(ScoredUnit(candidate, float(cosine), lexical, evidence, score))
    return out


class _VectorCache:
    """Passage vectors of sentences seen before, least recently used first
    out: the same passages come back question after question, and embedding
    their sentences is most of the time an extractive answer takes."""

    def __init__(self) -> None:
        self._vectors: OrderedDict[tuple[str, str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def passages(self, embedder: Embedder, texts: list[str], capacity: int) -> np.ndarray:
        keys = [(embedder.name, embedder.passage_prefix, t) for t in texts]
        with self._lock:
            missing = list(dict.fromkeys(k[2] for k in keys if k not in self._vectors))
        fresh = embedder.embed_passages(missing) if missing else None
        with self._lock:
            for text, vector in zip(missing, fresh if fresh is not None else []):
                self._vectors[(embedder.name, embedder.passage_prefix, text)] = vector
            out = (np.stack([self._vectors[k] for k in keys]) if keys
                   else np.zeros((0, embedder.dim), np.float32))
            for k in keys:
                if k in self._vectors:
                    self._vectors.move_to_end(k)
            while len(self._vectors) > max(capacity, len(set(keys))):
                self._vectors.popitem(last=False)
        return out


_CACHE = _VectorCache()


# --- choosing what to quote --------------------------------------------------

def choose_units(question: str, scored: list[ScoredUnit], config: Config,
                 documents_text: DocumentsText | None = None) -> list[ScoredUnit]:
    """The units an answer quotes, in reading order: the best ones; or, when
    the best is a list item the question names, what follows it; or, for a
    list question, the items of its list."""
    chosen = select_units(scored, config)
    elaborated = elaborate_item(question, chosen[0], scored, config, documents_text)
    if elaborated:
        chosen = elaborated
    elif is_list_question(question):
        chosen = gather_list(chosen, scored, config, documents_text)
    return order_readably(chosen)


def select_units(scored: list[ScoredUnit], config: Config) -> list[ScoredUnit]:
    """The best unit, and up to ``answer_sentences - 1`` more that score
    within ``answer_score_margin`` of it and say something new."""
    ranked = sorted(scored, key=lambda s: -s.score)
    best = ranked[0]
    chosen = [best]
    seen_texts = {_dedupe_key(best.unit.text)}
    for s in ranked[1:]:
        if len(chosen) >= config.answer_sentences:
            break
        if s.score < best.score - config.answer_score_margin:
            break
        key = _dedupe_key(s.unit.text)
        if key in seen_texts or not key:
            continue
        seen_texts.add(key)
        chosen.append(s)
    return chosen


def _dedupe_key(text: str) -> str:
    """Text compared for near-duplicates: folded, letters and digits only."""
    return "".join(ch for ch in fold(text) if ch.isalnum())


def ordinal_of(text: str) -> Ordinal | None:
    """The enumeration marker a unit starts with (after an introduction
    ending in a colon, e.g. "…以下三种形式:一是行政命令式"), if any."""
    found = item_marker(text)
    return found[0] if found else None


def item_marker(text: str) -> tuple[Ordinal, str] | None:
    """The enumeration marker a unit starts with and the item's label — what
    follows the marker, up to the end of the clause ("一是行政命令式。" ->
    "行政命令式")."""
    head = text.lstrip()
    tail = re.split(r"[:：]", head, maxsplit=1)
    for part in ([head] + ([tail[1].lstrip()] if len(tail) == 2 else [])):
        for family, pattern in _ORDINAL_FAMILIES:
            m = pattern.match(part)
            if m:
                label = re.split(r"[，,。；;！？!?]", part[m.end():], maxsplit=1)[0].strip()
                return Ordinal(family, _number(m.group(1))), label
    return None


def _number(token: str) -> int:
    if token.isdigit():
        return int(token)
    if token.lower() in _EN_ORDINALS:
        return _EN_ORDINALS[token.lower()]
    if token == "十":
        return 10
    if token.startswith("十"):
        return 10 + _ZH_DIGITS.index(token[1]) + 1
    if len(token) == 2 and token.endswith("十"):
        return (_ZH_DIGITS.index(token[0]) + 1) * 10
    return _ZH_DIGITS.index(token[0]) + 1


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
        if o is not None and o.family == ordinal.family:
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
        ordinal = Ordinal(first.family, 0)
    items = {ordinal.number: units_[index]}
    want = ordinal.number - 1
    for s in reversed(units_[:index]):
        if want < 1:
            break
        o = ordinal_of(s.unit.text)
        if o is not None and o.family == ordinal.family and o.number == want:
            items[want] = s
            want -= 1
    want = ordinal.number + 1
    for s in units_[index + 1:]:
        o = ordinal_of(s.unit.text)
        if o is not None and o.family == ordinal.family:
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


# --- writing -----------------------------------------------------------------

def order_readably(chosen: list[ScoredUnit]) -> list[ScoredUnit]:
    """Documents in order of their best unit; units of one document in the
    order they appear in it. Duplicates (same document and start) go."""
    best_of_doc: dict[str, float] = {}
    unique: dict[tuple[str, int], ScoredUnit] = {}
    for s in chosen:
        unique.setdefault(s.candidate.key, s)
        doc = s.hit.chunk.doc
        best_of_doc[doc] = max(best_of_doc.get(doc, s.score), s.score)
    return sorted(unique.values(), key=lambda s: (-best_of_doc[s.hit.chunk.doc], s.hit.chunk.doc, s.unit.start))


def write_answer(question: str, chosen: Iterable[ScoredUnit],
                 documents_text: DocumentsText | None = None) -> tuple[str, list[Citation]]:
    """The answer text — each unit verbatim, then its marker — and its
    citations numbered 1.. in order of appearance."""
    pieces: list[str] = []
    citations: list[Citation] = []
    english = not is_chinese(question)
    texts: dict[str, str] = {}
    for s in chosen:
        unit, chunk = s.unit, s.hit.chunk
        if documents_text is not None:
            if chunk.doc not in texts:
                texts[chunk.doc] = documents_text(chunk.doc)
            if texts[chunk.doc][unit.start:unit.end] != unit.text:
                continue          # never quote a span that is not the document's own text
        n = len(citations) + 1
        citations.append(Citation(n=n, doc=chunk.doc, title=chunk.title, section=chunk.section, start=unit.start,
                                  end=unit.end, text=unit.text, chunk_id=chunk.id, page=chunk.page,
                                  score=round(s.score, 6)))
        piece = f"{unit.text}[{n}]"
        if not unit.text.rstrip().endswith(tuple(_TERMINAL)):
            piece += "." if not is_chinese(unit.text) else "。"
        pieces.append(piece)
    joiner = " " if english or not any(is_chinese(p) for p in pieces) else ""
    return joiner.join(pieces), citations


# --- an LLM's reply ------------------------------------------------------------

def answer_from_generated(question: str, text: str, hits: list[Hit], embedder: Embedder, config: Config) -> Answer:
    """The :class:`Answer` for an LLM's reply to :func:`rag.generate.build_prompt`
    (passage ``n`` = ``hits[n-1]``): statements verified against the passages
    they cite, markers renumbered 1.. in order of appearance, one citation per
    cited passage (its best-supporting sentence, else the whole passage),
    markers that name no passage dropped, and a note for what fails."""
    texts = passage_texts(hits)
    statements = split_statements(text, known=texts.keys())
    statements = verify_statements(statements, texts, embedder, config)
    confidence = evidence_score(question, hits, embedder, config)
    notes: list[str] = []
    order: dict[int, int] = {}
    for s in statements:
        for n in s.citations:
            order.setdefault(n, len(order) + 1)
    citations = [_passage_citation(order[n], hits[n - 1], [s for s in statements if n in s.citations])
                 for n in order]
    renumbered = [replace(s, citations=tuple(order[n] for n in s.citations),
                          supporting=tuple(order[n] for n in s.supporting)) for s in statements]
    answer_text = _renumber_markers(text, order)
    dangling = sorted({n for s in statements for n in s.dangling})
    if dangling:
        notes.append("removed citation markers that name no passage: " + ", ".join(f"[{n}]" for n in dangling))
    failing = [s for s in renumbered if s.supported is False]
    if failing:
        notes.append(f"{len(failing)} of {len(renumbered)} statements are not supported by the passages they cite")
    backed = any(s.citations and s.supported for s in renumbered)
    # The model said the passages hold no answer, or the evidence is weak
    # and nothing it says is backed by a passage.
    declined = bool(renumbered) and all(not s.citations and is_trivial(s.text) for s in renumbered)
    abstained = declined or (confidence < config.abstain_threshold and not backed)
    return Answer(question=question, answer=answer_text, abstained=abstained, citations=citations, hits=list(hits),
                  statements=renumbered, notes=notes, confidence=confidence)


def _passage_citation(n: int, hit: Hit, statements: list[Statement]) -> Citation:
    """Cite the passage's unit that best matches the supported statements
    citing it; else (none supported, or supported only across scripts) the
    whole passage."""
    chunk = hit.chunk
    claims = [terms(s.text) for s in statements if s.supported]
    best: tuple[float, Sentence | None] = (0.0, None)
    for unit in units(chunk.text, chunk.start):
        unit_terms = terms(unit.text)
        score = max((recall(c, unit_terms) for c in claims), default=0.0)
        if score > best[0]:
            best = (score, unit)
    unit = best[1]
    start, end, quoted = (unit.start, unit.end, unit.text) if unit else (chunk.start, chunk.end, chunk.text)
    return Citation(n=n, doc=chunk.doc, title=chunk.title, section=chunk.section, start=start, end=end,
                    text=quoted, chunk_id=chunk.id, page=chunk.page, score=round(float(hit.score), 6))


def _renumber_markers(text: str, order: dict[int, int]) -> str:
    """Markers rewritten to the citation numbers; unknown numbers removed."""
    def rewrite(m: re.Match[str]) -> str:
        numbers = [int(x) for x in re.split(r"\s*[,，、]\s*", m.group(1))]
        kept = [order[n] for n in numbers if n in order]
        return "".join(f"[{k}]" for k in dict.fromkeys(kept))

    return MARKER.sub(rewrite, text)
