"""Files of the corpus to :class:`~rag.records.Document`.

One loader per format, all ending in the same record. For .txt and .md the
document text is the decoded file *unchanged* (no newline or Unicode
normalisation), because every chunk and citation offset indexes it; the other
formats have no such text, so theirs is built here and is the reference.

Scraped pages start with lines that describe the page rather than belong to
it (``时间:2022-11-18``, ``导语:…``). :func:`front_matter` finds them together
with the title line; the loader turns them into ``Document.metadata`` and the
chunker starts its body after them, both calling the same pure function on
the same text, so they always agree without a field in the record.
"""

from __future__ import annotations

import codecs
import hashlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ingest.records import Document, Heading
from lang.scripts import CJK_PUNCTUATION, IDEOGRAPHS, is_ideograph

SUPPORTED_SUFFIXES: frozenset[str] = frozenset({".txt", ".md", ".markdown", ".pdf", ".docx", ".html", ".htm"})

_FORMATS = {".txt": "txt", ".md": "md", ".markdown": "md", ".pdf": "pdf", ".docx": "docx",
            ".html": "html", ".htm": "html"}

TITLE_MAX_CHARS = 100

# Front matter is looked for among this many non-empty lines at the top: far
# enough for title + a few metadata lines + a repeated title, near enough that
# a "来源:" sentence in the body is never mistaken for one.
_FRONT_LINES = 10
_METADATA_LINE_MAX = 500


class LoadError(Exception):
    """A file that cannot be indexed. ``str()`` is one line naming the file
    and what to do about it; ``reason`` alone is kept for index manifests."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = str(path)
        self.reason = " ".join(str(reason).split())   # one line, whatever the cause said
        super().__init__(f"{self.path}: {self.reason}")


# --- discovery -----------------------------------------------------------


def discover(corpus_dir: Path) -> list[Path]:
    """Supported files under ``corpus_dir``, recursively, sorted by relative
    path. Hidden files and folders (``.git``, ``.DS_Store``) and Office lock
    files (``~$x.docx``) are skipped. Paths are ``corpus_dir / relative``."""
    corpus_dir = Path(corpus_dir)
    found = []
    for path in corpus_dir.rglob("*"):
        rel = path.relative_to(corpus_dir)
        if any(part.startswith(".") for part in rel.parts) or path.name.startswith("~$"):
            continue
        if path.suffix.lower() in SUPPORTED_SUFFIXES and path.is_file():
            found.append(path)
    return sorted(found, key=lambda p: p.relative_to(corpus_dir).as_posix())


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


@dataclass(frozen=True)
class _Parsed:
    """What a format parser hands back; the loader completes the Document."""

    text: str
    title: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    pages: tuple[int, ...] = ()
    headings: tuple[Heading, ...] = ()


# --- plain text and Markdown ---------------------------------------------

_BOMS: tuple[tuple[bytes, str], ...] = (
    # UTF-32 first: its little-endian BOM begins with UTF-16's.
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


def decode_text(data: bytes, name: str = "file") -> str:
    """Bytes of a text file to str, as the file's author most likely meant.

    BOM first (UTF-8, UTF-16, UTF-32; the BOM itself is not text), then strict
    UTF-8, then GB18030 (a superset of GBK and GB2312, the usual encodings of
    Chinese files that are not UTF-8) when the result reads as Chinese, then
    charset-normalizer's best guess. Binary data raises :class:`LoadError`.
    """
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError:
                raise LoadError(name, f"starts with a {codec} byte-order mark but is not valid {codec}; "
                                      "re-save it as UTF-8") from None
    if b"\x00" in data[:1024]:
        raise LoadError(name, "binary file (NUL bytes), not text; remove it from the corpus folder "
                              "or convert it to .txt, .md, .pdf, .docx or .html")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        text = data.decode("gb18030")
    except UnicodeDecodeError:
        text = None
    if text is not None and _looks_chinese(text):
        return text
    return _guess(data, name)


_CJK_PUNCTUATION = re.compile(f"[{CJK_PUNCTUATION}]")


def _looks_chinese(text: str) -> bool:
    # GB18030 maps most byte pairs to *some* character, so a Latin-1 or
    # Shift-JIS file can decode without error; what gives it away is that
    # its non-ASCII characters are not mostly Chinese.
    non_ascii = [c for c in text if ord(c) > 127]
    if not non_ascii:
        return False
    chinese = sum(1 for c in non_ascii if is_ideograph(c) or c == "\u00b7" or "\u2000" <= c <= "\u206f"
                  or _CJK_PUNCTUATION.match(c) or "\uff00" <= c <= "\uffef")
    return chinese / len(non_ascii) >= 0.9


def _guess(data: bytes, name: str) -> str:
    from charset_normalizer import from_bytes

    best = from_bytes(data).best()
    text = None if best is None else str(best)
    if text is None or _mostly_control(text):
        raise LoadError(name, "not readable as text in any known encoding (binary?); "
                              "re-save it as UTF-8 or remove it from the corpus folder")
    return text


def _mostly_control(text: str) -> bool:
    sample = text[:4096]
    controls = sum(1 for c in sample if ord(c) < 32 and c not in "\t\n\r\f\v")
    return controls > len(sample) * 0.05


def _parse_txt(data: bytes, name: str) -> _Parsed:
    return _Parsed(text=decode_text(data, name))


_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_ATX = re.compile(r"^ {0,3}(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
_SETEXT = re.compile(r"^ {0,3}(=+|-+)[ \t]*$")


def _parse_md(data: bytes, name: str) -> _Parsed:
    text = decode_text(data, name)
    return _Parsed(text=text, headings=tuple(markdown_headings(text)))


def markdown_headings(text: str) -> list[Heading]:
    """ATX (``## Title``) and setext (``Title`` over ``===``) headings outside
    fenced code blocks; a heading's span is its line (both lines for setext)."""
    headings: list[Heading] = []
    fence: str | None = None
    prev: tuple[int, int, str] | None = None   # start, end, stripped text of the previous plain line
    for start, end, line in _lines(text):
        stripped = line.strip()
        m = _FENCE.match(line)
        if fence is not None:
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence):
                fence = None
            prev = None
            continue
        if m:
            fence = m.group(1)
            prev = None
            continue
        m = _ATX.match(line)
        if m:
            title = (m.group(2) or "").strip()
            if title:
                s = start + (len(line) - len(line.lstrip()))
                headings.append(Heading(s, start + len(line.rstrip()), len(m.group(1)), title))
            prev = None
            continue
        m = _SETEXT.match(line)
        if m and prev is not None:
            level = 1 if m.group(1)[0] == "=" else 2
            headings.append(Heading(prev[0], start + len(line.rstrip()), level, prev[2]))
            prev = None
            continue
        # A list item or quote over "---" is a thematic break, not a heading.
        prev = (start + len(line) - len(line.lstrip()), end, stripped) \
            if stripped and not re.match(r"^([-*+>]|\d+[.)])\s", stripped) else None
    return headings


def _lines(text: str):
    """(start, end, line) for each line of text; end excludes the line break."""
    pos = 0
    n = len(text)
    while pos <= n:
        nl = text.find("\n", pos)
        end = n if nl < 0 else nl
        line = text[pos:end]
        if line.endswith("\r"):
            line = line[:-1]
        yield pos, pos + len(line), line
        if nl < 0:
            break
        pos = nl + 1


# --- PDF -------------------------------------------------------------------


def _parse_pdf(data: bytes, name: str) -> _Parsed:
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
    return _Parsed(text="".join(parts), metadata=metadata, pages=tuple(starts))


# --- Word ------------------------------------------------------------------

_DOCX_HEADING = re.compile(r"^(?:heading|标题)\s*([1-9])$", re.IGNORECASE)


def _parse_docx(data: bytes, name: str) -> _Parsed:
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
    return _Parsed(text="\n".join(lines), headings=tuple(headings))


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


# --- HTML ------------------------------------------------------------------

_DROP = ("script", "style", "nav", "header", "footer", "aside", "form", "noscript", "template",
         "iframe", "svg", "button", "select")
_BLOCKS = frozenset({
    "address", "article", "blockquote", "body", "caption", "dd", "details", "dialog", "div", "dl", "dt",
    "fieldset", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "li", "main", "ol",
    "p", "pre", "section", "summary", "table", "tbody", "thead", "tfoot", "tr", "ul", "html",
})
_CELLS = frozenset({"td", "th"})


def _parse_html(data: bytes, name: str) -> _Parsed:
    from bs4 import BeautifulSoup, NavigableString, Tag
    from bs4.element import PreformattedString

    if b"\x00" in data[:1024] and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise LoadError(name, "binary file (NUL bytes), not HTML; remove it from the corpus folder")
    # A page that declares its charset (or has a BOM) is decoded by bs4 as
    # declared; one that does not gets the same guesswork as a .txt file,
    # which knows GB18030 better than bs4's fallback does.
    declared = re.search(rb"charset\s*=", data[:4096], re.IGNORECASE) or data.startswith(tuple(b for b, _ in _BOMS))
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
    return _Parsed(text="\n".join(out.lines), title=title[:TITLE_MAX_CHARS], headings=tuple(out.headings))


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


_PARSERS: dict[str, Callable[[bytes, str], _Parsed]] = {
    "txt": _parse_txt, "md": _parse_md, "pdf": _parse_pdf, "docx": _parse_docx, "html": _parse_html,
}


# --- title and front matter ------------------------------------------------

# Keys of the metadata lines of scraped Chinese pages (and a few English ones),
# with the English key they are stored under.
_METADATA_KEYS = {
    "时间": "date", "日期": "date", "发布时间": "date", "发布日期": "date", "发表时间": "date",
    "更新时间": "updated", "来源": "source", "出处": "source", "作者": "author", "撰稿": "author",
    "导语": "summary", "摘要": "summary", "编辑": "editor", "责任编辑": "editor",
    "关键词": "keywords", "关键字": "keywords", "标签": "tags",
    "date": "date", "published": "date", "author": "author", "source": "source",
}
_METADATA_LINE = re.compile(
    r"^\s*(" + "|".join(sorted(map(re.escape, _METADATA_KEYS), key=len, reverse=True)) + r")\s*[:：]\s*(\S.*?)\s*$",
    re.IGNORECASE,
)
# A key is a word (``\w`` holds the ideographs); it starts with a letter or an ideograph.
_YAML_KEY = re.compile(rf"^([A-Za-z_{IDEOGRAPHS}][\w -]*?)\s*:\s*(.*?)\s*$")


@dataclass(frozen=True)
class FrontMatter:
    """The top of a document that describes it rather than being part of it:
    title line, metadata lines (``时间:…``), a repeated title, or a YAML block.
    Everything before ``body_start`` is front matter."""

    body_start: int
    metadata: dict[str, str] = field(default_factory=dict)
    title: str = ""     # from a YAML ``title:``, the only front matter that names one


def is_metadata_line(line: str) -> bool:
    """Whether ``line`` is a metadata line like ``时间:2022-11-18`` or ``导语：…``."""
    return len(line) <= _METADATA_LINE_MAX and _METADATA_LINE.match(line) is not None


def title_of(text: str) -> str:
    """A document's title from its text: YAML ``title:``, else the first
    non-empty line that is not a metadata line (without Markdown ``#``),
    capped at TITLE_MAX_CHARS. Empty when the text has none."""
    front = front_matter(text, "")
    if front.title:
        return front.title[:TITLE_MAX_CHARS]
    for _, _, line in _lines(text[front.body_start:]):
        if line.strip() and not is_metadata_line(line):
            return _clean_title(line)[:TITLE_MAX_CHARS].strip()
    return ""


def front_matter(text: str, title: str) -> FrontMatter:
    """Find the front matter of ``text``, a document titled ``title``.

    Among the first lines, blank lines, metadata lines, a YAML block at the
    very top and lines that *are* the title (the first non-empty line, or a
    scraped page repeating it) are front matter; the first other line starts
    the body. A first line longer than the title is body: a title capped from
    a long first paragraph must not drop that paragraph.
    """
    metadata: dict[str, str] = {}
    yaml_title = ""
    body_start = 0
    lines = list(_head_lines(text))
    i = 0
    if lines and lines[0][2].strip() == "---":
        for j in range(1, min(len(lines), 60)):
            if lines[j][2].strip() in {"---", "..."}:
                for _, _, line in lines[1:j]:
                    m = _YAML_KEY.match(line)
                    if m and m.group(2):
                        key = _METADATA_KEYS.get(m.group(1).lower(), m.group(1).lower())
                        value = m.group(2).strip("'\"")
                        if key == "title":
                            yaml_title = value
                        else:
                            metadata.setdefault(key, value)
                i = j + 1
                body_start = _after(text, lines[j][1])
                break
    wanted_title = title.strip() or yaml_title
    first_title_line: int | None = None
    non_empty = 0
    for start, end, line in lines[i:]:
        if not line.strip():
            continue
        non_empty += 1
        if non_empty > _FRONT_LINES:
            break
        m = _METADATA_LINE.match(line) if len(line) <= _METADATA_LINE_MAX else None
        if m:
            metadata.setdefault(_METADATA_KEYS[m.group(1).lower()], m.group(2))
        elif wanted_title and _clean_title(line) == wanted_title:
            if first_title_line is None:
                first_title_line = start
        else:
            return FrontMatter(body_start=start, metadata=metadata, title=yaml_title)
        body_start = _after(text, end)
    if not text[body_start:].strip():
        # A document that is nothing but its title still has to be findable:
        # its title line is then its body.
        body_start = first_title_line if first_title_line is not None else 0
    return FrontMatter(body_start=min(body_start, len(text)), metadata=metadata, title=yaml_title)


def _head_lines(text: str):
    # Only the top matters; don't split a whole book into lines for it.
    head = text[:20000]
    for start, end, line in _lines(head):
        yield start, end, line


def _after(text: str, end: int) -> int:
    """The offset after the line break that follows ``end``."""
    if text.startswith("\r\n", end):
        return end + 2
    if text.startswith(("\n", "\r"), end):
        return end + 1
    return end


def _clean_title(line: str) -> str:
    s = line.strip()
    if s.startswith("#"):
        s = s.lstrip("#").strip()
        s = re.sub(r"\s+#+$", "", s)
    return s
