"""Questions about a document itself — its title, date, author or summary —
rather than about what it says.

Chunks hold a document's body; its front matter (title line, ``时间:…``,
``作者:…``, ``导语:…``) is not embedded, so no retrieved passage quotes it.
To answer "这篇文章的标题是什么？" the answer composer adds the front-matter
lines of the retrieved documents as extra candidate sentences (verbatim
spans of the document, like any other) and counts a line that holds the
asked-for field as a full lexical match.
"""

from __future__ import annotations

import re

from ingest.front_matter import front_matter
from ingest.records import Sentence
from lang.scripts import fold

# What the question asks about, by field. Each needs a word naming the
# document as well, so "标题" in "工作的标题党现象" is not a metadata question.
_FIELDS: dict[str, re.Pattern[str]] = {
    "title": re.compile(r"标题|题目|篇名|题名|文章名|名称|叫什么|\btitle\b|\bcalled\b|\bnamed?\b"),
    "date": re.compile(r"时间|日期|哪天|哪一天|何时|什么时候|哪一年|哪年|发表|发布|上传|\bdate\b|\bwhen\b|\bpublished\b|\bwritten\b"),
    "author": re.compile(r"作者|谁写|撰写|\bauthor\b|\bwho wrote\b|\bwritten by\b"),
    "summary": re.compile(r"导语|摘要|概要|简介|来源|出处|\bsummary\b|\babstract\b|\bsource\b"),
}
_DOCUMENT_WORDS = re.compile(r"这篇|本文|该文|文章|文档|此文|全文|这份|本篇|\b(?:article|document|essay|text|paper|file)\b")
# Metadata line labels, per field, as front matter writes them.
_LABELS: dict[str, re.Pattern[str]] = {
    "date": re.compile(r"^\s*(?:时间|日期|发布时间|发表时间|date|published)\s*[:：]", re.IGNORECASE),
    "author": re.compile(r"^\s*(?:作者|撰稿|author|by)\s*[:：]", re.IGNORECASE),
    "summary": re.compile(r"^\s*(?:导语|摘要|简介|来源|summary|abstract|source)\s*[:：]", re.IGNORECASE),
}


def asked_field(question: str) -> str | None:
    """The document field the question asks for ("title", "date", "author",
    "summary"), or None when it asks about the content."""
    q = fold(question)
    if not _DOCUMENT_WORDS.search(q):
        return None
    for name, pattern in _FIELDS.items():
        if pattern.search(q):
            return name
    return None


def front_matter_lines(text: str, title: str) -> list[Sentence]:
    """The non-empty lines of the document's front matter, as spans of ``text``."""
    end = front_matter(text, title).body_start
    out = []
    for m in re.finditer(r"[^\r\n]+", text[:end]):
        line = m.group(0)
        lo, hi = m.start() + (len(line) - len(line.lstrip())), m.end() - (len(line) - len(line.rstrip()))
        if hi > lo:
            out.append(Sentence(lo, hi, text[lo:hi]))
    return out


def answers_field(line: str, field: str, title: str) -> bool:
    """Whether a front-matter (or body) line states the asked-for field."""
    if field == "title":
        return bool(title) and fold(line.strip()) == fold(title.strip())
    label = _LABELS.get(field)
    return bool(label and label.match(line))
