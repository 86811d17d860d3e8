"""Extractive answering: quote the sentences of the retrieved passages that
best answer the question, each followed by its ``[n]`` citation — or say
plainly that the documents do not answer it.

Every statement of an extractive answer is a verbatim span of a document
(``document.text[start:end] == citation.text``), so it is supported by
construction; :mod:`rag.answer.generated` does the same bookkeeping for an
LLM's reply, whose statements :mod:`rag.answer.verify` has to check.

The sentences are scored by :mod:`rag.answer.evidence`; the answer quotes
the best ones, or the items of a list (:mod:`rag.answer.lists`) for a list
question, in reading order. It abstains when the best evidence is below
``abstain_threshold``, and — a question that asks for a number or a date
(how many, when: see :mod:`rag.answer.expected`) — when none of the
sentences it would quote holds one: the documents mention the topic but do
not give the fact asked for (``answer_type_check``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lang.questions import is_fact_question, is_list_question
from lang.scripts import fold, is_chinese
from rag.answer.evidence import DocumentsText, ScoredUnit, SentenceVectors, score_units
from rag.answer.expected import ExpectedAnswer, missing_form
from rag.answer.lists import elaborate_item, gather_list
from rag.answer.short import extract_short_answer
from rag.answer.spans import UnitContext, best_span, load_weights
from rag.answer.verify import verify_statements
from rag.config import Config
from rag.index.store import IndexStore
from rag.models.embedder import Embedder
from rag.records import Answer, Citation, Hit, Note, Statement

NOTHING_FOUND_ZH = "文档中没有找到这个问题的答案。"
NOTHING_FOUND_EN = "The documents do not answer this question."
NO_ANSWER_ZH = NOTHING_FOUND_ZH + "以下是最相关的段落："
NO_ANSWER_EN = NOTHING_FOUND_EN + " The nearest passages are below."
# Why an answer abstained although the passages are on topic: the question
# asks for a number or a date that none of the quoted sentences holds.
MISSING_ZH = {ExpectedAnswer.NUMBER: "文档提到了这个话题，但没有给出所问的数字。",
              ExpectedAnswer.DATE: "文档提到了这个话题，但没有给出所问的日期或时间。",
              ExpectedAnswer.ORDINAL: "文档提到了这个话题，但没有说明是第几。"}
MISSING_EN = {ExpectedAnswer.NUMBER: "The documents mention this topic but do not give the number asked for.",
              ExpectedAnswer.DATE: "The documents mention this topic but do not give the date asked for.",
              ExpectedAnswer.ORDINAL: "The documents mention this topic but do not say which in order."}

# A question in another language than the Chinese it is answered from.
SOURCES_IN_CHINESE = "The sources are in Chinese: the quotations below are in their original language."

# Punctuation that ends a quote; a quote without it gets a full stop.
_TERMINAL = "。！？!?.…:：”」』）)\"'"


@dataclass(frozen=True)
class ShortSpan:
    """The short answer of a fact question: a span of ``unit``'s text."""

    text: str
    unit: ScoredUnit


@dataclass(frozen=True)
class Evidence:
    """What decides whether an extractive answer abstains: the best evidence
    (compared with ``abstain_threshold``) and the form the question asks for
    when none of the sentences the answer would quote gives it."""

    score: float
    missing: ExpectedAnswer | None
    crosslingual: bool = False


def compose_answer(question: str, hits: list[Hit], embedder: Embedder, config: Config, *,
                   documents_text: DocumentsText | None = None, vectors: SentenceVectors | None = None,
                   store: IndexStore | None = None, query_vector: np.ndarray | None = None) -> Answer:
    """An extractive answer to ``question`` from ``hits`` (best first).

    ``documents_text(path)`` gives a document's full text; with it, a list
    answer can gather items that lie just past the retrieved passages, a
    question about the document itself (its title, date) can quote its
    front matter, and every quoted span is checked against the document.
    ``vectors``, ``store`` and ``query_vector``: see :func:`rag.answer.evidence.score_units`.
    """
    scored = score_units(question, hits, embedder, config, documents_text=documents_text, vectors=vectors,
                         store=store, query_vector=query_vector)
    confidence = max((s.evidence for s in scored), default=0.0)
    if not scored or confidence < abstain_threshold(question, scored, config):
        return abstention(question, hits, confidence)
    selection = choose_units(question, scored, config, documents_text)
    short = short_span(question, scored, config) if wants_short_answer(question, selection) else None
    if short is not None and short.unit.candidate.key not in {s.candidate.key for s in selection.units}:
        selection = Selection(order_readably(selection.lead + [short.unit]), selection.items)
    answer, citations = write_answer(question, selection, documents_text, short)
    if not citations:
        return abstention(question, hits, confidence)
    missing = missing_form(question, [c.text for c in citations])
    if missing is not None and config.answer_type_check:
        return abstention(question, hits, confidence, missing)
    statements = [Statement(text=c.text, citations=(c.n,)) for c in citations]
    short_cited = next((c.n for c in citations if short is not None
                        and (c.doc, c.start) == short.unit.candidate.key), None)
    if short_cited is not None:
        statements.insert(0, Statement(text=short.text, citations=(short_cited,)))
    statements = verify_statements(statements, {c.n: c.text for c in citations}, embedder, config)
    notes = []
    if not is_chinese(question) and any(is_chinese(c.text) for c in citations):
        notes.append(Note(SOURCES_IN_CHINESE, "sources_in_chinese"))
    return Answer(question=question, answer=answer, abstained=False, citations=citations, hits=list(hits),
                  statements=statements, short_answer=short.text if short_cited is not None else None,
                  confidence=confidence, notes=notes)


def wants_short_answer(question: str, selection: Selection) -> bool:
    """Whether the answer opens with a short span: a fact question (who,
    what, when, how many: :func:`lang.questions.is_fact_question`), or a
    list question whose list is not numbered in the documents (the items
    then stand in one phrase: "鼓、锣、钹和板"), unless the answer quotes what
    the documents say under an item the question names."""
    return is_fact_question(question) or (is_list_question(question) and not selection.items
                                          and not selection.explains_item)


def short_span(question: str, scored: list[ScoredUnit], config: Config) -> ShortSpan | None:
    """The short answer of a fact question: the best candidate span of the
    best units (:mod:`rag.answer.spans`); without fitted weights, the rules
    of :mod:`rag.answer.short` on the best unit."""
    units_ = span_units(scored, config)
    if not units_ or is_chinese(units_[0].unit.text) != is_chinese(question):
        return None           # a span of another language than the question's answers no one
    contexts = [UnitContext(s.unit.text, s.evidence, s.lexical) for s in units_]
    if load_weights() is not None:
        span = best_span(question, contexts)
        return ShortSpan(span.text, units_[span.unit]) if span is not None else None
    text = extract_short_answer(question, units_[0].unit.text)
    return ShortSpan(text, units_[0]) if text else None


def assess(question: str, hits: list[Hit], embedder: Embedder, config: Config, *,
           documents_text: DocumentsText | None = None, vectors: SentenceVectors | None = None,
           store: IndexStore | None = None, query_vector: np.ndarray | None = None) -> Evidence:
    """The :class:`Evidence` :func:`compose_answer` decides on (for
    calibration): the best evidence score, and the form asked for that the
    sentences it would quote lack — checked whatever ``answer_type_check``
    says, so a benchmark can report the check's effect."""
    scored = score_units(question, hits, embedder, config, documents_text=documents_text, vectors=vectors,
                         store=store, query_vector=query_vector)
    if not scored:
        return Evidence(0.0, None)
    selection = choose_units(question, scored, config, documents_text)
    short = short_span(question, scored, config) if wants_short_answer(question, selection) else None
    if short is not None and short.unit.candidate.key not in {s.candidate.key for s in selection.units}:
        selection = Selection(order_readably(selection.lead + [short.unit]), selection.items)
    _, citations = write_answer(question, selection, documents_text)
    return Evidence(max(s.evidence for s in scored), missing_form(question, [c.text for c in citations]),
                    is_crosslingual(question, scored))


def is_crosslingual(question: str, scored: list[ScoredUnit]) -> bool:
    """Whether the best evidence is in another script than the question
    (an English question, a Chinese sentence): such pairs are judged by
    their own threshold, since their evidence is made of other parts."""
    best = max(scored, key=lambda s: s.evidence)
    return is_chinese(best.unit.text) != is_chinese(question)


def abstain_threshold(question: str, scored: list[ScoredUnit], config: Config) -> float:
    """``abstain_threshold``, or ``abstain_threshold_crosslingual`` for a
    cross-lingual pair (:func:`is_crosslingual`)."""
    return config.abstain_threshold_crosslingual if is_crosslingual(question, scored) else config.abstain_threshold


def abstention(question: str, hits: list[Hit], confidence: float = 0.0,
               missing: ExpectedAnswer | None = None) -> Answer:
    """The answer that says the documents do not answer ``question``; the
    hits stay attached so the user can read the nearest passages (the text
    says they follow only when there are some). With
    ``missing`` (the passages are on topic but hold no number or date), a
    note says so."""
    chinese = is_chinese(question)
    notes = [(MISSING_ZH if chinese else MISSING_EN)[missing]] if missing is not None else []
    if hits:
        text = NO_ANSWER_ZH if chinese else NO_ANSWER_EN
    else:   # nothing was searched or found: no passages follow
        text = NOTHING_FOUND_ZH if chinese else NOTHING_FOUND_EN
    return Answer(question=question, answer=text, abstained=True,
                  citations=[], hits=list(hits), notes=notes, confidence=confidence)


# --- choosing what to quote --------------------------------------------------

@dataclass(frozen=True)
class Selection:
    """What an answer quotes, in reading order: ``lead`` units as running
    text, then, for a list question, the list's ``items`` one per numbered line."""

    lead: list[ScoredUnit]
    items: list[ScoredUnit]
    explains_item: bool = False     # the lead is what the documents say under an item the question names

    @property
    def units(self) -> list[ScoredUnit]:
        return self.lead + self.items


def choose_units(question: str, scored: list[ScoredUnit], config: Config,
                 documents_text: DocumentsText | None = None) -> Selection:
    """The units an answer quotes: the best ones; or, when the best is a
    list item the question names, what follows it; or, for a list question,
    the items of its list (:func:`rag.answer.lists.gather_list`)."""
    chosen = select_units(scored, config, crosslingual=is_crosslingual(question, scored))
    elaborated = elaborate_item(question, chosen[0], scored, config, documents_text)
    if elaborated:
        return Selection(order_readably(elaborated), [], explains_item=True)
    if is_list_question(question):
        gathered = gather_list(question, chosen, scored, config, documents_text)
        if gathered is not None:
            return Selection(gathered.lead, gathered.items)
    return Selection(order_readably(chosen), [])


def select_units(scored: list[ScoredUnit], config: Config, crosslingual: bool = False) -> list[ScoredUnit]:
    """The best unit, and up to ``answer_sentences - 1`` more that score
    within ``answer_score_margin`` of it and say something new. Across
    languages (an English question, Chinese passages) the scores rank
    sentences too weakly to trust one: the best ``answer_sentences_crosslingual``
    are quoted, whatever their margin."""
    ranked = sorted(scored, key=lambda s: -s.score)
    best = ranked[0]
    chosen = [best]
    seen_texts = {_dedupe_key(best.unit.text)}
    most = config.answer_sentences_crosslingual if crosslingual else config.answer_sentences
    for s in ranked[1:]:
        if len(chosen) >= most:
            break
        if s.score < best.score - config.answer_score_margin and not crosslingual:
            break
        key = _dedupe_key(s.unit.text)
        if key in seen_texts or not key:
            continue
        seen_texts.add(key)
        chosen.append(s)
    return chosen


def span_units(scored: list[ScoredUnit], config: Config) -> list[ScoredUnit]:
    """The units a short answer's candidate spans come from: the
    ``answer_span_units`` best by score, near-duplicates once."""
    out: list[ScoredUnit] = []
    seen: set[str] = set()
    for s in sorted(scored, key=lambda s: -s.score):
        key = _dedupe_key(s.unit.text)
        if key and key not in seen:
            seen.add(key)
            out.append(s)
            if len(out) >= config.answer_span_units:
                break
    return out


def _dedupe_key(text: str) -> str:
    """Text compared for near-duplicates: folded, letters and digits only."""
    return "".join(ch for ch in fold(text) if ch.isalnum())


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


def write_answer(question: str, selection: Selection, documents_text: DocumentsText | None = None,
                 short: ShortSpan | None = None) -> tuple[str, list[Citation]]:
    """The answer text and its citations, numbered 1.. in order of
    appearance: the short answer first (with its sentence's marker), then
    the lead units verbatim, each followed by its marker, then the list's
    items, one numbered line each."""
    citations: list[Citation] = []
    english = not is_chinese(question)
    texts: dict[str, str] = {}
    numbers: dict[tuple[str, int], int] = {}

    def cite(s: ScoredUnit) -> str | None:
        unit, chunk = s.unit, s.hit.chunk
        if s.candidate.key in numbers:
            n = numbers[s.candidate.key]
            return f"{unit.text}[{n}]" + _full_stop(unit.text)
        if documents_text is not None:
            if chunk.doc not in texts:
                texts[chunk.doc] = documents_text(chunk.doc)
            if texts[chunk.doc][unit.start:unit.end] != unit.text:
                return None       # never quote a span that is not the document's own text
        n = len(citations) + 1
        citations.append(Citation(n=n, doc=chunk.doc, title=chunk.title, section=chunk.section, start=unit.start,
                                  end=unit.end, text=unit.text, chunk_id=chunk.id, page=chunk.page,
                                  score=round(s.score, 6)))
        numbers[s.candidate.key] = n
        return f"{unit.text}[{n}]" + _full_stop(unit.text)

    # The short answer comes first, so its sentence is [1]; quoted again below, it keeps that number.
    opening = []
    if short is not None and cite(short.unit) is not None:
        opening = [f"{short.text}[{numbers[short.unit.candidate.key]}]"]
    lead = [p for p in map(cite, selection.lead) if p]
    items = [p for p in map(cite, selection.items) if p]
    joiner = " " if english or not any(is_chinese(p) for p in lead) else ""
    parts = opening + ([joiner.join(lead)] if lead else [])
    if items:
        parts.append("\n".join(f"{k}. {p}" for k, p in enumerate(items, 1)))
    return "\n\n".join(parts), citations


def _full_stop(text: str) -> str:
    """The full stop a quote needs when it does not end in punctuation."""
    if text.rstrip().endswith(tuple(_TERMINAL)):
        return ""
    return "." if not is_chinese(text) else "。"
