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
from typing import Iterable

import numpy as np

from lang.questions import is_fact_question, is_list_question
from lang.scripts import fold, is_chinese
from rag.answer.evidence import DocumentsText, ScoredUnit, SentenceVectors, score_units
from rag.answer.expected import ExpectedAnswer, missing_form
from rag.answer.lists import elaborate_item, gather_list
from rag.answer.short import extract_short_answer
from rag.answer.verify import verify_statements
from rag.config import Config
from rag.index.store import IndexStore
from rag.models.embedder import Embedder
from rag.records import Answer, Citation, Hit, Statement

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

# Punctuation that ends a quote; a quote without it gets a full stop.
_TERMINAL = "。！？!?.…:：”」』）)\"'"


@dataclass(frozen=True)
class Evidence:
    """What decides whether an extractive answer abstains: the best evidence
    (compared with ``abstain_threshold``) and the form the question asks for
    when none of the sentences the answer would quote gives it."""

    score: float
    missing: ExpectedAnswer | None


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
    _, citations = write_answer(question, choose_units(question, scored, config, documents_text), documents_text)
    return Evidence(max(s.evidence for s in scored), missing_form(question, [c.text for c in citations]))


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
