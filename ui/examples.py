"""Example questions derived from what the index holds.

The section headings of the indexed documents say what the corpus is about;
each example asks about one heading, in the heading's own language (a
Chinese heading gets a Chinese question, which also retrieves best). Round
robin over documents, so a corpus of several documents shows several.
Without headings, the documents' titles are used.
"""

from __future__ import annotations

import re
from typing import Iterable, Sequence

from ingest.records import Chunk
from lang.scripts import has_cjk

_NUMBERING = re.compile(
    r"^\s*(?:"
    r"第[一二三四五六七八九十百零〇\d]+[章节部分篇条]"
    r"|[一二三四五六七八九十百]+[、.．]"
    r"|[（(][一二三四五六七八九十百\d]+[)）]"
    r"|\d+(?:\.\d+)*[、.．)）]?"
    r"|[A-Za-z][.)]"
    r"|[IVXLC]+\."
    r")\s*")
_TRAILING = re.compile(r"[。:：;；,，\s]+$")


def clean_heading(heading: str) -> str:
    """A heading without its numbering and trailing punctuation."""
    text = heading.strip()
    for _ in range(2):
        text = _NUMBERING.sub("", text, count=1)
    return _TRAILING.sub("", text).strip()


def question_for(topic: str, *, title: bool = False) -> str:
    if has_cjk(topic):
        if title:
            return f"《{topic}》主要讲了什么？"
        if topic.endswith(("？", "?")):
            return topic
        return f"文中关于“{topic}”是怎么说的？"
    if title:
        return f'What is "{topic}" about?'
    if topic.endswith("?"):
        return topic
    return f'What does the document say about "{topic}"?'


def example_questions(chunks: Iterable[Chunk], titles: Sequence[tuple[str, str]] = (), limit: int = 4) -> list[str]:
    """Up to ``limit`` questions about the section headings of ``chunks``
    (leaf headings of each section path, documents taken in turn); the
    documents' ``(path, title)`` pairs fill in when there are too few."""
    per_doc: dict[str, list[str]] = {}
    doc_titles = {path: title for path, title in titles}
    for c in chunks:
        doc_titles.setdefault(c.doc, c.title)
        if not c.section:
            continue
        leaf = clean_heading(c.section.split(" > ")[-1])
        if not 4 <= len(leaf) <= 40 or leaf == clean_heading(doc_titles.get(c.doc, "")):
            continue
        topics = per_doc.setdefault(c.doc, [])
        if leaf not in topics:
            topics.append(leaf)
    ordered = [per_doc[d] for d in sorted(per_doc)]
    questions: list[str] = []
    # Spread over each document: every other heading, so the examples are
    # not all from the introduction.
    spread = [topics[::max(1, len(topics) // max(1, limit))] for topics in ordered]
    depth = max((len(s) for s in spread), default=0)
    for i in range(depth):
        for topics in spread:
            if i < len(topics) and len(questions) < limit:
                q = question_for(topics[i])
                if q not in questions:
                    questions.append(q)
    for path in sorted(doc_titles):
        title = clean_heading(doc_titles[path] or "")
        if len(questions) >= limit:
            break
        if 2 <= len(title) <= 60:
            q = question_for(title, title=True)
            if q not in questions:
                questions.append(q)
    return questions[:limit]
