"""ingest.formats.markdown: the text kept as written, ATX and setext headings
listed, fenced code ignored."""

from __future__ import annotations

from ingest.loaders import load_document
from sample_files import write


def test_markdown_keeps_its_text_and_lists_its_headings(tmp_path):
    text = ("# 创新组织工作\n\n导语。\n\n## 一、重要性\n\n正文一。\n\n```\n# not a heading\n```\n\n"
            "### (一)本质要求 ###\n\n正文二。\n\n现状\n---\n\n正文三。\n")
    doc = load_document(write(tmp_path, "a.md", text), tmp_path)
    assert doc.text == text and doc.format == "md"
    assert doc.title == "创新组织工作"
    assert [(h.level, h.title) for h in doc.headings] == [
        (1, "创新组织工作"), (2, "一、重要性"), (3, "(一)本质要求"), (2, "现状")]
    for h in doc.headings[:3]:
        assert doc.text[h.start:h.end].lstrip("#").strip().rstrip("#").strip() == h.title
    assert doc.text[doc.headings[3].start:doc.headings[3].end] == "现状\n---"
