"""ingest.decoding: text files decoded as written (BOMs, UTF-8, the GB
encodings, UTF-16, a guess for the rest), nothing normalised, binary refused."""

from __future__ import annotations

import pytest

from ingest.decoding import decode_text
from ingest.errors import LoadError
from ingest.loaders import load_document
from sample_files import ESSAY_TEXT, write


def test_utf8_with_bom_drops_only_the_bom(tmp_path):
    path = write(tmp_path, "bom.txt", b"\xef\xbb\xbf" + ESSAY_TEXT.encode("utf-8"))
    doc = load_document(path, tmp_path)
    assert doc.text == ESSAY_TEXT
    assert doc.size == len(ESSAY_TEXT.encode("utf-8")) + 3


@pytest.mark.parametrize("encoding", ["gb18030", "gbk", "gb2312"])
def test_chinese_legacy_encodings_decode_to_the_same_text(tmp_path, encoding):
    path = write(tmp_path, f"{encoding}.txt", ESSAY_TEXT.encode(encoding))
    assert load_document(path, tmp_path).text == ESSAY_TEXT


def test_gb18030_characters_outside_gbk_survive(tmp_path):
    text = "创新组织工作经验交流\n\n“三个代表”重要思想。€ 𠀀\n"   # 𠀀 needs GB18030's 4-byte form
    path = write(tmp_path, "ext.txt", text.encode("gb18030"))
    assert load_document(path, tmp_path).text == text


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_with_bom_decodes(tmp_path, encoding):
    bom = b"\xff\xfe" if encoding.endswith("le") else b"\xfe\xff"
    path = write(tmp_path, "u16.txt", bom + ESSAY_TEXT.encode(encoding))
    assert load_document(path, tmp_path).text == ESSAY_TEXT


def test_crlf_and_trailing_spaces_are_kept_as_written(tmp_path):
    text = "标题\r\n\r\n第一句。  \r\n第二句。\r\n"
    path = write(tmp_path, "crlf.txt", text.encode("utf-8"))
    assert load_document(path, tmp_path).text == text


def test_non_chinese_legacy_text_falls_back_to_charset_guess(tmp_path):
    # Neither UTF-8 nor GB18030: charset-normalizer's guess decodes it. (Which
    # single-byte code page it picks for so short a text is its business.)
    text = "Café crème brûlée, à la française.\nDéjà vu.\n" * 5
    data = text.encode("latin-1")
    path = write(tmp_path, "latin.txt", data)
    decoded = load_document(path, tmp_path).text
    assert "Caf" in decoded and "la fran" in decoded
    assert not any("\u4e00" <= c <= "\u9fff" for c in decoded)


def test_binary_file_is_refused_naming_the_file_and_what_to_do(tmp_path):
    path = write(tmp_path, "photo.txt", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4)
    with pytest.raises(LoadError) as info:
        load_document(path, tmp_path)
    message = str(info.value)
    assert "photo.txt" in message and "binary" in message and "remove" in message
    assert "\n" not in message
    assert info.value.path == "photo.txt"


def test_decode_text_prefers_utf8_when_bytes_are_valid_utf8():
    # These bytes are valid in both; UTF-8 is checked first.
    assert decode_text("组织工作".encode("utf-8")) == "组织工作"
