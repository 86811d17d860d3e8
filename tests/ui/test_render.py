"""Unit tests of the UI's pure helpers: HTML/Markdown rendering, example
questions, per-session settings, build progress, strings, exposure checks."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from rag.config import Config
from ingest.records import Chunk
from rag.records import Answer, Citation, Hit, Statement
from ui import render
from ui.examples import clean_heading, example_questions
from ui.i18n import STRINGS, pick_language, t
from ui.session import ProgressTracker, normalize_settings, overrides_for

XSS_SCRIPT = "<script>alert(1)</script>"
XSS_IMG = "<img src=x onerror=alert(1)>"

DOC = "前言。\n\n一、总则\n\n组织部门是党的重要职能部门。它负责干部工作。第二句在这里。\n\n二、分则\n\n另一节的文字。"


def span_of(text: str, sentence: str) -> tuple[int, int]:
    start = text.index(sentence)
    return start, start + len(sentence)


def essay_chunk(cid: int = 0, text: str | None = None, section: str = "一、总则", **kw) -> Chunk:
    text = text or "组织部门是党的重要职能部门。它负责干部工作。"
    start, end = span_of(DOC, text)
    return Chunk(id=cid, doc=kw.pop("doc", "essay.txt"), title=kw.pop("title", "随笔"), section=section,
                 start=start, end=end, text=text, **kw)


def cite(n: int, sentence: str, chunk: Chunk, **kw) -> Citation:
    start, end = span_of(DOC, sentence)
    return Citation(n=n, doc=chunk.doc, title=chunk.title, section=chunk.section, start=start, end=end,
                    text=sentence, chunk_id=chunk.id, **kw)


def context() -> render.SourceContext:
    chunks = [essay_chunk(0), essay_chunk(1, "第二句在这里。"), essay_chunk(2, "另一节的文字。", section="二、分则")]
    return render.SourceContext.from_chunks({"essay.txt": DOC}, chunks)


# --- escaping --------------------------------------------------------------------


def test_esc_turns_markup_into_text():
    assert render.esc(XSS_SCRIPT) == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert render.esc(XSS_IMG) == "&lt;img src=x onerror=alert(1)&gt;"
    assert render.esc('"a" & \'b\'') == "&quot;a&quot; &amp; &#x27;b&#x27;"


def test_document_markup_in_every_field_of_a_source_card_is_escaped():
    text = f"{XSS_SCRIPT}正文{XSS_IMG}。"
    doc_text = "标题\n\n" + text
    chunk = Chunk(id=7, doc=f"{XSS_IMG}.md", title=XSS_SCRIPT, section=f"{XSS_IMG} > 节", start=4,
                  end=4 + len(text), text=text)
    citation = Citation(n=1, doc=chunk.doc, title=chunk.title, section=chunk.section, start=4, end=4 + len(text),
                        text=text, chunk_id=7)
    answer = Answer("q", f"{text}[1]", False, [citation], [Hit(chunk, 0.9, 1, ("dense",))],
                    statements=[Statement(f"{text}[1]", (1,), supported=False)],
                    standalone_question=XSS_IMG, notes=[XSS_SCRIPT])
    ctx = render.SourceContext.from_chunks({chunk.doc: doc_text}, [chunk])
    html = render.render_turn_sources(answer, 1, ctx, "zh") + render.render_answer(answer.answer, answer, 1, "zh")
    html += render.render_sources_panel([(1, XSS_SCRIPT, "")], "en") + render.render_question(XSS_IMG)
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_status_and_document_rows_escape_or_keep_plain_text():
    status = SimpleNamespace(ready=False, message=XSS_IMG, changed=(), documents=0, chunks=0, built_at="")
    assert "<img" not in render.render_status(status, "en")
    row = SimpleNamespace(path="a.md", title=XSS_SCRIPT, format="md", size=10, chunks=1, indexed_at="",
                          status="failed", reason="bad <b>")
    # table cells are plain text for the table component, which shows them as text
    assert render.document_rows([row], "en")[0][1] == XSS_SCRIPT
    assert render.document_rows([row], "en")[0][-1] == "failed: bad <b>"


# --- answers -------------------------------------------------------------------------


def test_markers_become_links_to_the_turns_sources():
    html = render.link_markers("甲[1]乙[2]。", turn=3)
    assert html == ('甲<a class="cite" href="#src-3-1" data-cite="1">[1]</a>'
                    '乙<a class="cite" href="#src-3-2" data-cite="2">[2]</a>。')


def test_only_known_citation_numbers_are_linked():
    html = render.link_markers("文中写着[9]，答案[1]", turn=1, valid={1})
    assert "[9]" in html and "#src-1-9" not in html and "#src-1-1" in html


def test_every_marker_the_verifier_reads_is_linked_number_by_number():
    # The verifier (lang.citations) accepts [1, 2] and 【1】; the page links them alike.
    html = render.link_markers("甲[1, 2]乙【3】。", turn=2)
    assert html == ('甲<a class="cite" href="#src-2-1" data-cite="1">[1]</a>'
                    '<a class="cite" href="#src-2-2" data-cite="2">[2]</a>'
                    '乙<a class="cite" href="#src-2-3" data-cite="3">[3]</a>。')
    partly = render.link_markers("甲[1，9]", turn=2, valid={1})
    assert partly == '甲<a class="cite" href="#src-2-1" data-cite="1">[1]</a>[9]'


def test_final_answer_marks_unsupported_statements_and_links_markers():
    chunk = essay_chunk(0)
    c1 = cite(1, "组织部门是党的重要职能部门。", chunk)
    text = "组织部门是党的重要职能部门。[1]它还负责天气预报。[1]"
    answer = Answer("q", text, False, [c1], [Hit(chunk, 0.8, 1, ("dense", "lexical"))],
                    statements=[Statement("组织部门是党的重要职能部门。[1]", (1,), True),
                                Statement("它还负责天气预报。[1]", (1,), False)])
    html = render.render_answer(text, answer, 2, "zh")
    supported, unsupported = html.split('<span class="unsupported"')
    assert "组织部门是党的重要职能部门。" in supported
    assert unsupported.split("</span>")[0].endswith(
        '它还负责天气预报。<a class="cite" href="#src-2-1" data-cite="1">[1]</a>')
    assert "⚠ 未被引用段落支持" in html
    assert "有 1 处陈述未被引用的段落支持" in html


def test_rewritten_question_and_notes_are_shown():
    answer = Answer("第二点呢？", "答案。[1]", False, [], [], standalone_question="组织工作的第二点是什么？",
                    notes=["the question was cut to its first 500 characters"])
    html = render.render_answer(answer.answer, answer, 1, "zh")
    assert '<div class="understood">理解为：组织工作的第二点是什么？</div>' in html
    assert "说明：the question was cut to its first 500 characters" in html
    assert "Understood as:" in render.render_answer(answer.answer, answer, 1, "en")


def test_streaming_answer_shows_text_so_far_with_a_cursor():
    html = render.render_answer("部分答案[1]\n下一行", None, 1, "zh")
    assert html.startswith('<div class="answer streaming">')
    assert "<br>" in html and "#src-1-1" in html and "▍" in html


def test_statement_spans_finds_statements_in_order_and_reports_missing():
    spans, missing = render.statement_spans("甲。[1]乙。[2]甲。", ["甲。", "甲。", "丙。"])
    assert spans == [(0, 2), (10, 12)]
    assert missing == ["丙。"]


# --- sources -----------------------------------------------------------------------


def test_cited_sentence_is_marked_at_its_offsets_inside_the_passage():
    chunk = essay_chunk(0)
    sentence = "它负责干部工作。"
    html = render.render_citation(cite(1, sentence, chunk), Hit(chunk, 0.5, 1, ("dense",)), context(), 1, "zh")
    passage = re.search(r'<blockquote class="src-passage">(.*?)</blockquote>', html).group(1)
    assert passage == "组织部门是党的重要职能部门。<mark>它负责干部工作。</mark>"


def test_marked_html_places_marks_by_document_offsets_and_clips():
    text = "0123456789"
    assert render.marked_html(text, 0, 2, 8, cite=(4, 6)) == "23<mark>45</mark>67"
    assert render.marked_html(text, 0, 0, 10, cite=(8, 12)) == "01234567<mark>89</mark>"
    # text that starts at document offset 100
    assert render.marked_html("abcdef", 100, 100, 106, cite=(101, 103)) == "a<mark>bc</mark>def"
    html = render.marked_html(text, 0, 0, 10, cite=(3, 5), passage=(2, 7))
    assert html == ('01<span class="ctx-passage">2</span><span class="ctx-passage"><mark>34</mark></span>'
                    '<span class="ctx-passage">56</span>789')


def test_marked_text_is_escaped_inside_and_outside_the_mark():
    text = "a<b>c&d"
    assert render.marked_html(text, 0, 0, 7, cite=(1, 4)) == "a<mark>&lt;b&gt;</mark>c&amp;d"


def test_stale_offsets_fall_back_to_finding_the_cited_text_in_the_passage():
    chunk = essay_chunk(0)
    moved = Citation(n=1, doc=chunk.doc, title=chunk.title, section=chunk.section, start=0, end=8,
                     text="它负责干部工作。", chunk_id=0)
    html = render.render_citation(moved, Hit(chunk, 0.5, 1, ()), None, 1, "zh")
    assert "<mark>它负责干部工作。</mark>" in html


def test_card_shows_document_page_section_score_and_retrievers():
    chunk = essay_chunk(0, page=3)
    html = render.render_citation(cite(1, "它负责干部工作。", chunk, page=3, score=0.8123),
                                  Hit(chunk, 0.8123, 1, ("dense", "lexical")), context(), 4, "en")
    assert 'id="src-4-1"' in html
    assert "essay.txt · p. 3" in html
    assert "§ 一、总则" in html
    assert "relevance 0.812" in html
    assert "found by: dense + lexical" in html
    zh = render.render_citation(cite(1, "它负责干部工作。", chunk, page=3), Hit(chunk, 0.5, 1, ("lexical",)),
                                context(), 4, "zh")
    assert "第 3 页" in zh and "检索方式：关键词" in zh


def test_card_offers_surrounding_text_and_whole_section_with_the_passage_marked():
    chunk = essay_chunk(0)
    html = render.render_citation(cite(1, "它负责干部工作。", chunk), Hit(chunk, 0.5, 1, ("dense",)),
                                  context(), 1, "zh")
    ctx_part = html.split('<details class="src-context">')[1].split("</details>")[0]
    assert "前后文" in ctx_part and "前言。" in ctx_part and "第二句在这里。" in ctx_part
    assert '<span class="ctx-passage"><mark>它负责干部工作。</mark></span>' in ctx_part
    section_part = html.split('<details class="src-section-text">')[1].split("</details>")[0]
    assert "整个章节：一、总则" in section_part
    assert "第二句在这里。" in section_part and "另一节的文字。" not in section_part


def test_neighbour_span_stops_at_sentence_boundaries():
    text = "甲甲甲。乙乙乙。丙丙丙。丁丁丁。"
    start, end = span_of(text, "丙丙丙。")
    lo, hi = render.neighbour_span(text, start, end, chars=6)
    assert text[lo:hi] == "乙乙乙。丙丙丙。丁丁丁。"


def test_section_span_is_the_run_of_chunks_sharing_the_section():
    ctx = context()
    s, e, name = ctx.section_span("essay.txt", DOC.index("它负责"))
    assert name == "一、总则" and DOC[s:e].startswith("组织部门") and DOC[s:e].endswith("第二句在这里。")
    assert ctx.section_span("essay.txt", 0) is None


def test_abstained_answer_lists_the_nearest_passages():
    hits = [Hit(essay_chunk(0), 0.3, 1, ("dense",)), Hit(essay_chunk(2, "另一节的文字。", section="二、分则"), 0.2, 2,
                                                          ("lexical",))]
    answer = Answer("月亮有多重？", "文档中没有找到答案。", True, [], hits)
    html = render.render_turn_sources(answer, 1, context(), "zh")
    assert "最接近的段落" in html
    assert 'id="src-1-h1"' in html and 'id="src-1-h2"' in html
    assert "<mark>" not in html
    assert 'class="answer done abstained"' in render.render_answer(answer.answer, answer, 1, "zh")


def test_uncited_hits_are_folded_after_the_citations():
    c0, c2 = essay_chunk(0), essay_chunk(2, "另一节的文字。", section="二、分则")
    answer = Answer("q", "甲。[1]", False, [cite(1, "它负责干部工作。", c0)],
                    [Hit(c0, 0.9, 1, ("dense",)), Hit(c2, 0.4, 2, ("dense",))])
    html = render.render_turn_sources(answer, 1, context(), "en")
    first, folded = html.split('<details class="other-hits">')
    assert 'id="src-1-1"' in first and "Other retrieved passages (1)" in folded and 'id="src-1-h2"' in folded


def test_sources_panel_shows_latest_turn_open_and_earlier_folded():
    html = render.render_sources_panel([(1, "第一问", "<p>one</p>"), (2, "第二问", "<p>two</p>")], "zh")
    latest, earlier = html.split('<h4 class="earlier">')
    assert "第 2 问：第二问" in latest and "<p>two</p>" in latest
    assert '<details class="turn-sources" data-turn="1">' in earlier and "<p>one</p>" in earlier
    assert "提问后" in render.render_sources_panel([], "zh")


# --- markdown ---------------------------------------------------------------------------


def test_answer_markdown_keeps_markers_and_lists_citations():
    chunk = essay_chunk(0, page=2)
    answer = Answer("q", "组织部门是党的重要职能部门。[1]", False,
                    [cite(1, "组织部门是党的重要职能部门。", chunk, page=2)], [],
                    statements=[Statement("组织部门是党的重要职能部门。[1]", (1,), False)])
    md = render.answer_markdown(answer, "en")
    assert md.startswith("组织部门是党的重要职能部门。[1]\n")
    assert "Sources:" in md
    assert "- [1] 随笔 — essay.txt, p. 2, § 一、总则: “组织部门是党的重要职能部门。”" in md
    assert "⚠ (not supported by the cited passages)" in md


def test_conversation_markdown_has_each_question_and_answer():
    chunk = essay_chunk(0)
    answer = Answer("q2", "它负责干部工作。[1]", False, [cite(1, "它负责干部工作。", chunk)], [],
                    standalone_question="组织部门负责什么？")
    md = render.conversation_markdown([("第一问", "没有答案"), ("它负责什么？", answer)], "zh", when="2025-01-01")
    assert md.startswith("# 对话导出\n\n2025-01-01\n")
    assert "## 问 1: 第一问" in md and "## 问 2: 它负责什么？" in md
    assert "_理解为：组织部门负责什么？_" in md and "引用：" in md and "[1] 随笔 — essay.txt" in md


# --- status line and table ------------------------------------------------------------


def test_status_line_reports_counts_build_time_and_changed_files():
    ok = SimpleNamespace(ready=True, documents=3, chunks=120, built_at="2025-01-02T03:04:05+00:00",
                         message="", changed=())
    assert "索引：3 个文档 · 120 个段落 · 构建于 2025-01-02 03:04 UTC" in render.render_status(ok, "zh")
    assert not render.needs_rebuild(ok)
    stale = SimpleNamespace(**{**vars(ok), "changed": ("a.txt", "b.md")})
    html = render.render_status(stale, "en")
    assert "2 files changed since — rebuild" in html and 'class="status stale"' in html
    assert render.needs_rebuild(stale)


def test_status_line_without_index_shows_the_engines_message_and_the_fix():
    bad = SimpleNamespace(ready=False, message="the index was built with embedder 'x': rebuild it",
                          documents=0, chunks=0, built_at="", changed=())
    html = render.render_status(bad, "zh")
    assert "没有可用的索引" in html and "built with embedder &#x27;x&#x27;" in html and "重建索引" in html
    assert render.needs_rebuild(bad)


def test_document_rows_translate_status_and_format_sizes():
    rows = [SimpleNamespace(path="a.pdf", title="A", format="pdf", size=2_500_000, chunks=10,
                            indexed_at="2025-01-02T03:04:05+00:00", status="indexed", reason=""),
            SimpleNamespace(path="b.txt", title="B", format="txt", size=500, chunks=0, indexed_at="",
                            status="new", reason="")]
    assert render.document_rows(rows, "zh") == [
        ["a.pdf", "A", "pdf", "2.4 MB", 10, "2025-01-02 03:04 UTC", "已索引"],
        ["b.txt", "B", "txt", "500 B", 0, "", "新文件，待重建"]]


# --- example questions ------------------------------------------------------------------


def test_headings_lose_their_numbering():
    assert clean_heading("一、创新组织工作方式方法的重要性和必要性") == "创新组织工作方式方法的重要性和必要性"
    assert clean_heading("(三)创新组织工作方式方法是基本要求") == "创新组织工作方式方法是基本要求"
    assert clean_heading("第二章 总则：") == "总则"
    assert clean_heading("2.1 Background") == "Background"


def test_example_questions_come_from_section_headings_of_each_document():
    chunks = [Chunk(0, "a.txt", "甲文", "一、创新组织工作的重要性", 0, 10, "x"),
              Chunk(1, "a.txt", "甲文", "一、创新组织工作的重要性 > (一)实践的本质要求", 10, 20, "x"),
              Chunk(2, "b.md", "Guide", "Installation steps", 0, 10, "x"),
              Chunk(3, "c.txt", "没有标题的文档", "", 0, 10, "x")]
    questions = example_questions(chunks, limit=4)
    assert questions[0] == "文中关于“创新组织工作的重要性”是怎么说的？"
    assert 'What does the document say about "Installation steps"?' in questions
    assert "文中关于“实践的本质要求”是怎么说的？" in questions or "《没有标题的文档》主要讲了什么？" in questions
    assert len(questions) == 4 and len(set(questions)) == 4


def test_example_questions_fall_back_to_titles_and_handle_an_empty_index():
    assert example_questions([]) == []
    chunks = [Chunk(0, "a.txt", "青松湖志", "", 0, 10, "x")]
    assert example_questions(chunks) == ["《青松湖志》主要讲了什么？"]


# --- settings and the per-request engine ----------------------------------------------


def test_settings_are_completed_and_clamped_and_language_follows_the_browser():
    config = Config.from_env({})
    s = normalize_settings({"top_k": "99", "mode": "bogus"}, config, "en-US")
    assert s == {"top_k": 20, "mode": "extractive", "llm": "", "llm_model": "", "lang": "en"}
    assert normalize_settings(None, config, "zh-TW")["lang"] == "zh"
    assert normalize_settings({"lang": "en"}, config, "zh-CN")["lang"] == "en"
    assert normalize_settings(None, config)["top_k"] == config.top_k


def test_overrides_apply_top_k_and_llm_only_when_allowed():
    config = Config.from_env({})
    changes, notes = overrides_for({"top_k": 8, "mode": "extractive", "lang": "zh"}, config, True)
    assert changes == {"top_k": 8} and notes == []
    url = "http://127.0.0.1:8080/v1"
    changes, _ = overrides_for({"top_k": config.top_k, "mode": "llm", "llm": url, "llm_model": "qwen"}, config, True)
    assert changes == {"llm": url, "llm_model": "qwen"}
    # off loopback a browser cannot point the server at an endpoint of its choosing
    changes, notes = overrides_for({"top_k": config.top_k, "mode": "llm", "llm": url, "lang": "en"}, config, False)
    assert "llm" not in changes and notes == [t("llm_unavailable", "en")]
    keyed = config.replace(llm="http://127.0.0.1:9000/v1", llm_api_key="secret")
    changes, _ = overrides_for({"top_k": config.top_k, "mode": "llm", "llm": url}, keyed, True)
    assert changes["llm"] == url and changes["llm_api_key"] == ""
    # a local path is never taken from a browser
    changes, _ = overrides_for({"top_k": config.top_k, "mode": "llm", "llm": "/models/x.gguf"}, config, True)
    assert "llm" not in changes
    served = config.replace(llm="http://127.0.0.1:9000/v1")
    assert overrides_for({"top_k": config.top_k, "mode": "extractive"}, served, False)[0] == {"llm": ""}


def test_progress_rises_and_names_stage_file_rate_and_time_left():
    from rag.index.progress import BuildProgress

    tracker = ProgressTracker(lang="en")
    steps = [BuildProgress("load", 0, 2, "a.txt"), BuildProgress("load", 2, 2),
             BuildProgress("index", 1, 2, "a.txt"), BuildProgress("index", 2, 2, "b.txt"),
             BuildProgress("embed", 0, 3000), BuildProgress("embed", 1500, 3000, rate=50.0, eta=90.0),
             BuildProgress("embed", 3000, 3000, rate=50.0, eta=0.0), BuildProgress("terms", 5, 10),
             BuildProgress("publish", 0, 1), BuildProgress("publish", 1, 1)]
    results = [tracker.step(p) for p in steps]
    fractions = [f for f, _ in results]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert results[0][1] == "Loading · a.txt (1/2)"
    assert results[5][1] == "Embedding (1,500/3,000) · 50/s, about 1.5 min left"
    assert results[6][1] == "Embedding (3,000/3,000)"
    assert ProgressTracker(lang="zh").step(BuildProgress("publish", 0, 1))[1] == "发布新索引"
    # The term table is named as such, in the page's language, not as a file.
    from rag.index.progress import Stage

    assert ProgressTracker(lang="zh").step(BuildProgress(Stage.TERMS, 3, 9))[1] == "向量化 · 跨语言术语表 (3/9)"
    assert ProgressTracker(lang="en").step(BuildProgress(Stage.TERMS, 3, 9))[1] == \
        "Embedding · cross-lingual term table (3/9)"


# --- strings and exposure ------------------------------------------------------------------


def test_every_string_exists_in_both_languages_with_the_same_placeholders():
    for key, entry in STRINGS.items():
        assert set(entry) == {"zh", "en"}, key
        assert set(re.findall(r"{(\w+)", entry["zh"])) == set(re.findall(r"{(\w+)", entry["en"])), key


def test_language_pick_prefers_saved_choice_then_browser():
    assert pick_language("en", "zh-CN") == "en"
    assert pick_language(None, "zh-Hans-CN") == "zh"
    assert pick_language("", "fr-FR") == "en"
    assert pick_language(None, None) == "zh"


@pytest.mark.parametrize("host,loopback", [("127.0.0.1", True), ("localhost", True), ("::1", True),
                                           ("127.0.0.2", True), ("0.0.0.0", False), ("::", False),
                                           ("192.168.1.5", False), ("example.org", False)])
def test_only_loopback_hosts_count_as_local(host, loopback):
    from ui.exposure import is_loopback

    assert is_loopback(host) is loopback


def test_exposure_needs_auth_off_loopback():
    from ui.exposure import exposure_problem

    assert exposure_problem("127.0.0.1", "") is None
    assert "--auth user:password" in exposure_problem("0.0.0.0", "")
    assert exposure_problem("0.0.0.0", "ann:secret") is None
    assert "user:password" in exposure_problem("0.0.0.0", "ann:")
