"""What every ``/api`` and ``/v1`` request passes before a route sees it
(an ASGI middleware, so a refused request's body is never read):

* the API key: ``Authorization: Bearer <key>`` whenever one is configured,
  and one must be whenever the app listens beyond loopback
  (:func:`exposure_problem` stops ``app.py`` from starting without it);
* a browser page of another site may not call the API (a request whose
  ``Origin`` is not the API's own is refused), and on a loopback app the
  ``Host`` must be a loopback name, so a DNS-rebinding page cannot either;
* body size limits: ``upload_max_mb`` (plus form overhead) for an upload,
  ``api_max_body_kb`` for everything else; 413 beyond them, whether the
  client announced the length or not.
"""

from __future__ import annotations

import hmac
import json
from typing import Any, Awaitable, Callable
from urllib.parse import urlsplit

from rag.config import Config, is_loopback

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

PREFIXES = ("/api/", "/v1/")
UPLOAD_PATH = "/api/documents"
FORM_OVERHEAD = 1024 * 1024      # multipart boundaries and headers around the files of an upload


def guarded(path: str) -> bool:
    return path.startswith(PREFIXES) or path in ("/api", "/v1")


def exposure_problem(config: Config) -> str | None:
    """Why the API must not be served with this configuration, or None."""
    if not is_loopback(config.host) and not config.api_key:
        return (f"refusing to serve the HTTP API on {config.host}: it is reachable from other machines and "
                "lets anyone search, read, upload and delete documents. Add --api-key KEY (or RAG_API_KEY), "
                "or bind to 127.0.0.1 (the default).")
    return None


class _TooLarge(Exception):
    pass


class Guard:
    """ASGI middleware in front of the API's routes (other paths pass untouched)."""

    def __init__(self, app: Callable, config: Config) -> None:
        self.app = app
        self.config = config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not guarded(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        refusal = self.refusal(headers)
        if refusal:
            await _reply(send, *refusal)
            return
        limit = self.limit(scope)
        try:
            announced = int(headers.get("content-length", "0") or 0)
        except ValueError:
            await _reply(send, 400, "bad Content-Length")
            return
        if announced > limit:
            await _reply(send, 413, _too_large(limit))
            return
        await self._limited(scope, receive, send, limit)

    def refusal(self, headers: dict[str, str]) -> tuple[int, str, dict[str, str]] | None:
        """(status, message, headers) when the request is refused."""
        config = self.config
        if exposure_problem(config):
            return 503, "the HTTP API is off: the app listens beyond loopback without --api-key", {}
        if config.api_key:
            scheme, _, token = headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), config.api_key.encode()):
                return 401, "an API key is required: send 'Authorization: Bearer <key>'", {
                    "www-authenticate": "Bearer"}
        host = headers.get("host", "")
        origin = headers.get("origin")
        if origin is not None and (origin == "null" or urlsplit(origin).netloc.lower() != host.lower()):
            return 403, "requests from another site's page are refused", {}
        if host and is_loopback(config.host) and not is_loopback(_hostname(host)):
            return 403, f"Host {host!r} is not this machine: the app listens on loopback only", {}
        return None

    def limit(self, scope: Scope) -> int:
        if scope["path"].rstrip("/") == UPLOAD_PATH and scope["method"] == "POST":
            return self.config.upload_max_mb * 1024 * 1024 + FORM_OVERHEAD
        return self.config.api_max_body_kb * 1024

    async def _limited(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        """Run the route, counting the body as it arrives; past ``limit``
        the route's reply (if any) is dropped and a 413 sent instead."""
        state = {"received": 0, "exceeded": False, "started": False}

        async def counted() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                state["received"] += len(message.get("body", b""))
                if state["received"] > limit:
                    state["exceeded"] = True
                    raise _TooLarge()
            return message

        async def reply(message: Message) -> None:
            if state["exceeded"]:
                return
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        try:
            await self.app(scope, counted, reply)
        except _TooLarge:
            pass
        except Exception:
            if not state["exceeded"]:
                raise
        if state["exceeded"] and not state["started"]:
            await _reply(send, 413, _too_large(limit))


def _hostname(host: str) -> str:
    """The name of a Host header (``127.0.0.1:7860``, ``[::1]:7860``)."""
    return urlsplit(f"//{host}").hostname or host


def _too_large(limit: int) -> str:
    return f"the request body is over this route's limit of {limit:,} bytes"


async def _reply(send: Send, status: int, message: str, headers: dict[str, str] | None = None) -> None:
    body = json.dumps({"detail": message}, ensure_ascii=False).encode("utf-8")
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
