"""The FastAPI app of the HTTP API and the server that runs it.

``app.py`` mounts the Gradio UI into this app (``gr.mount_gradio_app``), so
the UI, ``/api``, ``/v1`` and the OpenAPI page (``/docs``) share one process
and one port::

    app = create_app(engine)                    # /api, /v1, /docs
    gr.mount_gradio_app(app, blocks, path="/")  # the UI at /
    serve(app, config)
"""

from __future__ import annotations

import json
import logging

from fastapi import FastAPI, Request, Security
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPBearer

from api import native, openai_compat
from api.guard import Guard
from api.service import ApiError, Service
from rag.config import Config
from rag.engine import Engine

log = logging.getLogger(__name__)

DESCRIPTION = """
Search and cited answers over the documents of this server's corpus, and the
corpus itself (upload, delete, rebuild). Hits and answers are the JSON objects
of `python -m rag search|ask --json`. `/v1` is OpenAI-compatible: the
documents are the model `document-qa`.

Off loopback every `/api` and `/v1` route needs `Authorization: Bearer <key>`
(the server's `--api-key`); on loopback only when the server has a key.
"""

# Shown on the OpenAPI page (its "Authorize" button); the check itself is api.guard's.
bearer = HTTPBearer(auto_error=False, description="the server's --api-key (RAG_API_KEY)")


def create_app(engine: Engine) -> FastAPI:
    """The API's app over ``engine``: the routes of :mod:`api.native` and
    :mod:`api.openai_compat` behind :class:`api.guard.Guard`."""
    app = FastAPI(title="文档问答 · Document Q&A API", description=DESCRIPTION, version="1",
                  docs_url="/docs", redoc_url=None, openapi_url="/openapi.json")
    service = Service(engine)
    app.state.service = service
    for router in (native.router(service), openai_compat.router(service)):
        app.include_router(router, dependencies=[Security(bearer)])

    @app.exception_handler(ApiError)
    async def refused(request: Request, exc: ApiError) -> JSONResponse:
        if request.url.path.startswith("/v1/"):        # the OpenAI error shape, for its clients
            kind = "invalid_request_error" if exc.status < 500 else "server_error"
            return JSONResponse({"error": {"message": exc.message, "type": kind, "code": exc.status}},
                                status_code=exc.status)
        return JSONResponse({"detail": exc.message}, status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        # ASCII JSON: the refused input is echoed, and it may hold what UTF-8 cannot encode.
        body = json.dumps({"detail": jsonable_encoder(exc.errors())}, ensure_ascii=True)
        return Response(body, status_code=422, media_type="application/json")

    app.add_middleware(Guard, config=engine.config)
    return app


def serve(app: FastAPI, config: Config) -> int:
    """Serve ``app`` on ``config.host``:``config.port`` until interrupted."""
    import uvicorn

    log.info("serving http://%s:%d/ (the app), /docs (the HTTP API)", config.host, config.port)
    server = uvicorn.Server(uvicorn.Config(app, host=config.host, port=config.port, log_level="warning",
                                           timeout_graceful_shutdown=5))
    server.run()
    return 0
