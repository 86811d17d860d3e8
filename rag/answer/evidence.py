"""How well each sentence of the retrieved passages answers a question: the
scores an extractive answer chooses its quotes by, and the one number it
abstains on.

Scoring a sentence (a "unit": a sentence, or a clause of a long one cut at a
semicolon, see :mod:`rag.answer.units`):

    evidence = cosine(query, unit) + answer_lexical_weight * recall(question terms, unit)
               (+ answer_crosslingual_bonus instead, for a unit in another script)
    score    = evidence + answer_rank_weight / hit rank

The cosine (e5, ``query:``/``passage:`` prefixes) finds paraphrases and
translations. A unit's vector is the one the build stored for that sentence
of the chunk (:class:`rag.index.store.SentenceTable`: the title, then the
sentence), or for a clause of a sentence cut at a semicolon the one of the
index's clause table, so answering embeds nothing but the question; only a
unit the index lacks (a front-matter line, a hit from a store without a
clause table) is embedded at query time, as the build would have embedded
it, and remembered (:class:`SentenceVectors`); the lexical recall (CJK character bigrams of the question's
content words found in the unit, :mod:`lang.terms`) rewards the sentence
that names what was asked. :func:`evidence_score` — the best evidence over
all units — is the one number compared with ``abstain_threshold``.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from ingest.records import Sentence
from lang.scripts import fold, is_chinese
from lang.terms import recall, terms
from rag.answer.about_document import answers_field, asked_field, front_matter_lines
from rag.answer.units import units
from rag.config import Config
from rag.index.store import IndexStore
from rag.index.texts import sentence_text
from rag.models.embedder import Embedder
from rag.records import Hit

# A document's full text by its path, when the caller has the documents.
DocumentsText = Callable[[str], str]


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


class SentenceVectors:
    """Passage vectors of units embedded at query time (those the index's
    sentence table lacks), least recently used first out: the same passages
    come back question after question.

    Owned by whoever answers many questions (the engine, a benchmark run) and
    passed to each call; vectors are keyed by the embedder that made them,
    so one cache may serve several embedders. ``capacity`` sentences are
    kept (the sentences of the current call always are)."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._vectors: OrderedDict[tuple[str, str, str], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._vectors)

    def passages(self, embedder: Embedder, texts: list[str]) -> np.ndarray:
        """The passage vectors of ``texts`` (one row each), embedding only
        the texts not seen before."""
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
            while len(self._vectors) > max(self.capacity, len(set(keys))):
                self._vectors.popitem(last=False)
        return out


def unit_vectors(pool: Sequence[Candidate], embedder: Embedder, store: IndexStore | None,
                 cache: SentenceVectors) -> np.ndarray:
    """(len(pool), dim) passage vectors of the candidates' units: the stored
    vector of a unit that is a sentence (or a clause) of its chunk in
    ``store``'s sentence (or clause) table, else the vector of what the
    build would have embedded for it (:func:`rag.index.texts.sentence_text`),
    from ``cache`` or embedded now."""
    out = np.zeros((len(pool), embedder.dim), dtype=np.float32)
    missing: list[int] = []
    stored: dict[int, dict[tuple[int, int], np.ndarray]] = {}
    for i, c in enumerate(pool):
        vector = _stored_vector(store, c, stored) if store is not None else None
        if vector is None:
            missing.append(i)
        else:
            out[i] = vector
    if missing:
        texts = [sentence_text(pool[i].hit.chunk, pool[i].unit.text) for i in missing]
        out[missing] = cache.passages(embedder, texts)
    return out


def _stored_vector(store: IndexStore, candidate: Candidate,
                   seen: dict[int, dict[tuple[int, int], np.ndarray]]) -> np.ndarray | None:
    """The stored vector of ``candidate``'s unit, if its chunk has that
    sentence (or clause) in ``store``."""
    chunk = candidate.hit.chunk
    if not 0 <= chunk.id < len(store.chunks) or store.chunks[chunk.id] != chunk:
        return None   # a hit from another index than ``store``
    if chunk.id not in seen:
        spans: dict[tuple[int, int], np.ndarray] = {}
        for table in (store.clauses, store.sentences):     # a sentence's own row wins
            if table is not None:
                rows = table.rows_of(chunk.id)
                spans.update(zip(table.spans_of(chunk.id), table.vectors[rows.start:rows.stop]))
        seen[chunk.id] = spans
    return seen[chunk.id].get((candidate.unit.start, candidate.unit.end))


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
    credited to the document's best-ranked hit."""
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
                documents_text: DocumentsText | None = None, vectors: SentenceVectors | None = None,
                store: IndexStore | None = None, query_vector: np.ndarray | None = None) -> list[ScoredUnit]:
    """Each candidate unit scored against the question (see module docstring).

    A unit in another script than the question (an English question, a
    Chinese passage) can share no terms with it, so instead of the lexical
    term its evidence gets ``answer_crosslingual_bonus``, and its score
    (which ranks the units, not whether to abstain)
    ``answer_crosslingual_lexical_weight`` x the share of the question's
    words it holds once translated into corpus terms (:func:`crosslingual_recall`). For a question about the
    document itself, a line stating the asked-for field counts as a full
    lexical match. ``vectors`` remembers sentence vectors across calls
    (without it, this call's sentences are embedded afresh).
    """
    pool = candidates(hits)
    field_asked = asked_field(question)
    if field_asked and documents_text is not None:
        seen = {c.key for c in pool}
        pool += [c for c in front_matter_candidates(hits, documents_text) if c.key not in seen]
    if not pool:
        return []
    query = query_vector if query_vector is not None else embedder.embed_queries([question])[0]
    cache = vectors if vectors is not None else SentenceVectors(0)
    cosines = unit_vectors(pool, embedder, store, cache) @ query
    asked = terms(question, question=True)
    chinese_question = is_chinese(question)
    translated = (translated_words(question, embedder, config, store)
                  if not chinese_question and any(is_chinese(c.unit.text) for c in pool) else [])
    out = []
    for candidate, cosine in zip(pool, cosines):
        text = candidate.unit.text
        if field_asked and answers_field(text, field_asked, candidate.hit.chunk.title):
            lexical, bonus = 1.0, config.answer_lexical_weight
        elif is_chinese(text) != chinese_question:
            lexical, bonus = crosslingual_recall(translated, text), config.answer_crosslingual_bonus
        else:
            lexical = recall(asked, terms(text))
            bonus = config.answer_lexical_weight * lexical
        evidence = float(cosine) + bonus
        score = evidence + config.answer_rank_weight / max(candidate.hit.rank, 1)
        if is_chinese(text) != chinese_question:
            # Ranks the sentences only: a translated word always finds some corpus term, so the
            # share found says which sentence is meant, not whether any answers (the evidence).
            score += config.answer_crosslingual_lexical_weight * lexical
        out.append(ScoredUnit(candidate, float(cosine), lexical, evidence, score))
    return out


def translated_words(question: str, embedder: Embedder, config: Config,
                     store: IndexStore | None) -> list[tuple[str, str]]:
    """Each content word of a question in another script than the corpus,
    with the corpus term it translates to (:mod:`rag.retrieve.crosslingual`,
    over ``store``'s term table); the words alone (paired with themselves)
    without a store."""
    from rag.retrieve.crosslingual import question_words, translate

    if store is None or not len(store.terms):
        return [(w, w) for w in question_words(question, config.lexical_tokenizer)]
    translation = translate(question, store.terms, embedder, config.lexical_tokenizer)
    return list(zip(translation.words, translation.terms))


def crosslingual_recall(translated: list[tuple[str, str]], text: str) -> float:
    """Share of a question's words that ``text`` holds, as written (a name,
    a code: "AGG01") or as the corpus term they translate to (learn -> 学习)."""
    if not translated:
        return 0.0
    folded = fold(text)
    return sum(1 for word, term in translated if word in folded or term in folded) / len(translated)


def evidence_score(question: str, hits: list[Hit], embedder: Embedder, config: Config, *,
                   documents_text: DocumentsText | None = None, vectors: SentenceVectors | None = None,
                   store: IndexStore | None = None, query_vector: np.ndarray | None = None) -> float:
    """How well the best unit of ``hits`` answers ``question``: the number
    compared with ``abstain_threshold`` (for calibration)."""
    scored = score_units(question, hits, embedder, config, documents_text=documents_text, vectors=vectors,
                         store=store, query_vector=query_vector)
    return max((s.evidence for s in scored), default=0.0)
