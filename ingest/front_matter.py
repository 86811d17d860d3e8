"""The top of a document that describes it: title line and metadata lines.

Scraped pages start with lines that describe the page rather than belong to
it (``时间:2022-11-18``, ``导语:…``). :func:`front_matter` finds them together
with the title line; the loader turns them into ``Document.metadata`` and the
outline starts the body after them, both calling the same pure function on
the same text, so they always agree without a field in the record.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ingest.lines import iter_lines
from lang.scripts import IDEOGRAPHS

TITLE_MAX_CHARS = 100

# Front matter is looked for among this many non-empty lines at the top: far
# enough for title + a few metadata lines + a repeated title, near enough that
# a "来源:" sentence in the body is never mistaken for one.
_FRONT_LINES = 10
_METADATA_LINE_MAX = 500

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
    for _, _, line in iter_lines(text[front.body_start:]):
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
    for start, end, line in iter_lines(head):
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
