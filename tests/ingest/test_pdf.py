"""ingest.formats.pdf: the text layer joined by pages with page offsets;
scans and damaged files refused with what to do."""

from __future__ import annotations

import pytest

from ingest.errors import LoadError
from ingest.loaders import load_document
from sample_files import make_pdf, write


def test_pdf_text_layer_is_joined_by_pages_with_page_offsets(tmp_path):
    pdf = make_pdf([["Organizational Work", "The first page says hello."],
                    ["The second page says goodbye."]])
    doc = load_document(write(tmp_path, "two.pdf", pdf), tmp_path)
    assert doc.format == "pdf"
    assert len(doc.pages) == 2 and doc.pages[0] == 0
    assert doc.text[doc.pages[1] - 2:doc.pages[1]] == "\n\n"
    assert "hello" in doc.text[:doc.pages[1]] and "goodbye" in doc.text[doc.pages[1]:]
    assert doc.page_at(doc.text.index("goodbye")) == 2
    assert doc.page_at(doc.text.index("hello")) == 1
    assert doc.title == "Organizational Work"


def test_pdf_without_text_layer_asks_for_ocr(tmp_path):
    with pytest.raises(LoadError, match="no text layer.*OCR"):
        load_document(write(tmp_path, "scan.pdf", make_pdf([[], []])), tmp_path)


def test_damaged_pdf_is_a_load_error(tmp_path):
    with pytest.raises(LoadError, match="cannot read this PDF"):
        load_document(write(tmp_path, "bad.pdf", b"%PDF-1.4\nthis is not a pdf at all" * 3), tmp_path)
