"""ingest.loaders: every supported suffix discovered and loaded as its
format, a Document that records its file (relative path, hash, size), and
files that cannot be loaded refused with a clear one-line message."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from ingest.errors import LoadError
from ingest.loaders import SUPPORTED_SUFFIXES, discover, load_document
from sample_files import ESSAY_TEXT, ESSAY_TITLE, make_pdf, write


# --- discovery --------------------------------------------------------------------


def test_discover_finds_supported_files_recursively_sorted_skipping_hidden_and_unsupported(tmp_path):
    for name in ["b.txt", "a.md", "sub/c.PDF", "sub/deeper/d.html", "e.htm", "f.docx",
                 ".hidden.txt", ".git/config.txt", "sub/.cache/x.md", "notes.rtf", "image.png",
                 "~$f.docx"]:
        write(tmp_path, name, b"x")
    found = [p.relative_to(tmp_path).as_posix() for p in discover(tmp_path)]
    assert found == ["a.md", "b.txt", "e.htm", "f.docx", "sub/c.PDF", "sub/deeper/d.html"]


def test_discover_skips_links_leading_outside_the_corpus_naming_them(tmp_path, caplog):
    corpus, outside = tmp_path / "corpus", tmp_path / "outside"
    write(corpus, "normal.txt", b"x")
    write(outside, "secret.txt", b"secret")
    write(outside, "sub/deep.txt", b"secret")
    (corpus / "link.txt").symlink_to(outside / "secret.txt")
    (corpus / "folder").symlink_to(outside / "sub", target_is_directory=True)
    (corpus / "inside.txt").symlink_to(corpus / "normal.txt")     # a link within the corpus is a file like any
    skipped: list[LoadError] = []
    with caplog.at_level("WARNING", logger="ingest.loaders"):
        found = [p.relative_to(corpus).as_posix() for p in discover(corpus, skipped)]
    assert found == ["inside.txt", "normal.txt"]
    assert [e.path for e in skipped] == ["link.txt"] and "outside the corpus folder" in skipped[0].reason
    assert any("link.txt" in r.getMessage() and r.levelname == "WARNING" for r in caplog.records)


# One small file per supported suffix, each holding the marker sentence, and the format it loads as.
MARKER = "Lake Qingsong lies east of the county."


SAMPLES = {
    ".txt": ("txt", lambda path: path.write_text(f"标题\n{MARKER}\n", "utf-8")),
    ".md": ("md", lambda path: path.write_text(f"# 标题\n\n{MARKER}\n", "utf-8")),
    ".markdown": ("md", lambda path: path.write_text(f"# 标题\n\n{MARKER}\n", "utf-8")),
    ".html": ("html", lambda path: path.write_text(f"<html><body><h1>标题</h1><p>{MARKER}</p></body></html>", "utf-8")),
    ".htm": ("html", lambda path: path.write_text(f"<html><body><h1>标题</h1><p>{MARKER}</p></body></html>", "utf-8")),
    ".pdf": ("pdf", lambda path: path.write_bytes(make_pdf([["Title", MARKER]]))),
    ".docx": ("docx", lambda path: _docx_with(path, MARKER)),
}


def _docx_with(path: Path, text: str) -> None:
    import docx

    document = docx.Document()
    document.add_heading("标题", 0)
    document.add_paragraph(text)
    document.save(str(path))


def test_every_supported_suffix_is_discovered_and_loads_as_its_format(tmp_path):
    # Each suffix the loaders advertise (in any letter case) is found and read; none is advertised without a reader.
    assert set(SAMPLES) == SUPPORTED_SUFFIXES
    for suffix, (fmt, make) in SAMPLES.items():
        make(tmp_path / f"sample{suffix.upper()}")
    assert sorted(p.suffix.lower() for p in discover(tmp_path)) == sorted(SUPPORTED_SUFFIXES)
    for path in discover(tmp_path):
        doc = load_document(path, tmp_path)
        assert doc.format == SAMPLES[path.suffix.lower()][0], path.name
        assert MARKER in doc.text, path.name


# --- the record and refusals ------------------------------------------------------


def test_utf8_file_loads_unchanged_with_relative_path_hash_and_size(tmp_path):
    path = write(tmp_path, "sub/文章.txt", ESSAY_TEXT)
    data = path.read_bytes()
    doc = load_document(path, tmp_path)
    assert doc.text == ESSAY_TEXT
    assert doc.path == "sub/文章.txt"
    assert doc.format == "txt"
    assert doc.sha256 == hashlib.sha256(data).hexdigest()
    assert doc.size == len(data)
    assert doc.title == ESSAY_TITLE


def test_empty_file_is_refused_with_a_clear_message(tmp_path):
    for name, data in [("empty.txt", b""), ("blank.md", b"  \n\n\t\n")]:
        path = write(tmp_path, name, data)
        with pytest.raises(LoadError) as info:
            load_document(path, tmp_path)
        assert str(info.value).startswith(f"{name}: empty file")
        assert "\n" not in str(info.value)


def test_unsupported_suffix_is_refused(tmp_path):
    path = write(tmp_path, "notes.rtf", b"{\\rtf1 hello}")
    with pytest.raises(LoadError, match="unsupported file type .rtf"):
        load_document(path, tmp_path)
