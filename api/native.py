"""The API's own routes, under ``/api``: search, ask (JSON or server-sent
events), the documents of the corpus, rebuild jobs and the index status.

Hits and answers are exactly the objects ``python -m rag search|ask --json``
prints (:func:`rag.engine.search_json`, :meth:`rag.records.Answer.to_json`).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, AsyncIterator

from fastapi import APIRouter, File, Query, UploadFile
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from api.service import VERSION_HEADER, ApiError, Service, Text, sse
from rag.engine import search_json
from rag.records import Turn

MAX_QUESTION = 20_000      # characters accepted in a request (the engine keeps max_question_chars of them)


class SearchRequest(BaseModel):
    question: Text = Field(max_length=MAX_QUESTION, examples=["组织部门的职能是什么？"])
    k: int | None = Field(None, ge=1, le=100, description="number of hits (default: the server's top_k)")


class HistoryTurn(BaseModel):
    question: Text = Field(max_length=MAX_QUESTION)
    answer: Text = Field(max_length=50_000)


class AskRequest(BaseModel):
    question: Text = Field(max_length=MAX_QUESTION, examples=["组织部门的职能是什么？"])
    history: list[HistoryTurn] = Field(default_factory=list, max_length=20,
                                       description="earlier turns, oldest first, for follow-up questions")
    top_k: int | None = Field(None, ge=1, le=20, description="passages to retrieve (default: the server's)")
    stream: bool = Field(False, description="server-sent events: 'delta' ({\"delta\": text}) as the answer "
                                            "grows, then 'answer' (the answer object), or 'error'")


class RebuildRequest(BaseModel):
    full: bool = Field(False, description="embed every document again (default: only new or changed ones)")


def router(service: Service) -> APIRouter:
    api = APIRouter(prefix="/api", tags=["documents"])
    engine = service.engine

    @api.post("/search", summary="Ranked passages for a question")
    async def search(request: SearchRequest) -> JSONResponse:
        hits, version = await service.search(request.question, request.k)
        return JSONResponse(search_json(request.question, hits), headers={VERSION_HEADER: version})

    @api.post("/ask", summary="An answer with verified citations (JSON, or server-sent events with stream)")
    async def ask(request: AskRequest) -> Any:
        history = [Turn(t.question, t.answer) for t in request.history]
        if not request.stream:
            answer, version = await service.ask(request.question, history, request.top_k)
            return JSONResponse(answer.to_json(), headers={VERSION_HEADER: version})
        view, version = await service.prepare_stream(request.question, request.top_k)

        async def events() -> AsyncIterator[str]:
            shown = ""
            try:
                async for update in service.stream(view, request.question, history):
                    if update.answer is not None:
                        yield sse(update.answer.to_json(), "answer")
                    elif update.text.startswith(shown):
                        delta, shown = update.text[len(shown):], update.text
                        if delta:
                            yield sse({"delta": delta}, "delta")
            except (ApiError, ValueError, RuntimeError, OSError) as exc:
                yield sse({"error": getattr(exc, "message", None) or str(exc)}, "error")

        return StreamingResponse(events(), media_type="text/event-stream",
                                 headers={VERSION_HEADER: version, "Cache-Control": "no-store"})

    @api.get("/documents", summary="The corpus and the index side by side, one row per file")
    async def documents() -> list[dict[str, Any]]:
        return [asdict(d) for d in await run_in_threadpool(engine.documents)]

    @api.post("/documents", summary="Upload documents (multipart, field 'files')")
    async def upload(files: list[UploadFile] = File(..., description="one or more files"),
                     rebuild: bool = Query(False, description="start an incremental rebuild when any was added"),
                     ) -> dict[str, Any]:
        added, refused = [], []
        for upload in files:
            requested = upload.filename or "upload"
            try:
                stored = await run_in_threadpool(engine.add_file, upload.file, requested)
            except (ValueError, OSError) as exc:
                refused.append({"name": requested, "reason": str(exc)})
                continue
            added.append({"name": stored, "requested": requested})
        job = service.jobs.submit(False) if added and rebuild else None
        return {"added": added, "refused": refused, "job": job.to_json() if job else None}

    @api.delete("/documents/{name:path}", summary="Delete a document from the corpus")
    async def delete(name: str, rebuild: bool = Query(False, description="start an incremental rebuild")
                     ) -> dict[str, Any]:
        try:
            await run_in_threadpool(engine.delete_document, name)
        except ValueError as exc:
            raise ApiError(404, str(exc)) from exc      # not a document of the corpus
        job = service.jobs.submit(False) if rebuild else None
        return {"deleted": name, "job": job.to_json() if job else None}

    @api.post("/rebuild", status_code=202, summary="Start a rebuild; returns its job (see /api/jobs/{id})")
    async def rebuild(request: RebuildRequest | None = None) -> dict[str, Any]:
        return service.jobs.submit(bool(request and request.full)).to_json()

    @api.get("/jobs/{job_id}", summary="A rebuild's state, progress and result")
    async def job(job_id: str) -> dict[str, Any]:
        found = service.jobs.get(job_id)
        if found is None:
            raise ApiError(404, f"no job {job_id}")
        return found.to_json()

    @api.get("/status", summary="What the index holds, and what changed since it was built")
    async def status() -> dict[str, Any]:
        return (await run_in_threadpool(engine.status)).to_json()

    return api
