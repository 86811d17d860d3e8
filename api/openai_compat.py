"""OpenAI-compatible routes, under ``/v1``, so that any OpenAI client or chat
front end can use the document collection as a "model":

* ``GET /v1/models``: the one model, ``document-qa``;
* ``POST /v1/chat/completions`` (streamed with ``"stream": true``): the last
  user message is the question, the earlier user/assistant pairs its
  history (for follow-ups); system messages and sampling options are
  ignored, since the answer is quoted from the documents. The reply's
  content is the cited answer with its ``[n]`` markers and a list of its
  sources; the structured citations travel in the extra field
  ``citations`` (each as in ``python -m rag ask --json``), beside
  ``abstained`` and ``notes``.
"""

from __future__ import annotations

import time
import uuid
from typing import Any, AsyncIterator, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from api.service import VERSION_HEADER, ApiError, Service, Text, sse
from lang.scripts import is_chinese
from rag.records import Answer, Turn

MODEL_ID = "document-qa"
NEAREST = 3          # passages listed under an abstention
CREATED = int(time.time())


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: str = Field(max_length=32)
    content: Text | list[dict[str, Any]] | None = None


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")     # temperature, max_tokens ... do not apply to quoted answers

    model: str = Field(MODEL_ID, max_length=200)
    messages: list[ChatMessage] = Field(min_length=1, max_length=100)
    stream: bool = False


def message_text(message: ChatMessage) -> str:
    """A message's text: its content, or the text parts of a multi-part content."""
    if isinstance(message.content, list):
        return "".join(str(part.get("text", "")) for part in message.content if part.get("type") == "text")
    return message.content or ""


def conversation(messages: list[ChatMessage]) -> tuple[str, list[Turn]]:
    """The question (the last message, a user's) and the earlier turns
    (each user message with the assistant's reply after it)."""
    if messages[-1].role != "user":
        raise ApiError(400, "the last message must be the user's question")
    turns: list[Turn] = []
    pending: str | None = None
    for message in messages[:-1]:
        if message.role == "user":
            pending = message_text(message)
        elif message.role == "assistant" and pending is not None:
            turns.append(Turn(pending, message_text(message)))
            pending = None
    return message_text(messages[-1]), turns[-20:]


def sources_text(answer: Answer) -> str:
    """The answer's sources as lines under a heading in the question's
    language; for an abstention (whose text says the nearest passages
    follow), the nearest passages."""
    chinese = is_chinese(answer.question)
    if answer.citations:
        lines = [f"[{c.n}] {_where(c.doc, c.section, c.page, c.start, c.end)}" for c in answer.citations]
        return "\n\n" + ("来源：" if chinese else "Sources:") + "\n" + "\n".join(lines)
    if answer.abstained and answer.hits:
        lines = [f"- {_where(h.chunk.doc, h.chunk.section, h.chunk.page, h.chunk.start, h.chunk.end)}"
                 for h in answer.hits[:NEAREST]]
        return "\n\n" + ("最接近的段落（不足以回答）：" if chinese else "Nearest passages (not enough to answer):") \
            + "\n" + "\n".join(lines)
    return ""


def _where(doc: str, section: str, page: int | None, start: int, end: int) -> str:
    return " · ".join([doc] + ([section] if section else []) + ([f"p. {page}"] if page else [])) + f" [{start}:{end}]"


def extra_fields(answer: Answer) -> dict[str, Any]:
    return {"citations": [c.to_json() for c in answer.citations], "abstained": answer.abstained,
            "notes": list(answer.notes)}


def router(service: Service) -> APIRouter:
    v1 = APIRouter(prefix="/v1", tags=["OpenAI-compatible"])

    @v1.get("/models", summary="The document collection, as the one model")
    async def models() -> dict[str, Any]:
        return {"object": "list", "data": [{"id": MODEL_ID, "object": "model", "created": CREATED,
                                            "owned_by": "local documents"}]}

    @v1.post("/chat/completions", summary="A cited answer as an OpenAI chat completion (streamed or not)")
    async def chat(request: ChatRequest) -> Any:
        question, history = conversation(request.messages)
        completion_id, created = f"chatcmpl-{uuid.uuid4().hex}", int(time.time())
        if not request.stream:
            answer, version = await service.ask(question, history, None)
            return JSONResponse({
                "id": completion_id, "object": "chat.completion", "created": created, "model": request.model,
                "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None,
                             "message": {"role": "assistant", "content": answer.answer + sources_text(answer)}}],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
                **extra_fields(answer)}, headers={VERSION_HEADER: version})
        view, version = await service.prepare_stream(question, None)

        def chunk(delta: dict[str, Any], finish: Literal["stop"] | None = None, **extra: Any) -> str:
            return sse({"id": completion_id, "object": "chat.completion.chunk", "created": created,
                        "model": request.model,
                        "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
                        **extra})

        async def events() -> AsyncIterator[str]:
            yield chunk({"role": "assistant", "content": ""})
            shown = ""
            try:
                async for update in service.stream(view, question, history):
                    if update.answer is not None:
                        answer = update.answer
                        sources = sources_text(answer)
                        yield chunk({"content": sources} if sources else {})
                        # The verified answer's text as well: an LLM's streamed text may have lost markers since.
                        yield chunk({}, "stop", answer=answer.answer, **extra_fields(answer))
                    elif update.text.startswith(shown) and len(update.text) > len(shown):
                        delta, shown = update.text[len(shown):], update.text
                        yield chunk({"content": delta})
            except (ApiError, ValueError, RuntimeError, OSError) as exc:
                yield sse({"error": {"message": getattr(exc, "message", None) or str(exc), "type": "server_error"}})
            yield sse("[DONE]")

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={VERSION_HEADER: version, "Cache-Control": "no-store"})

    return v1
