"""api.openai_compat over a real server, through the ``openai`` Python client:
the documents as the model ``document-qa``, cited answers with a sources
list, structured citations in an extra field; streamed and not."""

from __future__ import annotations

import pytest

from support import ESSAY

openai = pytest.importorskip("openai")

QUESTION = "组织部门的职能是什么？"


@pytest.fixture(scope="module")
def client(server):
    with openai.OpenAI(base_url=server.url + "/v1", api_key=server.api_key, max_retries=0, timeout=120) as c:
        yield c


@pytest.fixture(scope="module")
def completion(client):
    return client.chat.completions.create(model="document-qa", messages=[
        {"role": "system", "content": "You are helpful."}, {"role": "user", "content": QUESTION}])


def test_models_lists_the_document_collection(client):
    assert [m.id for m in client.models.list()] == ["document-qa"]


def test_a_completion_is_the_cited_answer_with_its_sources_and_structured_citations(completion):
    content = completion.choices[0].message.content
    assert completion.choices[0].finish_reason == "stop" and completion.model == "document-qa"
    answer, sources = content.split("\n\n来源：\n")
    citations = completion.model_extra["citations"]
    assert citations and completion.model_extra["abstained"] is False
    text = ESSAY.read_text("utf-8")
    for c in citations:
        assert f"[{c['n']}]" in answer and text[c["start"]:c["end"]] == c["text"]
        assert f"[{c['n']}] {c['doc']}" in sources


def test_a_streamed_completion_gives_the_same_content_and_citations_on_its_last_chunk(client, completion):
    chunks = list(client.chat.completions.create(model="document-qa", stream=True,
                                                 messages=[{"role": "user", "content": QUESTION}]))
    content = "".join(ch.choices[0].delta.content or "" for ch in chunks)
    assert content == completion.choices[0].message.content
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert chunks[-1].model_extra["citations"] == completion.model_extra["citations"]


def test_earlier_messages_are_the_history_of_a_follow_up(client, completion):
    follow = client.chat.completions.create(model="document-qa", messages=[
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": completion.choices[0].message.content},
        {"role": "user", "content": [{"type": "text", "text": "它面临哪些新问题？"}]}])
    assert follow.choices[0].message.content and "notes" in follow.model_extra


def test_an_abstention_lists_the_nearest_passages_its_text_promises(client):
    reply = client.chat.completions.create(model="document-qa",
                                           messages=[{"role": "user", "content": "月球的质量是多少？"}])
    content = reply.choices[0].message.content
    assert reply.model_extra["abstained"] is True and reply.model_extra["citations"] == []
    assert "\n\n最接近的段落（不足以回答）：\n- innovating-organizational-work.txt" in content


def test_errors_come_in_the_openai_shape(client, server):
    with pytest.raises(openai.BadRequestError, match="last message"):
        client.chat.completions.create(model="document-qa", messages=[{"role": "assistant", "content": "hi"}])
    with pytest.raises(openai.BadRequestError, match="empty"):
        client.chat.completions.create(model="document-qa", messages=[{"role": "user", "content": " "}])
    with openai.OpenAI(base_url=server.url + "/v1", api_key="wrong", max_retries=0) as wrong:
        with pytest.raises(openai.AuthenticationError):
            wrong.models.list()
