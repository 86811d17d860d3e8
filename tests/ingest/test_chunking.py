"""ingest.chunking: sentences, the essay's section outline, and chunks that
are verbatim spans of their document, cover its body, and overlap by one
sentence."""

from __future__ import annotations

import statistics

import pytest

from conftest import ESSAY
from ingest.chunking import (
    QUOTE_MAX_CHARS,
    body_start,
    chunk_document,
    detect_headings,
    section_at,
    split_sentences,
)
from ingest.loaders import load_document
from ingest.records import Chunk, Document
from test_loaders import HTML, make_docx, make_pdf, write

ESSAY_TEXT = ESSAY.read_text("utf-8")

H1 = "一、创新组织工作方式方法的重要性和必要性"
H1_1 = "(一)创新组织工作方式方法是实践“三个代表”重要思想的本质要求"
H1_2 = "(二)创新组织工作方式方法是改革开放和建设有中国特色社会主义现代化事业的时代要求"
H1_3 = "(三)创新组织工作方式方法是新的历史条件下组织工作自我完善、自我发展的基本要求"
H2 = "二、对当前组织工作方式方法创新的现状及存在问题的分析"
H3 = "三、以与时俱进的精神创新组织工作方式方法"
H3_1 = "(一)在工作思路上要找准结合点"
H3_4 = "(四)在工作机制上要突出着力点"
H4 = "四、以与时俱进的队伍落实组织工作"


@pytest.fixture(scope="module")
def essay(tmp_path_factory) -> Document:
    folder = tmp_path_factory.mktemp("essay")
    return load_document(write(folder, ESSAY.name, ESSAY_TEXT), folder)


def texts(sentences) -> list[str]:
    return [s.text for s in sentences]


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


# --- sentences ----------------------------------------------------------------


def test_chinese_sentence_ends_split_and_quotes_do_not():
    text = ("(一)创新组织工作方式方法是实践“三个代表”重要思想的本质要求。"
            "“三个代表”重要思想具有与时俱进的马克思主义理论品质。真的吗？是的！还有；最后")
    assert texts(split_sentences(text)) == [
        "(一)创新组织工作方式方法是实践“三个代表”重要思想的本质要求。",
        "“三个代表”重要思想具有与时俱进的马克思主义理论品质。",
        "真的吗？", "是的！", "还有；", "最后"]


def test_a_sentence_end_inside_a_chinese_quote_does_not_split():
    text = "他说：“我们走吧。你来吗？”然后离开了。"
    assert texts(split_sentences(text)) == ["他说：“我们走吧。你来吗？”", "然后离开了。"]


def test_a_quoted_sentence_keeps_its_closing_quote():
    # From the essay: the quotation is a sentence of its own, ” included.
    text = "一是抓好整体与局部的结合。“不谋全局者,不足以谋一域。”同志先后多次在不同场合。"
    assert texts(split_sentences(text)) == [
        "一是抓好整体与局部的结合。", "“不谋全局者,不足以谋一域。”", "同志先后多次在不同场合。"]


def test_a_quote_left_open_too_long_splits_anyway():
    text = "“" + "很长的引文。" * (QUOTE_MAX_CHARS // 6 + 5)
    sentences = split_sentences(text)
    assert len(sentences) > 1
    assert all(len(s.text) <= QUOTE_MAX_CHARS + 10 for s in sentences)


def test_runs_of_end_marks_and_closing_brackets_stay_together():
    text = "等等……后来呢？！（完。）好"
    assert texts(split_sentences(text)) == ["等等……", "后来呢？！", "（完。）", "好"]


def test_english_periods_split_but_not_decimals_abbreviations_or_list_numbers():
    text = "Dr. Smith paid 3.5 dollars, e.g. for tea. Then he left! Why? Nobody knows.\n1. First item. 2. Second"
    assert texts(split_sentences(text)) == [
        "Dr. Smith paid 3.5 dollars, e.g. for tea.", "Then he left!", "Why?", "Nobody knows.",
        "1. First item.", "2. Second"]


def test_fullwidth_full_stop_ends_sentences_but_not_list_numbers():
    assert texts(split_sentences("1．领导班子建设．要加强学习．")) == ["1．领导班子建设．", "要加强学习．"]


def test_ascii_punctuation_between_chinese_characters_ends_sentences():
    # The scrape wrote ；！？ as ASCII: "…事难办;二是盲目机械式。"
    assert texts(split_sentences("门难进,脸难看,事难办;二是盲目机械式!三是?完")) == [
        "门难进,脸难看,事难办;", "二是盲目机械式!", "三是?", "完"]


def test_line_breaks_split_and_spans_are_stripped_with_absolute_offsets():
    text = "  标题行  \r\n\r\n\u3000\u3000第一句。 第二句。\n\n"
    sentences = split_sentences(text)
    assert texts(sentences) == ["标题行", "第一句。", "第二句。"]
    for s in sentences:
        assert text[s.start:s.end] == s.text
    inner = split_sentences(text, 12, len(text))
    assert texts(inner) == ["第一句。", "第二句。"] and inner[0].start == sentences[1].start


def test_every_essay_sentence_is_verbatim_and_ends_at_an_end_mark_or_line_end():
    sentences = split_sentences(ESSAY_TEXT)
    assert len(sentences) > 100
    for s in sentences:
        assert ESSAY_TEXT[s.start:s.end] == s.text
        line_end = ESSAY_TEXT.find("\n", s.start)
        assert s.text[-1] in "。;”:" or s.end == (len(ESSAY_TEXT) if line_end < 0 else line_end), s.text
    assert "“三个代表”重要思想具有与时俱进的马克思主义理论品质。" in texts(sentences)


def test_empty_and_blank_text_give_no_sentences():
    assert split_sentences("") == [] and split_sentences(" \n\t\u3000\n") == []


# --- headings and sections of the essay -------------------------------------


def test_essay_headings_include_those_merged_into_paragraphs(essay):
    headings = detect_headings(essay.text, body_start(essay))
    assert [(h.level, h.title) for h in headings] == [
        (1, H1), (2, H1_1), (2, H1_2), (2, H1_3),
        (1, H2),
        (3, "1、领导班子思想政治建设的方式方法得到不断改进"),
        (3, "2、干部教育培训的方式方法不断更新"),
        (3, "3、干部人事制度改革的方式方法不断有新突破"),
        (3, "4、干部监督工作的方式方法不断完善"),
        (3, "5、党的基层组织建设和党员教育管理方式方法不断强化"),
        (1, H3),                                   # glued to its first sentence, no punctuation between
        (2, H3_1),                                 # after "…新的思路和方法。" in the same paragraph
        (2, "(二)在工作重点上要立足需求点"),
        (2, "(三)在工作方式上要寻求突破点"),
        (2, H3_4),
        (1, H4),                                   # after "…保证提高决策质量。", glued to its body
    ]
    for h in headings:
        assert essay.text[h.start:h.end].rstrip("。") == h.title


def test_glued_heading_ends_where_the_body_repeats_its_last_words(essay):
    start = essay.text.index(H3)
    assert essay.text[start + len(H3):].startswith("创新组织工作方式方法,必须始终坚持")
    start = essay.text.index(H4)
    assert essay.text[start + len(H4):].startswith("组织工作与时俱进,不断创新工作方法")


def test_enumerations_are_not_headings(essay):
    titles = [h.title for h in detect_headings(essay.text, body_start(essay))]
    assert not any(t.startswith(("一是", "二是", "一要")) for t in titles)


def test_section_paths_across_the_essay(essay):
    text = essay.text
    at = text.index
    assert section_at(essay, at("深入贯彻落实")) == ""
    assert section_at(essay, at("组织部门作为党的建设")) == H1
    assert section_at(essay, at("“三个代表”重要思想具有")) == f"{H1} > {H1_1}"
    assert section_at(essay, at("多年来,我市的组织工作")) == H2
    assert section_at(essay, at("在领导班子和领导干部队伍中")) == f"{H2} > 1、领导班子思想政治建设的方式方法得到不断改进"
    # The run-in items 1、…5、 end with their paragraph; the next belongs to 二、.
    assert section_at(essay, at("在充分肯定组织工作")) == H2
    assert section_at(essay, at("在新世纪新阶段")) == f"{H3} > {H3_1}"
    assert section_at(essay, at("一是创新干部选拔任用机制")) == f"{H3} > {H3_4}"
    assert section_at(essay, at("现在还有相当一部分组工干部")) == H4
    assert section_at(essay, 0) == ""   # the title line is front matter


def test_text_headings_use_the_first_sentence_and_a_rank_based_level():
    text = "第一章 总则\n一、目的\n为了规范管理。\n（一）适用范围。本办法适用于全体。\n1. 细则\n内容。\n"
    headings = detect_headings(text)
    assert [(h.level, h.title) for h in headings] == [
        (1, "第一章 总则"), (2, "一、目的"), (3, "（一）适用范围"), (4, "1. 细则")]


def test_out_of_sequence_numbers_inside_a_paragraph_are_not_headings():
    text = "一、总则\n增长了3%。3、这不是标题。1.5亿元是个数字。\n二、细则\n正文。"
    assert [h.title for h in detect_headings(text)] == ["一、总则", "二、细则"]


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


# --- chunks of the other formats ---------------------------------------------------


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
