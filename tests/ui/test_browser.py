"""The app in a real browser: Playwright driving Debian's headless Chromium
(/usr/bin/chromium; Playwright never downloads a browser of its own).

One app process serves the whole module (see the ``essay_app`` fixture);
screenshots of each step go to artifacts/screenshots/.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ANSWER_TIMEOUT = 90_000      # ms
BUILD_TIMEOUT = 240_000      # ms
DOCX_NAME = "qingsong-lake.docx"
DOCX_FACT = "青松湖位于北岭县东侧，湖面面积为三十二平方公里。"
APP_ARGS = ("--upload-max-mb", "1")     # small, so the size limit can be shown

if not CHROMIUM.exists():
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{CHROMIUM} is missing in CI: `make browser` installs Debian's chromium", pytrace=False)
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium); browser tests skipped",
                allow_module_level=True)

sync_api = pytest.importorskip("playwright.sync_api")
expect = sync_api.expect


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


class Page:
    """One browser tab on the app, with the steps the tests repeat."""

    def __init__(self, page, app, shots: Path):
        self.page = page
        self.app = app
        self.shots = shots
        self.dialogs: list[str] = []
        page.on("dialog", self._on_dialog)
        page.set_default_timeout(30_000)

    def _on_dialog(self, dialog) -> None:
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def open(self) -> "Page":
        self.page.goto(self.app.url)
        expect(self.page.locator("#index-status")).to_contain_text("索引", timeout=60_000)
        return self

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(self.shots / name), full_page=False)

    def ask(self, question: str) -> None:
        done = self.page.locator("#chatbot .answer.done")
        before = done.count()
        box = self.page.locator("#question textarea")
        box.fill(question)
        box.press("Enter")
        expect(done).to_have_count(before + 1, timeout=ANSWER_TIMEOUT)
        expect(box).to_have_value("")

    def tab(self, name: str) -> None:
        self.page.get_by_role("tab", name=name).click()

    def build_message(self, text: str) -> None:
        expect(self.page.locator("#build-msg")).to_contain_text(text, timeout=BUILD_TIMEOUT)

    def upload(self, *paths: Path) -> None:
        self.page.locator("#upload input[type=file]").set_input_files([str(p) for p in paths])

    def delete(self, name) -> None:
        """Choose ``name`` (a string or pattern) in the delete list and delete it."""
        self.page.locator("#delete-choice input").click()
        self.page.get_by_role("option", name=name).click()
        self.page.locator("#delete").click()


@pytest.fixture
def ui(browser, essay_app, screenshots):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1400, "height": 950})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=essay_app.url.rstrip("/"))
    page = Page(context.new_page(), essay_app, screenshots)
    yield page.open()
    context.close()


def test_streamed_answer_with_clickable_citation_highlights_the_cited_sentence(ui):
    page = ui.page
    # record every state the answer passes through while it streams
    page.evaluate("""() => {
        window.__answerStates = [];
        new MutationObserver(() => {
            const all = document.querySelectorAll('#chatbot .answer');
            const last = all[all.length - 1];
            if (last) window.__answerStates.push([last.classList.contains('streaming'), last.textContent.length]);
        }).observe(document.body, {subtree: true, childList: true, characterData: true});
    }""")
    ui.ask("组织部门的职能是什么？")
    states = page.evaluate("window.__answerStates")
    final_length = states[-1][1]
    partial = {length for streaming, length in states if streaming and 0 < length < final_length}
    assert partial, f"the answer did not stream: {states}"
    answer = page.locator("#chatbot .answer").last
    expect(answer.locator("a.cite").first).to_have_text("[1]")
    expect(page.locator("#sources-panel #src-1-1")).to_contain_text("innovating-organizational-work.txt")
    ui.shot("01-chat-answer.png")

    answer.locator("a.cite", has_text="[1]").first.click()
    card = page.locator("#src-1-1")
    expect(card).to_have_class("src cited src-active")
    expect(card.locator(".src-passage mark")).to_be_visible()
    expect(card).to_be_in_viewport()
    marked = card.locator(".src-passage mark").inner_text()
    assert marked.strip() and marked.strip()[:10] in answer.inner_text()
    ui.shot("02-chat-citation-clicked.png")

    # the surrounding text opens, with the passage inside it and the sentence marked
    card.locator("details.src-context > summary").click()
    expect(card.locator("details.src-context .ctx-passage mark").first).to_be_visible()

    # copy as Markdown: the answer with its markers and a line per citation
    page.locator("#copy").click()
    expect(page.get_by_text("已复制最近一个答案")).to_be_visible()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert "[1]" in copied and "引用：" in copied and "- [1] " in copied
    assert "innovating-organizational-work.txt" in copied


def test_example_question_is_asked_when_clicked(ui):
    page = ui.page
    example = page.locator("#examples button").first
    text = example.inner_text().strip()
    assert text.startswith("文中关于“") or text.startswith("《"), text
    example.click()
    expect(page.locator("#chatbot .answer.done")).to_have_count(1, timeout=ANSWER_TIMEOUT)
    expect(page.locator("#chatbot")).to_contain_text(text)
    expect(page.locator("#sources-panel .src").first).to_be_visible()


def test_empty_question_shows_a_message(ui):
    ui.page.locator("#ask").click()
    expect(ui.page.locator("#notice")).to_contain_text("请先输入问题")
    expect(ui.page.locator("#chatbot .answer")).to_have_count(0)


def test_language_setting_switches_the_interface_and_is_kept_by_the_browser(ui):
    page = ui.page
    ui.tab("设置")
    page.get_by_label("English").check()
    expect(page.get_by_role("tab", name="Settings")).to_be_visible()
    expect(page.locator("#ask")).to_have_text("Ask")
    expect(page.locator("#index-status")).to_contain_text("Index: 1 documents")
    ui.shot("07-settings-english.png")
    page.reload()
    expect(page.locator("#ask")).to_have_text("Ask", timeout=30_000)
    page.get_by_role("tab", name="Settings").click()
    page.get_by_label("中文").check()
    expect(page.locator("#ask")).to_have_text("提问")


def make_docx(path: Path) -> Path:
    import docx

    document = docx.Document()
    document.add_heading("青松湖概况", level=1)
    document.add_paragraph(DOCX_FACT)
    document.add_paragraph("湖区四周多为松林，冬季湖面常有薄冰。")
    document.save(str(path))
    return path


def test_uploaded_docx_is_indexed_cited_and_then_deleted(ui, tmp_path):
    page = ui.page
    ui.tab("文档")
    notes = tmp_path / "湖区笔记.md"
    notes.write_text("# 湖区笔记\n\n松林里常见松鼠。\n", encoding="utf-8")
    ui.upload(make_docx(tmp_path / DOCX_NAME), notes)          # several files at once
    expect(page.locator("#build-msg")).to_contain_text(f"已加入语料库：{DOCX_NAME}, 湖区笔记.md")
    ui.build_message("已索引 3 个文档")
    expect(page.locator("#documents")).to_contain_text(DOCX_NAME)
    expect(page.locator("#documents")).to_contain_text("湖区笔记.md")
    expect(page.locator("#index-status")).to_contain_text("3 个文档")
    # an explicit incremental rebuild re-embeds nothing
    page.locator("#rebuild").click()
    ui.build_message("新向量化 0 个文档")
    ui.shot("03-documents-docx-uploaded.png")

    ui.tab("对话")
    ui.ask("青松湖位于哪里？")
    answer = page.locator("#chatbot .answer").last
    expect(answer).to_contain_text("北岭县")
    sources = page.locator("#sources-panel .turn-sources.latest")
    expect(sources.locator("article.cited").first).to_contain_text(DOCX_NAME)
    expect(sources.locator("article.cited mark").first).to_contain_text("北岭县")
    answer.locator("a.cite").first.click()
    ui.shot("04-chat-docx-cited.png")

    ui.tab("文档")
    ui.delete(DOCX_NAME)
    ui.build_message("已索引 2 个文档")
    expect(page.locator("#documents")).not_to_contain_text(DOCX_NAME)
    expect(page.locator("#index-status")).to_contain_text("2 个文档")
    ui.shot("05-documents-docx-deleted.png")
    ui.delete("湖区笔记.md")
    ui.build_message("已索引 1 个文档")

    ui.tab("对话")
    ui.ask("青松湖位于哪里？")
    expect(page.locator("#sources-panel .turn-sources.latest")).not_to_contain_text(DOCX_NAME)


def test_document_markup_is_shown_as_text_and_never_runs(ui, tmp_path):
    page = ui.page
    script, img = "<script>alert(1)</script>", "<img src=x onerror=alert(1)>"
    hostile = tmp_path / f"{img}.txt"
    hostile.write_text(f"{img} 天文台简介\n\n{script}紫金山天文台建于一九三四年，是中国人自己建立的第一个现代天文台。{img}\n",
                       encoding="utf-8")
    ui.tab("文档")
    ui.upload(hostile)
    ui.build_message("已索引 2 个文档")
    table = page.locator("#documents")
    expect(table).to_contain_text(f"{img} 天文台简介")          # the title, as text
    expect(table).to_contain_text("img src_x onerror_alert(1)")  # the sanitized file name

    ui.tab("对话")
    ui.ask("紫金山天文台是哪一年建成的？")
    sources = page.locator("#sources-panel .turn-sources.latest")
    expect(sources).to_contain_text(script)
    expect(sources).to_contain_text(f"{img} 天文台简介")
    expect(page.locator("#chatbot .answer").last).to_contain_text("一九三四年")
    page.locator("#chatbot .answer").last.locator("a.cite").first.click()
    ui.shot("06-markup-shown-as-text.png")
    assert page.locator("img[src='x']").count() == 0
    assert page.evaluate("document.querySelectorAll('#sources-panel script, #chatbot script').length") == 0
    page.wait_for_timeout(500)
    assert ui.dialogs == [], f"a dialog fired: {ui.dialogs}"

    ui.tab("文档")
    ui.delete(re.compile(r"img src_x onerror_alert\(1\).*\.txt"))
    ui.build_message("已索引 1 个文档")
    assert ui.dialogs == []


def test_upload_over_the_size_limit_is_refused_with_a_clear_message(ui, tmp_path):
    page = ui.page
    big = tmp_path / "big.txt"
    big.write_text("大文件。" * 200_000, encoding="utf-8")       # 2.4 MB, over --upload-max-mb 1
    ui.tab("文档")
    expect(page.locator("#documents")).to_contain_text("innovating-organizational-work.txt")
    ui.upload(big)
    expect(page.get_by_text(re.compile(r"exceed the maximum allowed size of 1.0 Mb.*big\.txt"))).to_be_visible()
    ui.shot("08-upload-over-limit.png")
    expect(page.locator("#documents")).not_to_contain_text("big.txt")


def test_passage_count_setting_applies_to_the_next_answer(ui):
    page = ui.page
    ui.tab("设置")
    number = page.locator("#top-k input[type=number]")
    number.fill("2")
    number.press("Enter")
    page.wait_for_timeout(500)
    ui.tab("对话")
    ui.ask("组织部门的职能是什么？")
    latest = page.locator("#sources-panel .turn-sources.latest")
    expect(latest.locator(".src").first).to_be_visible()
    # Each cited sentence has its card; the passages they quote are at most the 2 retrieved.
    passages = {p.inner_text() for p in latest.locator(".src-passage").all()}
    assert 1 <= len(passages) <= 2


LLM_ANSWER = ("组织部门作为党的建设的重要职能部门，肩负着维护和巩固党的执政基础和执政地位的重要使命。[1]"
              "组织部门还负责每天发布全国的天气预报。[1]")


class FakeLLM(BaseHTTPRequestHandler):
    """An OpenAI-compatible endpoint that streams a fixed answer in pieces."""

    requests: list[dict] = []

    def do_POST(self):  # noqa: N802
        length = int(self.headers.get("Content-Length", 0))
        FakeLLM.requests.append(json.loads(self.rfile.read(length) or b"{}"))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        for i in range(0, len(LLM_ANSWER), 6):
            event = {"choices": [{"delta": {"content": LLM_ANSWER[i:i + 6]}}]}
            self.wfile.write(f"data: {json.dumps(event, ensure_ascii=False)}\n\n".encode())
            self.wfile.flush()
            time.sleep(0.03)
        self.wfile.write(b"data: [DONE]\n\n")

    def log_message(self, *args):
        pass


@pytest.fixture
def fake_llm():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeLLM)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakeLLM.requests = []
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def test_llm_mode_streams_from_the_browsers_endpoint_and_marks_unsupported_statements(ui, fake_llm):
    page = ui.page
    ui.tab("设置")
    page.get_by_label("大模型生成（需配置）").check()
    for field, value in (("#llm-endpoint", fake_llm), ("#llm-model", "fake-model")):
        box = page.locator(f"{field} textarea, {field} input").first
        box.fill(value)
        box.press("Tab")                                # a field is saved when it is left
    page.wait_for_timeout(500)
    ui.tab("对话")
    ui.ask("组织部门的职能是什么？")
    assert FakeLLM.requests and FakeLLM.requests[0]["model"] == "fake-model"
    answer = page.locator("#chatbot .answer.done").last
    expect(answer.locator("a.cite").first).to_have_text("[1]")
    expect(answer.locator(".unsupported")).to_contain_text("天气预报")
    expect(answer).to_contain_text("未被引用段落支持")
    expect(page.locator("#sources-panel #src-1-1")).to_contain_text("innovating-organizational-work.txt")
    ui.shot("09-llm-answer-unsupported-marked.png")


def test_full_rebuild_shows_progress_naming_the_stage_and_the_count(ui):
    page = ui.page
    ui.tab("文档")
    page.locator("#full-rebuild").click()
    # Every new chunk and sentence is one embedding stream: the stage and the count of texts.
    progress = page.get_by_text(re.compile(r"向量化 \([\d,]+/[\d,]+\)")).first
    expect(progress).to_be_visible(timeout=BUILD_TIMEOUT)
    ui.shot("10-full-rebuild-progress.png")
    ui.build_message("新向量化 1 个文档")
    expect(page.locator("#index-status")).to_contain_text("索引：1 个文档")
