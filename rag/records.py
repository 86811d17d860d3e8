"""The typed records that flow between the steps of the pipeline.

documents -> chunks -> (vectors) -> hits -> answer -> screen

Offsets are character offsets into ``Document.text``, the document's text as
loaded (for .txt and .md, the decoded file unchanged), so that for every chunk
and citation ``document.text[start:end] == text`` holds exactly.
"""

from __future__ import annotations

import bisect
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Heading:
    """A section heading found in a document: ``text[start:end]`` is its line."""

    start: int
    end: int
    level: int
    title: str


@dataclass(frozen=True)
class Sentence:
    """A sentence of a document: ``text == document.text[start:end]``."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Document:
    """One loaded file of the corpus.

    ``path`` is relative to the corpus folder, with forward slashes. ``pages``
    holds the offset where each page starts (PDF only; page n starts at
    ``pages[n-1]``). ``headings`` are given by loaders that know them (docx,
    Markdown); for plain text the chunker detects them.
    """

    path: str
    title: str
    text: str
    format: str
    sha256: str
    size: int
    metadata: dict[str, str] = field(default_factory=dict)
    pages: tuple[int, ...] = ()
    headings: tuple[Heading, ...] = ()

    def page_at(self, offset: int) -> int | None:
        """1-based page number of a character offset, or None without pages."""
        if not self.pages:
            return None
        return max(1, bisect.bisect_right(self.pages, offset))


@dataclass(frozen=True)
class Chunk:
    """A passage of a document: the unit that is embedded and retrieved."""

    id: int
    doc: str
    title: str
    section: str
    start: int
    end: int
    text: str
    page: int | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Chunk":
        return cls(**data)


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
    confidence: float = 0.0                   # best-evidence score (see rag.answer.evidence_score)

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
