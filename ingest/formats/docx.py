"""Word (.docx): paragraphs and table rows as lines, heading styles as headings.

Tables are read in place (a row per line, cells joined by " | ") because a
table usually belongs to the section it appears in.
"""

from __future__ import annotations

import re

from ingest.errors import LoadError
from ingest.formats import Parsed
from ingest.records import Heading

_DOCX_HEADING = re.compile(r"^(?:heading|标题)\s*([1-9])$", re.IGNORECASE)


def parse(data: bytes, name: str) -> Parsed:
    import io

    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:   # python-docx raises zip, XML and key errors on bad files
        raise LoadError(name, f"cannot read this .docx ({type(exc).__name__}); "
                              "open and re-save it in Word or LibreOffice (old .doc files must be converted)") from None

    lines: list[str] = []
    headings: list[Heading] = []
    pos = 0

    def add(line: str) -> int:
        nonlocal pos
        start = pos + (1 if lines else 0)
        lines.append(line)
        pos = start + len(line)
        return start

    def walk(parent) -> None:
        for child in parent.iterchildren():
            tag = child.tag.rsplit("}", 1)[-1]
            if tag == "p":
                para = Paragraph(child, document)
                text = para.text
                start = add(text)
                level = _docx_heading_level(para)
                if level and text.strip():
                    lead = len(text) - len(text.lstrip())
                    headings.append(Heading(start + lead, start + len(text.rstrip()), level, text.strip()))
            elif tag == "tbl":
                # In place rather than at the end: a table usually belongs to
                # the section it appears in.
                for row in Table(child, document).rows:
                    add(_row_text(row))
            elif tag in {"sdt", "sdtContent"}:
                walk(child)   # content controls (e.g. a table of contents) wrap paragraphs

    walk(document.element.body)
    return Parsed(text="\n".join(lines), headings=tuple(headings))


def _docx_heading_level(para) -> int:
    try:
        style = para.style.name if para.style is not None else ""
    except Exception:   # a paragraph can name a style the file does not define
        return 0
    if style.lower() in {"title", "标题"}:
        return 1
    m = _DOCX_HEADING.match(style.strip())
    return int(m.group(1)) if m else 0


def _row_text(row) -> str:
    cells: list[str] = []
    for cell in row.cells:
        text = " ".join(cell.text.split())
        # python-docx repeats a merged cell once per grid column it spans.
        if not cells or cells[-1] != text:
            cells.append(text)
    return " | ".join(cells)
