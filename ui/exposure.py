"""Who can reach the app: the checks ``app.py`` makes before it serves, and
the one that decides whether a browser may choose its own LLM endpoint.

The app lets whoever reaches it read, upload and delete documents, so it
binds to this machine unless told otherwise, and refuses another address
without a password.
"""

from __future__ import annotations

import ipaddress


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only."""
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposure_problem(host: str, auth: str) -> str | None:
    """Why the app must not start with this host and auth, or None."""
    if auth and (":" not in auth or not auth.split(":", 1)[0] or not auth.split(":", 1)[1]):
        return "--auth must be user:password (both non-empty)"
    if not is_loopback(host) and not auth:
        return (f"refusing to serve on {host}: it is reachable from other machines and the app lets anyone "
                "read, upload and delete documents. Add --auth user:password (or RAG_AUTH), or bind to "
                "127.0.0.1 (the default).")
    return None
