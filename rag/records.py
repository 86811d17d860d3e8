"""The records of the query side: a retrieved ``Hit``, an ``Answer`` with its
``Citation``s and verified ``Statement``s, and a conversation ``Turn``.

Hits and citations point into the ``Chunk``s and ``Document``s of
:mod:`ingest.records` by document path and character offsets.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ingest.records import Chunk


class Note(str):
    """A note for the user about an answer: its text in English (what the
    CLI and the JSON show, so it is a ``str``), and a ``key`` with ``values``
    by which a shell says it in its own language (the UI's strings have a
    ``note_<key>`` for each key the engine uses)."""

    key: str
    values: dict[str, Any]

    def __new__(cls, text: str, key: str = "", **values: Any) -> "Note":
        note = super().__new__(cls, text)
        note.key = key                # "" for a note that has no translation
        note.values = values
        return note


@dataclass(frozen=True)
class Hit:
    """A retrieved chunk with its score, rank (1-based) and who found it."""

    chunk: Chunk
    score: float
    rank: int
    retrievers: tuple[str, ...] = ()       # ("dense",), ("lexical",) or both
    dense_score: float | None = None
    lexical_score: float | None = None

    def to_json(self) -> dict[str, Any]:
        c = self.chunk
        return {
            "rank": self.rank,
            "score": round(float(self.score), 6),
            "doc": c.doc,
            "title": c.title,
            "section": c.section,
            "start": c.start,
            "end": c.end,
            "text": c.text,
            "page": c.page,
            "retrievers": list(self.retrievers),
        }


@dataclass(frozen=True)
class Citation:
    """A cited span: ``text`` is verbatim ``document.text[start:end]``.

    ``chunk_id`` names the passage it was taken from, so the UI can show the
    passage around the cited sentence.
    """

    n: int
    doc: str
    title: str
    section: str
    start: int
    end: int
    text: str
    chunk_id: int
    page: int | None = None
    score: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "doc": self.doc,
            "title": self.title,
            "section": self.section,
            "start": self.start,
            "end": self.end,
            "text": self.text,
            "page": self.page,
        }


@dataclass(frozen=True)
class Statement:
    """One statement of an answer, the citations it carries, and whether the
    cited passages support it (None until verified)."""

    text: str
    citations: tuple[int, ...]
    supported: bool | None = None
    support: float = 0.0
    supporting: tuple[int, ...] = ()   # the citations that each support it alone
    dangling: tuple[int, ...] = ()     # markers that named no passage (dropped)

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "citations": list(self.citations),
            "supported": self.supported,
        }


@dataclass
class Answer:
    """What ``ask`` returns: the answer text with ``[n]`` markers, its
    citations, the hits it was drawn from, and its verified statements."""

    question: str
    answer: str
    abstained: bool
    citations: list[Citation]
    hits: list[Hit]
    statements: list[Statement] = field(default_factory=list)
    standalone_question: str | None = None   # a follow-up rewritten, when it was
    short_answer: str | None = None           # the shortest span for a fact question
    notes: list[str] = field(default_factory=list)
    confidence: float = 0.0                   # best-evidence score (see rag.answer.evidence.evidence_score)

    def to_json(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.answer,
            "abstained": self.abstained,
            "citations": [c.to_json() for c in self.citations],
            "hits": [h.to_json() for h in self.hits],
            "statements": [s.to_json() for s in self.statements],
            "standalone_question": self.standalone_question,
            "short_answer": self.short_answer,
            "notes": list(self.notes),
            "confidence": round(float(self.confidence), 6),
        }


@dataclass
class Turn:
    """One exchange of a conversation: the question as the user typed it and
    the answer given (an :class:`Answer`, or its text)."""

    question: str
    answer: Answer | str
