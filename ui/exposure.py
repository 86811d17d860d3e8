"""Who can reach the app: the checks ``app.py`` makes before it serves, and
the ones that decide whether a browser may choose its own LLM endpoint.

The app lets whoever reaches it read, upload and delete documents, so it
binds to this machine unless told otherwise, and refuses another address
without a password. A browser's LLM endpoint is an address the *server*
calls: whoever may set it could make the server reach any address it can
(an internal service, a cloud metadata endpoint), so it is limited to what
the operator allows (``--llm-endpoints``; by default loopback addresses,
and only while the app itself listens on loopback).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from rag.config import Config, is_loopback

__all__ = ["is_loopback", "exposure_problem", "custom_endpoints_allowed", "endpoint_allowed"]

_DEFAULT_PORTS = {"http": 80, "https": 443}


def exposure_problem(host: str, auth: str) -> str | None:
    """Why the app must not start with this host and auth, or None."""
    if auth and (":" not in auth or not auth.split(":", 1)[0] or not auth.split(":", 1)[1]):
        return "--auth must be user:password (both non-empty)"
    if not is_loopback(host) and not auth:
        return (f"refusing to serve on {host}: it is reachable from other machines and the app lets anyone "
                "read, upload and delete documents. Add --auth user:password (or RAG_AUTH), or bind to "
                "127.0.0.1 (the default).")
    return None


def custom_endpoints_allowed(config: Config) -> bool:
    """Whether a browser may choose an LLM endpoint at all: when the operator
    lists the endpoints allowed, or, with none listed, on a loopback app."""
    policy = config.llm_endpoints.strip().lower()
    if policy == "none":
        return False
    return bool(policy) or is_loopback(config.host)


def endpoint_allowed(url: str, config: Config) -> bool:
    """Whether a browser may point the answers at ``url``: an http(s) URL
    (never a local model path: loading a model is the server's decision),
    with no user name or password in it, whose origin is one the operator
    listed in ``llm_endpoints``; with none listed, a loopback address."""
    if not custom_endpoints_allowed(config) or len(url) >= 500 or any(c.isspace() for c in url):
        return False
    origin = _origin(url)
    if origin is None:
        return False
    listed = [o for o in (_origin(item.strip()) for item in config.llm_endpoints.split(",")) if o]
    if config.llm_endpoints.strip():
        return origin in listed
    return is_loopback(origin[1])


def _origin(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an http(s) URL, or None when it is not one."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname or parts.username or parts.password:
        return None
    return parts.scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[parts.scheme]
