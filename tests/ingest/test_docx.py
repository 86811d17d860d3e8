"""ingest.formats.docx: paragraphs, heading styles and table rows of a Word
file; a file that is not one refused."""

from __future__ import annotations

import pytest

from ingest.errors import LoadError
from ingest.loaders import load_document
from sample_files import make_docx, write


def test_docx_paragraphs_headings_and_table_rows(tmp_path):
    doc = load_document(make_docx(tmp_path / "w.docx"), tmp_path)
    assert doc.format == "docx"
    assert doc.title == "创新组织工作经验交流"
    lines = doc.text.split("\n")
    assert lines[0] == "创新组织工作经验交流"
    assert "制度 | 任前公示制" in lines and "机制 | 全委会表决制" in lines
    assert [(h.level, h.title) for h in doc.headings] == [
        (1, "创新组织工作经验交流"), (1, "一、创新组织工作方式方法的重要性和必要性"),
        (2, "(一)本质要求"), (1, "二、现状及存在问题")]
    for h in doc.headings:
        assert doc.text[h.start:h.end] == h.title


def test_a_file_that_is_not_really_docx_is_a_load_error(tmp_path):
    with pytest.raises(LoadError, match="cannot read this .docx"):
        load_document(write(tmp_path, "fake.docx", b"PK\x03\x04 not really a zip"), tmp_path)
