"""The records that ingest produces: a loaded ``Document`` with its
``Heading``s and ``Sentence``s, and the ``Chunk``s it is cut into.

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
