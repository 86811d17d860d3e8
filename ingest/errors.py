"""The one exception of ingestion.

Every step that reads a file (decoding, each format parser, the loader) refuses
a file the same way, with a message a user can act on; it lives here, below
all of them, so that each can raise it without importing the loader.
"""

from __future__ import annotations

from pathlib import Path


class LoadError(Exception):
    """A file that cannot be indexed. ``str()`` is one line naming the file
    and what to do about it; ``reason`` alone is kept for index manifests."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = str(path)
        self.reason = " ".join(str(reason).split())   # one line, whatever the cause said
        super().__init__(f"{self.path}: {self.reason}")
