"""What the routes of :mod:`api.native` and :mod:`api.openai_compat` share:
the engine, the rebuild jobs, and how a question is answered, at most
``api_concurrency`` at a time, each from one index version.

Each request gets its own view of the engine
(:meth:`rag.engine.Engine.with_overrides`) bound to the index serving when
it starts: a rebuild that publishes meanwhile changes the next request's
index, never this one's. The version answering is sent as the
``X-Index-Version`` header.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Annotated, Any, AsyncIterator, Sequence

from pydantic import BeforeValidator
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from api.jobs import Jobs
from rag.engine import AnswerUpdate, Engine, IndexProblem, QuestionError, valid_text
from rag.records import Answer, Hit, Turn

VERSION_HEADER = "X-Index-Version"

# Request text: a lone surrogate (JSON's "\ud800") becomes U+FFFD before
# validation, which would refuse it, and the engine says it was replaced.
Text = Annotated[str, BeforeValidator(lambda v: valid_text(v) if isinstance(v, str) else v)]


class ApiError(Exception):
    """A request the API refuses: HTTP ``status`` and a message for the client."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Service:
    """The engine behind the API, its rebuild jobs and its answering slots."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.config = engine.config
        self.jobs = Jobs(engine)
        self._slots: asyncio.Semaphore | None = None

    @property
    def slots(self) -> asyncio.Semaphore:
        # Made on first use, inside the server's event loop.
        if self._slots is None:
            self._slots = asyncio.Semaphore(max(1, self.config.api_concurrency))
        return self._slots

    def view(self, top_k: int | None) -> tuple[Engine, str]:
        """An engine bound to the serving index (loading it on first use),
        and that index's version. Blocking: call it in a worker thread."""
        try:
            view = self.engine.with_overrides(top_k=top_k or self.config.top_k)
            return view, Path(view.contents().version).name
        except IndexProblem as exc:
            raise ApiError(503, str(exc)) from exc

    async def search(self, question: str, k: int | None) -> tuple[list[Hit], str]:
        def run() -> tuple[list[Hit], str]:
            view, version = self.view(None)
            return _asked(view.search, question, k), version

        async with self.slots:
            return await run_in_threadpool(run)

    async def ask(self, question: str, history: Sequence[Turn], top_k: int | None) -> tuple[Answer, str]:
        def run() -> tuple[Answer, str]:
            view, version = self.view(top_k)
            return _asked(view.ask, question, history), version

        async with self.slots:
            return await run_in_threadpool(run)

    async def prepare_stream(self, question: str, top_k: int | None) -> tuple[Engine, str]:
        """The view a streamed answer comes from; refuses an empty question
        before the stream starts (so the client gets a 400, not an event)."""
        def run() -> tuple[Engine, str]:
            view, version = self.view(top_k)
            _asked(view.clean_question, question)
            return view, version

        return await run_in_threadpool(run)

    async def stream(self, view: Engine, question: str, history: Sequence[Turn]) -> AsyncIterator[AnswerUpdate]:
        """The engine's updates of a streamed answer, computed in a worker thread."""
        async with self.slots:
            async for update in iterate_in_threadpool(view.ask_stream(question, history)):
                yield update


def _asked(fn: Any, *args: Any) -> Any:
    try:
        return fn(*args)
    except QuestionError as exc:
        raise ApiError(400, str(exc)) from exc
    except IndexProblem as exc:
        raise ApiError(503, str(exc)) from exc


def sse(data: Any, event: str | None = None) -> str:
    """One server-sent event (``data`` as JSON, or as it is when a str)."""
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    return (f"event: {event}\n" if event else "") + f"data: {text}\n\n"
