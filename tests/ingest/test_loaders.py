"""ingest.loaders: files of every supported format to Documents, text decoded
as written, front matter recognised, unreadable files refused with a clear
message. The builders at the top (PDF, docx) are shared with test_chunking."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from conftest import ESSAY
from ingest.loaders import (
    SUPPORTED_SUFFIXES,
    LoadError,
    decode_text,
    discover,
    front_matter,
    is_metadata_line,
    load_document,
    title_of,
)

ESSAY_TEXT = ESSAY.read_text("utf-8")
ESSAY_TITLE = "创新组织工作经验交流"
# A real passage of the essay, with its “…” quotes and ASCII commas.
PASSAGE = ("(一)创新组织工作方式方法是实践“三个代表”重要思想的本质要求。"
           "“三个代表”重要思想具有与时俱进的马克思主义理论品质。")


# --- builders ----------------------------------------------------------------


def make_pdf(pages: list[list[str]]) -> bytes:
    """A minimal valid PDF, written by hand: one Helvetica text line per string
    (ASCII only: the standard fonts have no Chinese glyphs), one page per list.
    An empty list gives a page without a text layer."""
    objects: list[bytes] = []
    n_pages = len(pages)
    page_ids = [4 + 2 * i for i in range(n_pages)]
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % i for i in page_ids)
                   + b"] /Count %d >>" % n_pages)
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    for i, lines in enumerate(pages):
        content_id = page_ids[i] + 1
        objects.append(b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
                       b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % content_id)
        if lines:
            ops = ["BT", "/F1 12 Tf", "16 TL", "72 720 Td"]
            for line in lines:
                escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
                ops += [f"({escaped}) Tj", "T*"]
            ops.append("ET")
        else:
            ops = ["0 0 1 rg", "72 72 200 200 re", "f"]   # a picture, no text
        stream = "\n".join(ops).encode("latin-1")
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def make_docx(path: Path) -> Path:
    """A Word file with a title, two heading levels, body paragraphs from the
    essay and a table."""
    import docx

    document = docx.Document()
    document.add_heading("创新组织工作经验交流", 0)                       # style "Title"
    document.add_heading("一、创新组织工作方式方法的重要性和必要性", 1)   # "Heading 1"
    document.add_paragraph("组织部门作为党的建设的重要职能部门,肩负着带头实践“三个代表”重要思想的重要使命。"
                           "必须根据不断发展变化的形势、任务和出现的新情况新问题,解放思想,实事求是。")
    document.add_heading("(一)本质要求", 2)                               # "Heading 2"
    document.add_paragraph(PASSAGE)
    document.add_heading("二、现状及存在问题", 1)
    document.add_paragraph("多年来,我市的组织工作不断适应形势的发展变化,不断改进和完善工作方式方法。")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "制度"
    table.cell(0, 1).text = "任前公示制"
    table.cell(1, 0).text = "机制"
    table.cell(1, 1).text = "全委会表决制"
    document.save(str(path))
    return path


HTML = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>创新组织工作经验交流</title>
<style>body { color: red }</style>
<script>var secret = "不要索引这段脚本";</script></head>
<body>
<nav><a href="/">首页</a> | <a href="/about">关于本站</a></nav>
<header>网站页眉广告</header>
<article>
<h1>创新组织工作经验交流</h1>
<p>深入贯彻落实“三个代表”重要思想对组织工作提出的新要求,推动组织工作与时俱进。</p>
<h2>一、重要性和必要性</h2>
<p>组织部门作为党的建设的重要职能部门,<b>肩负着</b>重要使命。</p>
<div>必须解放思想,实事求是。<br>与时俱进,开拓创新。</div>
<h3>(一)本质要求</h3>
<ul><li>第一项</li><li>第二项</li></ul>
<table><tr><th>制度</th><td>任前公示制</td></tr></table>
</article>
<aside>相关文章推荐</aside>
<form><input name="q"><button>搜索</button></form>
<footer>版权所有</footer>
</body></html>
"""


def write(folder: Path, name: str, data: bytes | str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        path.write_text(data, "utf-8", newline="")
    else:
        path.write_bytes(data)
    return path


# --- discovery -----------------------------------------------------------------


def test_discover_finds_supported_files_recursively_sorted_skipping_hidden_and_unsupported(tmp_path):
    for name in ["b.txt", "a.md", "sub/c.PDF", "sub/deeper/d.html", "e.htm", "f.docx",
                 ".hidden.txt", ".git/config.txt", "sub/.cache/x.md", "notes.rtf", "image.png",
                 "~$f.docx"]:
        write(tmp_path, name, b"x")
    found = [p.relative_to(tmp_path).as_posix() for p in discover(tmp_path)]
    assert found == ["a.md", "b.txt", "e.htm", "f.docx", "sub/c.PDF", "sub/deeper/d.html"]


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


# --- text decoding -----------------------------------------------------------


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


def test_decode_text_prefers_utf8_when_bytes_are_valid_utf8():
    # These bytes are valid in both; UTF-8 is checked first.
    assert decode_text("组织工作".encode("utf-8")) == "组织工作"


# --- titles and metadata -----------------------------------------------------


def test_essay_metadata_lines_become_english_keyed_metadata(tmp_path):
    doc = load_document(write(tmp_path, "essay.txt", ESSAY_TEXT), tmp_path)
    assert doc.metadata["date"] == "2022-11-18 02:39:00"
    assert doc.metadata["summary"].startswith("创新组织工作经验交流一文来源于网友上传")
    # They stay in the text: offsets index the file as it is.
    assert "时间:2022-11-18 02:39:00" in doc.text


def test_metadata_lines_accept_both_colons_and_common_keys(tmp_path):
    text = ("加强干部队伍建设\n来源：人民网\n作者: 张三\n发布时间：2023-01-05\n\n"
            "正文第一句。正文第二句。\n")
    doc = load_document(write(tmp_path, "m.txt", text), tmp_path)
    assert doc.title == "加强干部队伍建设"
    assert doc.metadata == {"source": "人民网", "author": "张三", "date": "2023-01-05"}
    assert text[front_matter(text, doc.title).body_start:].startswith("正文第一句")


def test_metadata_line_recognition():
    assert is_metadata_line("时间:2022-11-18 02:39:00")
    assert is_metadata_line("导语：创新组织工作经验交流")
    assert is_metadata_line("Author: Jane Doe")
    assert not is_metadata_line("时间就是生命。")
    assert not is_metadata_line("概括起来主要有以下几个方面:一是思想观念上缺乏创新精神。")


def test_a_metadata_sentence_in_the_body_is_not_front_matter(tmp_path):
    text = "标题\n\n正文。\n\n来源:这一行在正文里。\n"
    doc = load_document(write(tmp_path, "x.txt", text), tmp_path)
    assert doc.metadata == {}
    assert text[front_matter(text, doc.title).body_start:].startswith("正文。")


def test_title_is_first_line_capped_and_falls_back_to_the_stem(tmp_path):
    long_line = "长" * 150 + "。\n第二行。\n"
    assert load_document(write(tmp_path, "long.txt", long_line), tmp_path).title == "长" * 100
    # A first line longer than the title is body text, not front matter.
    assert front_matter(long_line, "长" * 100).body_start == 0
    only_meta = "时间:2022-11-18\n"
    assert load_document(write(tmp_path, "只有元数据.txt", only_meta), tmp_path).title == "只有元数据"


def test_yaml_front_matter_of_markdown_gives_title_and_metadata():
    text = "---\ntitle: 组织工作\nauthor: 张三\ndate: 2023-01-01\n---\n\n# 组织工作\n\n正文。\n"
    assert title_of(text) == "组织工作"
    front = front_matter(text, "组织工作")
    assert front.metadata == {"author": "张三", "date": "2023-01-01"}
    assert text[front.body_start:] == "正文。\n"


# --- Markdown ---------------------------------------------------------------------


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


# --- PDF ---------------------------------------------------------------------------


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


# --- Word ---------------------------------------------------------------------------


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


# --- HTML ---------------------------------------------------------------------------


def test_html_drops_script_style_nav_and_page_chrome(tmp_path):
    doc = load_document(write(tmp_path, "page.html", HTML), tmp_path)
    assert doc.format == "html"
    assert doc.title == "创新组织工作经验交流"
    for junk in ["secret", "不要索引", "color", "首页", "关于本站", "页眉", "相关文章", "搜索", "版权所有"]:
        assert junk not in doc.text
    lines = doc.text.split("\n")
    assert lines[0] == "创新组织工作经验交流"
    assert "组织部门作为党的建设的重要职能部门,肩负着重要使命。" in lines
    assert "必须解放思想,实事求是。" in lines and "与时俱进,开拓创新。" in lines
    assert "第一项" in lines and "制度 | 任前公示制" in lines
    assert [(h.level, h.title) for h in doc.headings] == [
        (1, "创新组织工作经验交流"), (2, "一、重要性和必要性"), (3, "(一)本质要求")]
    for h in doc.headings:
        assert doc.text[h.start:h.end] == h.title


def test_html_title_falls_back_to_h1(tmp_path):
    page = "<html><body><h1>组织工作</h1><p>正文。</p></body></html>"
    assert load_document(write(tmp_path, "p.htm", page), tmp_path).title == "组织工作"


def test_gbk_html_with_meta_charset_decodes(tmp_path):
    page = ('<html><head><meta charset="gbk"><title>组织工作</title></head>'
            "<body><p>深入贯彻落实“三个代表”重要思想。</p></body></html>")
    doc = load_document(write(tmp_path, "gbk.html", page.encode("gbk")), tmp_path)
    assert doc.title == "组织工作"
    assert "深入贯彻落实“三个代表”重要思想。" in doc.text


def test_gbk_html_without_declared_charset_decodes_like_a_text_file(tmp_path):
    page = "<html><head><title>组织工作</title></head><body><p>" + ESSAY_TEXT[101:400] + "</p></body></html>"
    doc = load_document(write(tmp_path, "nometa.html", page.encode("gbk")), tmp_path)
    assert doc.title == "组织工作"
    assert "深入贯彻落实“三个代表”重要思想" in doc.text
