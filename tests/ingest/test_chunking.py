"""ingest.chunking: chunks that are verbatim spans of their document, cover
its body, overlap by one sentence and never cross a top-level section, for the
essay and for every format."""

from __future__ import annotations

import statistics

import pytest

from ingest.chunking import chunk_document
from ingest.headings import detect_headings
from ingest.loaders import load_document
from ingest.outline import body_start, section_at
from ingest.records import Chunk, Document
from ingest.sentences import split_sentences
from sample_files import (ESSAY_TEXT, H1, H1_1, H1_2, H1_3, H2, H3, H3_1, H3_4, H4, HTML, load_essay, make_docx,
                          make_pdf, write)


@pytest.fixture(scope="module")
def essay(tmp_path_factory) -> Document:
    return load_essay(tmp_path_factory.mktemp("essay"))


def assert_chunk_invariants(doc: Document, chunks: list[Chunk], size: int, overlap: int = 1,
                            first_id: int = 0) -> None:
    """What every chunking of every document must satisfy."""
    assert chunks, f"{doc.path}: no chunks"
    body = body_start(doc)
    for i, c in enumerate(chunks):
        assert c.id == first_id + i
        assert c.text == doc.text[c.start:c.end], f"chunk {c.id} is not verbatim"
        assert c.text == c.text.strip() and c.text
        assert c.doc == doc.path and c.title == doc.title
        assert c.start >= body, f"chunk {c.id} includes front matter"
        assert c.page == doc.page_at(c.start)
        assert c.section in {section_at(doc, s.start) for s in split_sentences(doc.text, c.start, c.end)}
        assert len(c.text) <= size * 5 // 2
    # Chunks are in order and together cover every non-blank character of the body.
    covered = [False] * len(doc.text)
    for prev, c in zip(chunks, chunks[1:]):
        assert prev.start < c.start and prev.end < c.end
    for c in chunks:
        covered[c.start:c.end] = [True] * (c.end - c.start)
    missing = [i for i in range(body, len(doc.text)) if not covered[i] and not doc.text[i].isspace()]
    assert not missing, f"{doc.path}: body text not in any chunk: {doc.text[missing[0]:missing[0] + 30]!r}"
    # Every body sentence that is not over-long lies whole inside some chunk.
    for s in split_sentences(doc.text, body):
        if len(s.text) <= 2 * size:
            assert any(c.start <= s.start and s.end <= c.end for c in chunks), s.text
    # Chunks overlap only by whole sentences, at most ``overlap`` of them, and
    # only within the section of the chunk that repeats them.
    for prev, c in zip(chunks, chunks[1:]):
        if c.start < prev.end:
            shared = split_sentences(doc.text, c.start, prev.end)
            assert 1 <= len(shared) <= overlap
            assert shared[0].start == c.start and shared[-1].end == prev.end
            assert {section_at(doc, s.start) for s in shared} == {c.section}


# --- chunks of the essay ----------------------------------------------------------


def test_essay_chunks_hold_the_invariants_at_the_default_settings(essay):
    chunks = chunk_document(essay, 300, 1)
    assert_chunk_invariants(essay, chunks, 300, 1)
    sizes = [len(c.text) for c in chunks]
    assert 250 <= statistics.mean(sizes) <= 320
    assert max(sizes) <= 450 and min(sizes) >= 100
    assert 25 <= len(chunks) <= 40


@pytest.mark.parametrize("size,overlap", [(100, 1), (200, 0), (300, 2), (500, 1), (1000, 1)])
def test_essay_chunks_hold_the_invariants_at_other_settings(essay, size, overlap):
    assert_chunk_invariants(essay, chunk_document(essay, size, overlap, first_id=7), size, overlap, first_id=7)


def test_consecutive_essay_chunks_of_a_section_share_one_sentence(essay):
    chunks = chunk_document(essay, 300, 1)
    pairs = [(a, b) for a, b in zip(chunks, chunks[1:]) if a.section == b.section and b.start < a.end]
    assert len(pairs) >= 10
    for a, b in pairs:
        shared = split_sentences(essay.text, b.start, a.end)
        assert len(shared) == 1 and b.text.startswith(shared[0].text) and a.text.endswith(shared[0].text)
    # A new top-level section starts afresh, without repeating the last one.
    for h in detect_headings(essay.text, body_start(essay)):
        if h.level <= 2:
            i = next(i for i, c in enumerate(chunks) if c.start == h.start)
            assert chunks[i - 1].end <= h.start


def test_no_overlap_gives_disjoint_chunks(essay):
    chunks = chunk_document(essay, 300, 0)
    assert all(b.start >= a.end for a, b in zip(chunks, chunks[1:]))


def test_metadata_and_title_lines_are_not_in_chunks(essay):
    chunks = chunk_document(essay, 300, 1)
    assert chunks[0].text.startswith("深入贯彻落实“三个代表”重要思想")
    for c in chunks:
        assert "时间:2022" not in c.text and "导语:" not in c.text and "网友上传" not in c.text
        assert not c.text.startswith("创新组织工作经验交流")
        assert c.title == "创新组织工作经验交流"


def test_no_chunk_crosses_a_top_level_section(essay):
    chunks = chunk_document(essay, 300, 1)
    for h in detect_headings(essay.text, body_start(essay)):
        if h.level <= 2:
            assert not any(c.start < h.start < c.end for c in chunks), h.title
            first = next(c for c in chunks if c.start == h.start)   # the heading opens its first chunk
            assert first.text.startswith(essay.text[h.start:h.end])


def test_main_section_paths_of_essay_chunks(essay):
    sections = {c.section for c in chunk_document(essay, 300, 1)}
    for path in ["", H1, f"{H1} > {H1_1}", f"{H1} > {H1_2}", f"{H1} > {H1_3}", H2, H3,
                 f"{H3} > {H3_1}", f"{H3} > {H3_4}", H4]:
        assert path in sections, path


def test_merged_heading_starts_its_own_chunk(essay):
    chunks = chunk_document(essay, 300, 1)
    h4 = next(c for c in chunks if c.section == H4)
    assert h4.text.startswith(H4 + "组织工作与时俱进")
    h31 = next(c for c in chunks if c.section == f"{H3} > {H3_1}")
    assert h31.text.startswith(H3_1 + "。在新世纪新阶段")


VARIANTS = {
    "crlf.txt": ESSAY_TEXT.replace("\n", "\r\n"),
    "one-paragraph.txt": "".join(ESSAY_TEXT.split("\n")[8:]),
    "no-front-matter.txt": ESSAY_TEXT[2000:6000],
    "english.md": ("# Field Notes\n\nDate: 2024-03-01\n\n## Setup\n\n"
                   + "We measured the water. It was cold, e.g. 4.5 degrees. Dr. Li agreed! " * 20
                   + "\n\n## Results\n\n" + "Nothing grew. " * 40 + "\n"),
}


@pytest.mark.parametrize("name", sorted(VARIANTS))
def test_chunk_invariants_hold_for_text_variants(tmp_path, name):
    doc = load_document(write(tmp_path, name, VARIANTS[name]), tmp_path)
    for size, overlap in [(300, 1), (120, 1), (80, 2)]:
        assert_chunk_invariants(doc, chunk_document(doc, size, overlap), size, overlap)


def test_chunk_ids_continue_from_first_id(essay):
    chunks = chunk_document(essay, 300, 1, first_id=42)
    assert [c.id for c in chunks] == list(range(42, 42 + len(chunks)))


# --- chunks of the other formats --------------------------------------------------


def test_metadata_lines_of_a_txt_are_excluded_from_its_chunks(tmp_path):
    text = ("干部队伍建设\n\n时间：2023-01-05 08:00\n来源:人民网\n\n干部队伍建设\n\n"
            + "组织部门要加强管理不放松。对工作目标、工作任务的完成情况要定期进行严格考核。" * 8)
    doc = load_document(write(tmp_path, "m.txt", text), tmp_path)
    chunks = chunk_document(doc, 120, 1)
    assert_chunk_invariants(doc, chunks, 120)
    assert all("2023" not in c.text and "人民网" not in c.text and "干部队伍建设" not in c.text for c in chunks)
    assert doc.metadata == {"date": "2023-01-05 08:00", "source": "人民网"}


def test_a_document_that_is_only_a_title_still_has_a_chunk(tmp_path):
    doc = load_document(write(tmp_path, "t.txt", "只有一行标题\n"), tmp_path)
    chunks = chunk_document(doc, 300, 1)
    assert [c.text for c in chunks] == ["只有一行标题"]


def test_markdown_headings_give_section_paths(tmp_path):
    text = ("# 组织工作手册\n\n前言。\n\n## 一、总则\n\n" + "总则的内容很重要。" * 10 + "\n\n### 适用范围\n\n"
            + "本手册适用于全体组工干部。" * 12 + "\n\n## 二、细则\n\n细则的内容。\n")
    doc = load_document(write(tmp_path, "h.md", text), tmp_path)
    chunks = chunk_document(doc, 100, 1)
    assert_chunk_invariants(doc, chunks, 100)
    assert [c.section for c in chunks][0] == ""
    assert {"一、总则", "一、总则 > 适用范围", "二、细则"} <= {c.section for c in chunks}
    assert next(c for c in chunks if c.section == "二、细则").text.startswith("## 二、细则")
    assert all("# 组织工作手册" not in c.text for c in chunks)   # the title heading is the title


def test_docx_headings_give_section_paths(tmp_path):
    doc = load_document(make_docx(tmp_path / "w.docx"), tmp_path)
    chunks = chunk_document(doc, 300, 1)
    assert_chunk_invariants(doc, chunks, 300)
    assert [c.section for c in chunks] == [
        "一、创新组织工作方式方法的重要性和必要性",
        "一、创新组织工作方式方法的重要性和必要性 > (一)本质要求",
        "二、现状及存在问题"]
    assert chunks[-1].text.endswith("机制 | 全委会表决制")


def test_html_chunks_have_section_paths_and_no_page_chrome(tmp_path):
    doc = load_document(write(tmp_path, "page.html", HTML), tmp_path)
    chunks = chunk_document(doc, 300, 1)
    assert_chunk_invariants(doc, chunks, 300)
    assert [c.section for c in chunks] == ["", "一、重要性和必要性", "一、重要性和必要性 > (一)本质要求"]


def test_pdf_chunks_carry_their_page_numbers(tmp_path):
    page1 = [f"Page one sentence number {i} talks about organizational work." for i in range(12)]
    page2 = [f"Page two sentence number {i} talks about cadre training." for i in range(12)]
    doc = load_document(write(tmp_path, "p.pdf", make_pdf([["Cadre Handbook"] + page1, page2])), tmp_path)
    chunks = chunk_document(doc, 300, 1)
    assert_chunk_invariants(doc, chunks, 300)
    pages = [c.page for c in chunks]
    assert pages == sorted(pages) and set(pages) == {1, 2}
    for c in chunks:
        assert ("Page one" in c.text[:9]) == (c.page == 1)


def test_an_overlong_sentence_is_cut_at_commas_then_hard(tmp_path):
    clause = "组织工作要与时俱进" + "，"
    text = "标题\n\n" + clause * 80 + "。\n\n" + "无标点的长句" * 150 + "。\n"
    doc = load_document(write(tmp_path, "long.txt", text), tmp_path)
    chunks = chunk_document(doc, 100, 1)
    assert_chunk_invariants(doc, chunks, 100)
    assert all(len(c.text) <= 150 for c in chunks)
    comma_chunks = [c for c in chunks if "组织工作" in c.text]
    assert all(c.text.endswith(("，", "。")) for c in comma_chunks)


def test_chunk_size_must_be_positive(essay):
    with pytest.raises(ValueError):
        chunk_document(essay, 0, 1)
