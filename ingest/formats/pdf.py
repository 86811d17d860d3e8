"""PDF: the text layer of each page, pages joined by a blank line.

A PDF has no text of its own to index, so the text built here (and the offset
where each page starts, for "p. N" citations) is the document's reference.
"""

from __future__ import annotations

from ingest.errors import LoadError
from ingest.formats import Parsed


def parse(data: bytes, name: str) -> Parsed:
    import io

    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoadError(name, "encrypted PDF; save an unprotected copy and index that")
        page_texts = [(page.extract_text() or "") for page in reader.pages]
    except LoadError:
        raise
    except Exception as exc:   # pypdf raises many types (PdfReadError, KeyError, ...) on damaged files
        raise LoadError(name, f"cannot read this PDF ({type(exc).__name__}: {exc}); "
                              "re-export or re-save it and try again") from None
    if not any(t.strip() for t in page_texts):
        raise LoadError(name, "PDF has no text layer (scanned images?); OCR it first, "
                              "e.g. ocrmypdf in.pdf out.pdf, then index the result")
    starts = []
    parts = []
    pos = 0
    for i, t in enumerate(page_texts):
        if i:
            parts.append("\n\n")
            pos += 2
        starts.append(pos)
        parts.append(t)
        pos += len(t)
    metadata = {}
    try:
        author = (reader.metadata or {}).get("/Author")
        if author and str(author).strip():
            metadata["author"] = str(author).strip()
    except Exception:   # broken info dictionaries are common and harmless
        pass
    return Parsed(text="".join(parts), metadata=metadata, pages=tuple(starts))
