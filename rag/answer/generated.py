"""An LLM's reply to an :class:`~rag.records.Answer`: the same bookkeeping
an extractive answer does by construction.

The reply cites sources by their number in the prompt
(:class:`rag.answer.prompt.Source`: a whole passage, or one evidence
sentence). Its statements are verified against the sources they cite
(:mod:`rag.answer.verify`) — the very text the model was shown — its
markers renumbered 1.. in order of appearance, and each cited source
becomes one citation: an excerpt quotes itself, a passage its sentence that
best supports what was said. Markers that name no source are dropped, and
notes say what failed. A fact question's answer opens with a short span, as
an extractive one does (:func:`short_answer`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Mapping, Sequence

from ingest.records import Sentence
from lang.citations import MARKER, marker_numbers
from lang.questions import is_fact_question
from lang.scripts import is_chinese
from lang.terms import recall, terms
from rag.answer.evidence import SentenceVectors, evidence_score
from rag.answer.prompt import Source, as_sources
from rag.answer.spans import UnitContext, best_span, candidate_spans
from rag.answer.units import units
from rag.answer.verify import is_trivial, split_statements, verify_statements
from rag.config import Config
from rag.index.store import IndexStore
from rag.models.embedder import Embedder
from rag.records import Answer, Citation, Hit, Statement


def answer_from_generated(question: str, text: str, hits: list[Hit], embedder: Embedder, config: Config, *,
                          sources: Sequence[Source] | None = None, vectors: SentenceVectors | None = None,
                          store: IndexStore | None = None) -> Answer:
    """The :class:`Answer` for an LLM's reply to :func:`rag.answer.prompt.build_prompt`
    over ``sources`` (default: ``hits`` as whole passages, ``n`` =
    ``hits[n-1]``): statements verified against the sources they cite,
    markers renumbered 1.. in order of appearance, one citation per cited
    source (an excerpt itself; a passage's best-supporting sentence, else
    the whole passage), markers that name no source dropped, and a note for
    what fails."""
    by_number = {s.n: s for s in as_sources(hits if sources is None else sources)}
    texts = {n: s.text for n, s in by_number.items()}
    statements = split_statements(text, known=texts.keys())
    statements = verify_statements(statements, texts, embedder, config)
    confidence = evidence_score(question, hits, embedder, config, vectors=vectors, store=store)
    notes: list[str] = []
    order: dict[int, int] = {}
    for s in statements:
        for n in s.citations:
            order.setdefault(n, len(order) + 1)
    citations = [_source_citation(order[n], by_number[n], [s for s in statements if n in s.citations])
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
    short = None if abstained else short_answer(question, statements, by_number, config)
    if short is not None:
        n = order[short.source]
        if not short.said:   # the reply did not open with it: the answer does, as an extractive one
            answer_text = f"{short.text}[{n}]\n\n{answer_text}"
            opening = Statement(text=short.text, citations=(n,))
            renumbered = verify_statements([opening], {n: by_number[short.source].text}, embedder, config) + renumbered
    return Answer(question=question, answer=answer_text, abstained=abstained, citations=citations, hits=list(hits),
                  statements=renumbered, notes=notes, confidence=confidence,
                  short_answer=short.text if short is not None else None)


@dataclass(frozen=True)
class ShortAnswer:
    """The short answer of a fact question from an LLM's reply: ``text``,
    verbatim from source ``source`` (its number in the prompt); ``said``:
    the reply's statement is that very span ("1998年[1]")."""

    text: str
    source: int
    said: bool


def short_answer(question: str, statements: Sequence[Statement], by_number: Mapping[int, Source],
                 config: Config) -> ShortAnswer | None:
    """The short span an extractive answer would open with, taken from what
    the reply says: for a fact question (:func:`lang.questions.is_fact_question`)
    in the sources' script, the first supported statement's cited sentences
    (the ``answer_span_units`` that hold most of its terms) give candidate
    spans (:mod:`rag.answer.spans`). A statement that is itself a candidate
    is the short answer; else the ranker's best among the candidates the
    statement repeats (the model has said which part answers), or among all.
    None when nothing qualifies."""
    if not is_fact_question(question):
        return None
    for statement in statements:
        if not statement.supporting:
            continue
        said = statement.text.rstrip("。.！!？?；;，,")
        claim = terms(said)
        units_: list[tuple[float, int, UnitContext]] = []
        for n in statement.supporting:
            source = by_number[n]
            for unit in units(source.text):
                units_.append((recall(claim, terms(unit.text)), n, UnitContext(unit.text, source.evidence,
                                                                               source.lexical)))
        units_.sort(key=lambda u: -u[0])
        units_ = units_[:config.answer_span_units]
        contexts = [u[2] for u in units_]
        if not contexts or is_chinese(contexts[0].text) != is_chinese(question):
            return None
        if any(c.text == said for c in candidate_spans(question, contexts)):
            n = next(n for _, n, u in units_ if said in u.text)
            return ShortAnswer(said, n, True)
        span = best_span(question, contexts, within=said)
        return ShortAnswer(span.text, units_[span.unit][1], False) if span is not None else None
    return None


def _source_citation(n: int, source: Source, statements: list[Statement]) -> Citation:
    """Cite the source's unit that best matches the supported statements
    citing it; else (none supported, or supported only across scripts) the
    whole source."""
    chunk = source.hit.chunk
    claims = [terms(s.text) for s in statements if s.supported]
    best: tuple[float, Sentence | None] = (0.0, None)
    for unit in units(source.text, source.start):
        unit_terms = terms(unit.text)
        score = max((recall(c, unit_terms) for c in claims), default=0.0)
        if score > best[0]:
            best = (score, unit)
    unit = best[1]
    start, end, quoted = (unit.start, unit.end, unit.text) if unit else (source.start, source.end, source.text)
    return Citation(n=n, doc=chunk.doc, title=chunk.title, section=chunk.section, start=start, end=end,
                    text=quoted, chunk_id=chunk.id, page=chunk.page, score=round(float(source.hit.score), 6))


def _renumber_markers(text: str, order: dict[int, int]) -> str:
    """Markers rewritten to the citation numbers (``[3, 1]`` -> ``[1][2]``
    for passages cited first as 3, then 1); unknown numbers removed."""
    def rewrite(m: re.Match[str]) -> str:
        kept = [order[n] for n in marker_numbers(m) if n in order]
        return "".join(f"[{k}]" for k in dict.fromkeys(kept))

    return MARKER.sub(rewrite, text)
