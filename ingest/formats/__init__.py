"""One parser per file format, each ``parse(data: bytes, name: str) -> Parsed``.

The formats differ in how they find text, headings and pages; what they hand
back is the same :class:`Parsed`, which :func:`ingest.loaders.load_document`
completes into a Document (title, front matter, hash). Plain text needs no
parser of its own: it is only decoded (:mod:`ingest.decoding`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ingest.records import Heading


@dataclass(frozen=True)
class Parsed:
    """What a format parser hands back; the loader completes the Document."""

    text: str
    title: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    pages: tuple[int, ...] = ()
    headings: tuple[Heading, ...] = ()
