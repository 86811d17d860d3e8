"""api.native over a real server: /api/search and /api/ask return exactly the
objects of ``python -m rag … --json``; documents, rebuild jobs and status."""

from __future__ import annotations

import json
import time

import pytest

from rag.engine import search_json
from support import ESSAY

QUESTION = "组织部门的职能是什么？"


def events(response) -> list[tuple[str, dict]]:
    """The (event, data) pairs of a server-sent event stream."""
    out, event = [], "message"
    for line in response.iter_lines():
        if line.startswith("event: "):
            event = line[len("event: "):]
        elif line.startswith("data: "):
            out.append((event, json.loads(line[len("data: "):])))
            event = "message"
    return out


@pytest.fixture(scope="module")
def asked(api) -> dict:
    response = api.post("/api/ask", json={"question": QUESTION})
    assert response.status_code == 200, response.text
    assert response.headers["x-index-version"].startswith("v-")
    return response.json()


def test_search_returns_the_hits_of_the_cli_json(api, server):
    response = api.post("/api/search", json={"question": QUESTION, "k": 3})
    assert response.status_code == 200, response.text
    assert response.json() == search_json(QUESTION, server.engine.search(QUESTION, 3))   # the CLI's own function
    assert [h["rank"] for h in response.json()["hits"]] == [1, 2, 3]


def test_ask_returns_the_answer_object_of_the_cli_json(asked, server):
    assert asked == server.engine.ask(QUESTION).to_json()
    text = ESSAY.read_text("utf-8")
    assert asked["citations"] and all(text[c["start"]:c["end"]] == c["text"] for c in asked["citations"])


def test_ask_streams_server_sent_events_ending_with_the_same_answer(api, asked):
    with api.stream("POST", "/api/ask", json={"question": QUESTION, "stream": True}) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        received = events(response)
    kinds = [kind for kind, _ in received]
    assert kinds[-1] == "answer" and set(kinds[:-1]) == {"delta"}
    assert "".join(data["delta"] for _, data in received[:-1]) == asked["answer"]
    assert received[-1][1] == asked


def test_follow_up_uses_the_history_and_says_how_it_was_understood(api, asked):
    response = api.post("/api/ask", json={"question": "它面临哪些新问题？", "top_k": 3,
                                          "history": [{"question": QUESTION, "answer": asked["answer"]}]})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["standalone_question"] and body["standalone_question"] != "它面临哪些新问题？"
    assert len(body["hits"]) == 3


def test_bad_questions_are_refused_with_a_message_or_answered_with_a_note(api):
    for payload in ({"question": "   "}, {"question": "  ", "stream": True}):
        response = api.post("/api/ask", json=payload)
        assert response.status_code == 400 and "empty" in response.json()["detail"]
    assert api.post("/api/search", json={"k": 2}).status_code == 422
    # A lone surrogate ("\ud800" in the JSON text) is replaced, and the answer says so.
    raw = '{"question": "组织部门\\ud800的职能是什么？"}'
    response = api.post("/api/ask", content=raw, headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    assert response.json()["question"] == "组织部门\ufffd的职能是什么？"
    assert any("\ufffd" in note for note in response.json()["notes"])


def test_upload_keeps_names_inside_the_corpus_and_never_replaces_a_document(api, server):
    files = [("files", ("../../evil.txt", "青松湖位于北岭县东侧。".encode(), "text/plain")),
             ("files", ("..\\evil.txt", "青松湖的湖水很清。".encode(), "text/plain")),
             ("files", ("image.png", b"\x89PNG", "image/png")),
             ("files", ("big.txt", b"x" * (1024 * 1024 + 10), "text/plain"))]
    response = api.post("/api/documents", files=files)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["added"] == [{"name": "evil.txt", "requested": "../../evil.txt"},
                             {"name": "evil (2).txt", "requested": "..\\evil.txt"}]
    assert [r["name"] for r in body["refused"]] == ["image.png", "big.txt"]
    assert "unsupported" in body["refused"][0]["reason"] and "upload limit" in body["refused"][1]["reason"]
    assert (server.corpus / "evil.txt").read_text("utf-8") == "青松湖位于北岭县东侧。"
    assert not (server.corpus.parent / "evil.txt").exists()
    rows = {row["path"]: row for row in api.get("/api/documents").json()}
    assert rows["evil (2).txt"]["status"] == "new" and rows[ESSAY.name]["status"] == "indexed"


def test_delete_removes_a_document_and_refuses_anything_else(api, server):
    (server.corpus / "to-delete.txt").write_text("要删除的文档。", "utf-8")
    outside = server.corpus.parent / "outside.txt"
    outside.write_text("语料库之外。", "utf-8")
    assert api.delete("/api/documents/to-delete.txt").json() == {"deleted": "to-delete.txt", "job": None}
    assert not (server.corpus / "to-delete.txt").exists()
    for name in ("to-delete.txt", "../outside.txt", "..%2Foutside.txt", "%2E%2E/outside.txt"):
        response = api.delete(f"/api/documents/{name}")
        assert response.status_code in (404, 405), (name, response.status_code)   # 405: a path that names no route
    assert outside.exists()


def test_rebuild_is_a_job_with_progress_and_the_builds_report(api, server):
    (server.corpus / "lake.txt").write_text("青松湖\n青松湖位于北岭县东侧，湖边有一座古老的石桥。\n", "utf-8")
    response = api.post("/api/rebuild", json={"full": False})
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["state"] in ("queued", "running") and job["kind"] == "rebuild"
    deadline = time.monotonic() + 300                          # a bound on waiting, not a measured figure
    while job["state"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.2)
        job = api.get(f"/api/jobs/{job['id']}").json()
    assert job["state"] == "done", job
    result = job["result"]
    assert "lake.txt" in result["embedded_documents"] and ESSAY.name in result["reused_documents"]
    assert result["documents"] == len(result["embedded_documents"]) + len(result["reused_documents"])
    assert job["progress"]["stage"] == "publish" and "indexed" in result["summary"]
    status = api.get("/api/status").json()
    assert status["ready"] and status["documents"] == result["documents"] and "lake.txt" not in status["changed"]
    assert api.get("/api/jobs/no-such-job").status_code == 404


def test_the_openapi_page_and_the_ui_share_the_port(server, api):
    assert api.get("/docs").status_code == 200
    paths = api.get("/openapi.json").json()["paths"]
    assert {"/api/search", "/api/ask", "/api/documents", "/api/documents/{name}", "/api/rebuild",
            "/api/jobs/{job_id}", "/api/status", "/v1/chat/completions", "/v1/models"} <= set(paths)
    page = api.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    from gradio_client import Client

    ui = Client(server.url + "/", verbose=False)
    try:
        assert ui.predict(api_name="/status")["ready"] is True
    finally:
        ui.close()
