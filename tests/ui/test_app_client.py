"""The real app in a subprocess, driven through its API with gradio_client."""

from __future__ import annotations

import json
import re
import subprocess
import time

import pytest
from uiharness import PROJECT_ROOT, PYTHON, child_env, copy_essay, start_app, stop_app

gradio_client = pytest.importorskip("gradio_client")

pytestmark = pytest.mark.e2e


def message_text(message: dict) -> str:
    """A chat message's text, whether its content is a string or Gradio 6's
    list of typed parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content or [] if isinstance(part, dict))


@pytest.fixture(scope="module")
def client(essay_app):
    return gradio_client.Client(essay_app.url, verbose=False)


def test_question_gets_an_answer_with_citation_markers_and_sources_naming_the_essay(client):
    messages, sources, notice, question, answer_md, export = client.predict("组织部门的职能是什么？", api_name="/ask")
    assert [m["role"] for m in messages] == ["user", "assistant"]
    reply = message_text(messages[-1])
    assert '<a class="cite" href="#src-1-1"' in reply and "[1]</a>" in reply
    assert 'id="src-1-1"' in sources
    assert "innovating-organizational-work.txt" in sources
    assert "<mark>" in sources
    assert "[1]" in answer_md and "innovating-organizational-work.txt" in answer_md


def test_follow_up_question_is_rewritten_and_shown_as_understood(client):
    first, *_ = client.predict("组织部门的职能是什么？", api_name="/ask")
    messages, sources, *_ = client.predict("它面临哪些新问题？", first, api_name="/ask")
    reply = message_text(messages[-1])
    assert [m["role"] for m in messages] == ["user", "assistant"] * 2
    assert 'class="understood"' in reply and "理解为" in reply
    # the sources panel shows this turn first, the earlier one folded below
    latest = sources.split('class="earlier"')[0]
    assert "它面临哪些新问题？" in latest
    assert "组织部门的职能是什么？" in sources.split('class="earlier"')[1]


def test_abstained_answer_shows_its_message_and_still_the_nearest_passages(client):
    messages, sources, *_ = client.predict("月球的质量是多少？", api_name="/ask")
    reply = message_text(messages[-1])
    assert 'class="answer done abstained"' in reply and "没有找到" in reply
    assert "最接近的段落" in sources and 'id="src-' in sources and "-h1" in sources


def test_empty_question_shows_a_message_and_asks_nothing(client):
    messages, _sources, notice, *_ = client.predict("   ", api_name="/ask")
    assert "请先输入问题" in notice
    assert not any(m["role"] == "assistant" for m in (messages or []))


def test_overlong_question_shows_the_engines_note(client):
    messages, *_ = client.predict("组织部门的职能是什么？" * 80, api_name="/ask")
    reply = message_text(messages[-1])
    assert 'class="note"' in reply and "500" in reply


def test_conversation_export_is_a_markdown_file_with_citations(client):
    *_, export = client.predict("组织部门的职能是什么？", api_name="/ask")
    path = export["value"] if isinstance(export, dict) else export
    if isinstance(path, dict):
        path = path.get("path")
    assert path and path.endswith(".md")
    text = open(path, encoding="utf-8").read()
    assert text.startswith("# 对话导出")
    assert "组织部门的职能是什么？" in text and "[1]" in text and "innovating-organizational-work.txt" in text


def test_status_endpoint_reports_the_index(client):
    status = client.predict(api_name="/status")
    assert status["ready"] is True
    assert status["documents"] == 1 and status["chunks"] > 0


def test_rebuild_through_the_api_reports_documents_and_keeps_answering(client):
    message, status, *_ = client.predict(api_name="/rebuild")
    assert "已索引 1 个文档" in message, message
    assert "索引：1 个文档" in status
    messages, *_ = client.predict("组织部门的职能是什么？", api_name="/ask")
    assert "[1]" in message_text(messages[-1])


def test_delete_from_a_fresh_api_session_removes_a_corpus_file_and_refuses_a_name_not_in_the_corpus(essay_app):
    """A session that never opened the page has no choices in its dropdown: /delete was refused
    ("Value: normal.txt is not in the list of choices: []") until something called /rebuild."""
    (essay_app.corpus / "normal.txt").write_text("一份要删除的文档。\n", "utf-8")
    fresh = gradio_client.Client(essay_app.url, verbose=False)
    message = fresh.predict("normal.txt", api_name="/delete")
    assert "已从语料库删除：normal.txt" in message, message
    assert not (essay_app.corpus / "normal.txt").exists()
    refused = gradio_client.Client(essay_app.url, verbose=False).predict("nothere.txt", api_name="/delete")
    assert "no such document" in refused and "build-msg bad" in refused


def test_index_built_with_another_embedder_is_reported_and_fixed_by_rebuild(essay_index_template, tmp_path):
    corpus, index = copy_essay(essay_index_template, tmp_path)
    current = (index / "CURRENT").read_text("utf-8").strip()
    manifest_path = index / current / "manifest.json"
    manifest = json.loads(manifest_path.read_text("utf-8"))
    manifest["embedder"] = "some-other-embedder"
    manifest_path.write_text(json.dumps(manifest), "utf-8")
    app = start_app(corpus, index, tmp_path / "app.log")
    try:
        c = gradio_client.Client(app.url, verbose=False)
        status = c.predict(api_name="/status")
        assert status["ready"] is False
        assert "some-other-embedder" in status["message"] and "rebuild" in status["message"].lower()
        messages, *_ = c.predict("组织部门的职能是什么？", api_name="/ask")
        assert "还不能回答" in message_text(messages[-1])
        message, status_html, *_ = c.predict(api_name="/rebuild")
        assert "已索引 1 个文档" in message, message
        assert c.predict(api_name="/status")["ready"] is True
        messages, *_ = c.predict("组织部门的职能是什么？", api_name="/ask")
        assert "[1]" in message_text(messages[-1])
    finally:
        stop_app(app)


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.10", "::"])
def test_non_loopback_host_without_auth_is_refused(host, tmp_path):
    result = subprocess.run([PYTHON, str(PROJECT_ROOT / "app.py"), "--host", host, "--port", "9",
                             "--corpus", str(tmp_path), "--index", str(tmp_path / "index")],
                            cwd=PROJECT_ROOT, env=child_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert re.search(r"refusing to serve on .*--auth user:password", result.stderr), result.stderr


def test_malformed_auth_is_refused(tmp_path):
    result = subprocess.run([PYTHON, str(PROJECT_ROOT / "app.py"), "--host", "0.0.0.0", "--auth", "justauser",
                             "--corpus", str(tmp_path), "--index", str(tmp_path / "index")],
                            cwd=PROJECT_ROOT, env=child_env(), capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert "--auth must be user:password" in result.stderr


def test_chat_keeps_answering_from_the_last_index_while_a_full_rebuild_runs(essay_index_template, tmp_path):
    corpus, index = copy_essay(essay_index_template, tmp_path)
    essay = next(corpus.iterdir())
    for i in range(2):       # enough text that a full rebuild takes a while
        (corpus / f"copy-{i}.txt").write_text(essay.read_text("utf-8") + f"\n\n副本 {i}。\n", "utf-8")
    app = start_app(corpus, index, tmp_path / "app.log")
    try:
        builder = gradio_client.Client(app.url, verbose=False)
        asker = gradio_client.Client(app.url, verbose=False)
        assert asker.predict(api_name="/status")["changed"]
        job = builder.submit(api_name="/full_rebuild")
        deadline = time.monotonic() + 60
        while not job.status().progress_data and time.monotonic() < deadline:   # the build has begun
            time.sleep(0.2)
        assert job.status().progress_data, "the rebuild reported no progress"
        started = time.monotonic()
        messages, sources, *_ = asker.predict("组织部门的职能是什么？", api_name="/ask")
        answered_in = time.monotonic() - started
        assert "[1]" in message_text(messages[-1]) and "innovating-organizational-work.txt" in sources
        assert not job.done(), f"the rebuild finished before the answer ({answered_in:.1f} s)"
        message, *_ = job.result(timeout=600)
        assert "已索引 3 个文档" in message, message
        assert asker.predict(api_name="/status")["documents"] == 3
    finally:
        stop_app(app)
