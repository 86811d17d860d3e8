"""Files of the corpus to :class:`~ingest.records.Document`.

The one list of loadable suffixes, discovery of a corpus folder, and the
entry point that reads a file, hands its bytes to the parser of its format
(:mod:`ingest.formats`) and completes the record: title, front matter
(:mod:`ingest.front_matter`), hash and size. For .txt and .md the document
text is the decoded file *unchanged* (no newline or Unicode normalisation),
because every chunk and citation offset indexes it; the other formats have
no such text, so the parser builds it and it is the reference.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Callable

from ingest.decoding import decode_text
from ingest.errors import LoadError
from ingest.formats import Parsed, docx, html, markdown, pdf
from ingest.front_matter import front_matter, title_of
from ingest.records import Document

SUPPORTED_SUFFIXES: frozenset[str] = frozenset({".txt", ".md", ".markdown", ".pdf", ".docx", ".html", ".htm"})

log = logging.getLogger(__name__)

_FORMATS = {".txt": "txt", ".md": "md", ".markdown": "md", ".pdf": "pdf", ".docx": "docx",
            ".html": "html", ".htm": "html"}


# --- discovery -----------------------------------------------------------


def discover(corpus_dir: Path, skipped: list[LoadError] | None = None) -> list[Path]:
    """Supported files under ``corpus_dir``, recursively, sorted by relative
    path. Hidden files and folders (``.git``, ``.DS_Store``) and Office lock
    files (``~$x.docx``) are skipped. Paths are ``corpus_dir / relative``.

    A symbolic link that leads outside ``corpus_dir`` (``link.txt ->
    /etc/passwd``) is skipped too, never read: a warning names it, and it is
    added to ``skipped`` (when given) for the user to see."""
    corpus_dir = Path(corpus_dir)
    root = corpus_dir.resolve()
    found = []
    for path in corpus_dir.rglob("*"):
        rel = path.relative_to(corpus_dir)
        if any(part.startswith(".") for part in rel.parts) or path.name.startswith("~$"):
            continue
        if path.suffix.lower() not in SUPPORTED_SUFFIXES:
            continue
        if not path.resolve().is_relative_to(root):
            _skip_outside_link(path, rel.as_posix(), skipped)
        elif path.is_file():
            found.append(path)
    if skipped is not None:
        skipped.sort(key=lambda e: e.path)
    return sorted(found, key=lambda p: p.relative_to(corpus_dir).as_posix())


OUTSIDE_LINK = ("a symbolic link to a file outside the corpus folder, not indexed: "
                "copy the file into the folder instead")
_warned_links: set[str] = set()     # each link is named once per process, not at every status check


def _skip_outside_link(path: Path, rel: str, skipped: list[LoadError] | None) -> None:
    if skipped is not None:
        skipped.append(LoadError(rel, OUTSIDE_LINK))
    key = str(path.absolute())
    if key not in _warned_links:
        _warned_links.add(key)
        log.warning("skipped %s: %s", path, OUTSIDE_LINK)


# --- the entry point -----------------------------------------------------


def load_document(path: Path, corpus_dir: Path) -> Document:
    """Load one file as a Document; raises :class:`LoadError` when it cannot."""
    path = Path(path)
    rel = _relative(path, Path(corpus_dir))
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise LoadError(rel, f"unsupported file type {path.suffix or '(none)'}; "
                             f"convert it to one of {', '.join(sorted(SUPPORTED_SUFFIXES))}")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LoadError(rel, f"cannot read the file ({exc.strerror or exc}); check that it exists and is readable")
    if not data.strip():
        raise LoadError(rel, "empty file, nothing to index; add text to it or remove it from the corpus folder")

    parsed = _PARSERS[fmt](data, rel)
    if not parsed.text.strip():
        raise LoadError(rel, "no text found in the file; remove it from the corpus folder or save it with its text")
    title = parsed.title or title_of(parsed.text) or path.stem
    front = front_matter(parsed.text, title)
    metadata = {**parsed.metadata, **front.metadata}
    return Document(
        path=rel,
        title=title,
        text=parsed.text,
        format=fmt,
        sha256=hashlib.sha256(data).hexdigest(),
        size=len(data),
        metadata=metadata,
        pages=parsed.pages,
        headings=parsed.headings,
    )


def _relative(path: Path, corpus_dir: Path) -> str:
    # Files outside the corpus folder (an upload being checked, say) keep their
    # absolute path rather than an ambiguous bare name.
    for p, root in ((path, corpus_dir), (path.resolve(), corpus_dir.resolve())):
        try:
            return p.relative_to(root).as_posix()
        except ValueError:
            continue
    return path.resolve().as_posix()


def _parse_txt(data: bytes, name: str) -> Parsed:
    return Parsed(text=decode_text(data, name))


_PARSERS: dict[str, Callable[[bytes, str], Parsed]] = {
    "txt": _parse_txt, "md": markdown.parse, "pdf": pdf.parse, "docx": docx.parse, "html": html.parse,
}
