"""What changed in the corpus since an index was built: cheap enough to ask
after every action in the UI (file bytes are hashed, not parsed, and hashes
are remembered while a file's size and mtime stay the same)."""

from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path

from ingest.loaders import discover
from rag.config import Config
from rag.index.store import Manifest


def corpus_changes(config: Config, manifest: Manifest | None, hashes: FileHashes | None = None) -> list[str]:
    """Paths of corpus files that are new, changed or gone since ``manifest``
    (cheap: hashes bytes, does not parse; ``hashes`` remembers them between
    calls). Empty when the index is current."""
    hashes = hashes or FileHashes()
    indexed = {d.path: d.sha256 for d in manifest.documents} if manifest else {}
    failed = {f.path for f in manifest.failed} if manifest else set()
    changes = []
    seen = set()
    for path in discover(config.corpus_dir) if config.corpus_dir.is_dir() else []:
        rel = path.relative_to(config.corpus_dir).as_posix()
        seen.add(rel)
        if rel in failed:
            continue
        if indexed.get(rel) != hashes.sha256(path):
            changes.append(rel)
    changes.extend(sorted(set(indexed) - seen))
    return changes


class FileHashes:
    """sha256 of corpus files, remembered by path with the size and mtime
    each was computed for.

    The UI asks for the corpus status after every action, and re-reading every
    file each time grows with the corpus; the engine keeps one of these for its
    life. One entry per path, so edits do not pile up entries. File timestamps
    tick coarsely (a few ms), so a file written just now could be rewritten
    with the same size and mtime: like git's "racy" check, only files untouched
    for ``min_age_ns`` are remembered.
    """

    def __init__(self, min_age_ns: int = 2_000_000_000) -> None:
        self.min_age_ns = min_age_ns
        self._memo: dict[str, tuple[int, int, str]] = {}
        self._lock = threading.Lock()

    def sha256(self, path: Path) -> str:
        stat = path.stat()
        key = str(path.resolve())
        with self._lock:
            size, mtime, value = self._memo.get(key, (-1, -1, ""))
        if (size, mtime) == (stat.st_size, stat.st_mtime_ns):
            return value
        digest = hashlib.sha256()
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
        value = digest.hexdigest()
        if time.time_ns() - stat.st_mtime_ns > self.min_age_ns:
            with self._lock:
                self._memo[key] = (stat.st_size, stat.st_mtime_ns, value)
        return value
