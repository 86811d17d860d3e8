"""HTML: the visible text of a page, one line per block, h1-h6 as headings.

Scripts, styles, navigation and other page chrome are dropped; a page that
does not declare its charset is decoded like a text file.
"""

from __future__ import annotations

import codecs
import re

from ingest.decoding import BOMS, decode_text
from ingest.errors import LoadError
from ingest.formats import Parsed
from ingest.front_matter import TITLE_MAX_CHARS
from ingest.records import Heading

_DROP = ("script", "style", "nav", "header", "footer", "aside", "form", "noscript", "template",
         "iframe", "svg", "button", "select")
_BLOCKS = frozenset({
    "address", "article", "blockquote", "body", "caption", "dd", "details", "dialog", "div", "dl", "dt",
    "fieldset", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "li", "main", "ol",
    "p", "pre", "section", "summary", "table", "tbody", "thead", "tfoot", "tr", "ul", "html",
})
_CELLS = frozenset({"td", "th"})


def parse(data: bytes, name: str) -> Parsed:
    from bs4 import BeautifulSoup, NavigableString, Tag
    from bs4.element import PreformattedString

    if b"\x00" in data[:1024] and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise LoadError(name, "binary file (NUL bytes), not HTML; remove it from the corpus folder")
    # A page that declares its charset (or has a BOM) is decoded by bs4 as
    # declared; one that does not gets the same guesswork as a .txt file,
    # which knows GB18030 better than bs4's fallback does.
    declared = re.search(rb"charset\s*=", data[:4096], re.IGNORECASE) or data.startswith(tuple(b for b, _ in BOMS))
    soup = BeautifulSoup(data if declared else decode_text(data, name), "html.parser")
    title = ""
    if soup.title and soup.title.get_text(strip=True):
        title = " ".join(soup.title.get_text().split())
    for tag in soup.find_all(list(_DROP)):
        tag.decompose()
    for tag in soup.find_all(["head", "title"]):
        tag.decompose()
    if not title:
        h1 = soup.find("h1")
        if h1 is not None and h1.get_text(strip=True):
            title = " ".join(h1.get_text().split())

    out = _HtmlText()

    def walk(node) -> None:
        for child in node.children:
            if isinstance(child, PreformattedString):   # comments, doctype, CDATA
                continue
            if isinstance(child, NavigableString):
                out.inline(str(child))
            elif isinstance(child, Tag):
                tag = child.name.lower()
                if tag == "br":
                    out.flush()
                elif tag == "pre":
                    out.flush()
                    out.preformatted(child.get_text())
                elif tag in _CELLS:
                    out.cell()
                    walk(child)
                elif tag in _BLOCKS:
                    out.flush()
                    level = int(tag[1]) if re.fullmatch(r"h[1-6]", tag) else 0
                    out.begin(level)
                    walk(child)
                    out.flush()
                    out.end_heading()
                else:
                    walk(child)

    walk(soup)
    out.flush()
    return Parsed(text="\n".join(out.lines), title=title[:TITLE_MAX_CHARS], headings=tuple(out.headings))


class _HtmlText:
    """Accumulates the visible text of HTML as lines, one per block."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.headings: list[Heading] = []
        self._buf: list[str] = []
        self._pos = 0
        self._row_has_cell = False
        self._heading_level = 0
        self._heading_start: int | None = None

    def inline(self, s: str) -> None:
        self._buf.append(s)

    def cell(self) -> None:
        # Cells of one row stay on one line, separated, so a row reads as a record.
        if "".join(self._buf).strip():
            self._buf.append(" | ")

    def begin(self, level: int) -> None:
        self._heading_level = level
        self._heading_start = None

    def end_heading(self) -> None:
        self._heading_level = 0

    def preformatted(self, s: str) -> None:
        for line in s.strip("\n").split("\n"):
            if line.strip():
                self._emit(line.rstrip())

    def flush(self) -> None:
        line = " ".join("".join(self._buf).split())
        self._buf = []
        line = line.strip(" |")
        if line:
            start = self._emit(line)
            if self._heading_level:
                self.headings.append(Heading(start, start + len(line), self._heading_level, line))

    def _emit(self, line: str) -> int:
        start = self._pos + (1 if self.lines else 0)
        self.lines.append(line)
        self._pos = start + len(line)
        return start
