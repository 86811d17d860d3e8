"""Resumable embedding: a build embeds its new texts as one stream of
batches, longest first, and saves each finished batch's vectors to
``index/.staging/`` at once, so an interrupted build resumes from its last
finished batch, inside a large file as well as between files.

Vectors are staged by what was embedded (a hash of prefix and text), under
a folder named for the settings that decide vectors (embedder, prefixes,
chunker, index format): a rerun with other settings stages apart, and a
text that was embedded once is never embedded again by a resumed build.
"""

from __future__ import annotations

import hashlib
import logging
import math
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

log = logging.getLogger(__name__)

KEY_BYTES = 20                 # sha1 digest of prefix + text
BATCH_GLOB = "batch-*.npz"
# Texts in a stream's first staged batch, before its pace is known: the
# longest texts come first, and 1,024 of them (the default checkpoint) took
# about 7 minutes on 2 shared cores, all lost to an interruption.
FIRST_BATCH = 64

# ``encode(texts, progress)`` returns (len(texts), dim) unit vectors and may
# call ``progress(done, total)`` within the batch.
Encode = Callable[[list[str], Callable[[int, int], None]], np.ndarray]


def text_key(prefix: str, text: str) -> bytes:
    """What a staged vector is filed under: the exact text the model saw."""
    return hashlib.sha1((prefix + text).encode("utf-8", "surrogatepass")).digest()


class Staging:
    """The finished batches of an unfinished build (see the module docstring)."""

    def __init__(self, folder: Path, settings_key: str) -> None:
        self.folder = folder / settings_key
        self._batches = 0

    def load(self) -> dict[bytes, np.ndarray]:
        """Every staged vector by its key. A batch file that cannot be read
        (a crash while writing it, though it is written atomically) is skipped:
        its texts are embedded again.

        The vectors are rows of a memory-mapped :class:`VectorFile`, read in
        one batch file at a time: a build resumed near the end of a big file
        would otherwise hold every staged vector in memory once more."""
        readable: list[tuple[Path, np.ndarray]] = []
        for path in sorted(self.folder.glob(BATCH_GLOB)):
            try:
                with np.load(path) as data:
                    readable.append((path, data["keys"]))
            except (OSError, ValueError, KeyError, EOFError) as exc:
                log.warning("ignoring unreadable staged batch %s: %s", path.name, exc)
        rows: dict[bytes, int] = {}
        file: VectorFile | None = None
        written = 0
        for path, keys in readable:
            try:
                with np.load(path) as data:
                    vectors = data["vectors"]
            except (OSError, ValueError, KeyError, EOFError) as exc:
                log.warning("ignoring unreadable staged batch %s: %s", path.name, exc)
                continue
            if file is None:
                file = self.vector_file(sum(len(k) for _, k in readable), vectors.shape[1])
            file.write(range(written, written + len(keys)), vectors)
            rows.update(zip((bytes(k) for k in keys), range(written, written + len(keys))))
            written += len(keys)
            self._batches += 1
        if file is None:
            return {}
        array = file.close()
        return {key: array[i] for key, i in rows.items()}

    def save(self, keys: Sequence[bytes], vectors: np.ndarray) -> None:
        """Stage one finished batch (written to a temporary name, then renamed)."""
        self.folder.mkdir(parents=True, exist_ok=True)
        self._batches += 1
        name = f"batch-{self._batches:06d}-{os.getpid()}"
        tmp = self.folder / f"{name}.tmp.npz"
        np.savez(tmp, keys=np.array(list(keys), dtype=f"S{KEY_BYTES}"), vectors=vectors.astype(np.float32))
        tmp.replace(self.folder / f"{name}.npz")

    def clear(self) -> None:
        shutil.rmtree(self.folder.parent, ignore_errors=True)

    def vector_file(self, rows: int, dim: int) -> "VectorFile":
        """A :class:`VectorFile` of ``rows`` x ``dim`` beside the staged batches."""
        self.folder.mkdir(parents=True, exist_ok=True)
        return VectorFile(rows, dim, self.folder)


class VectorFile:
    """A stream's (rows, dim) float32 vectors on disk instead of in memory:
    written row by row with ``pwrite`` as batches finish, read back as a
    memory-mapped array (:attr:`array`).

    Why: a stream's vectors are 1.5 KB a text (384 floats), the largest thing
    a build holds that grows with the corpus (400 MB for the 262,243 texts of
    one 30 MB file, then copied once more when the chunk and sentence vectors
    were stacked). Written with ``pwrite``, they never become the process's
    anonymous memory; read through the map, they are page cache the kernel
    can drop under pressure. The file is unnamed (``O_TMPFILE`` where the
    file system has it, else unlinked at once), so a crash or Ctrl-C leaves
    nothing behind, and it lives as long as the array does.
    """

    def __init__(self, rows: int, dim: int, folder: Path) -> None:
        self.rows, self.dim = rows, dim
        self._row_bytes = dim * 4
        self._file = tempfile.TemporaryFile(dir=folder)
        self._file.truncate(max(1, rows * self._row_bytes))    # mmap refuses an empty file
        self.array = (np.memmap(self._file, dtype=np.float32, mode="r+", shape=(rows, dim)) if rows
                      else np.zeros((0, dim), dtype=np.float32))

    def write(self, rows: Sequence[int], vectors: np.ndarray) -> None:
        """Store ``vectors[j]`` as row ``rows[j]``."""
        data = np.ascontiguousarray(vectors, dtype=np.float32)
        fd = self._file.fileno()
        for j, row in enumerate(rows):
            os.pwrite(fd, data[j].tobytes(), int(row) * self._row_bytes)

    def close(self) -> np.ndarray:
        """The array (the map keeps the file alive); no more writes."""
        self._file.close()
        return self.array


@dataclass(frozen=True)
class StreamProgress:
    """How far an embedding stream is: texts ``done`` of ``total``, the rate
    so far (texts per second) and the seconds left, estimated from the
    characters still to embed at the rate characters went so far (the
    longest texts go first, so the estimate errs long)."""

    done: int
    total: int
    rate: float
    eta: float | None


@dataclass(frozen=True)
class Embedded:
    """The vectors of a stream's texts, (n, dim) float32 in input order, the
    staging key of each text, and the keys whose vectors came from staging
    (an interrupted earlier build embedded them) rather than the encoder."""

    vectors: np.ndarray
    keys: list[bytes]
    staged: frozenset[bytes]


def embed_stream(texts: Sequence[str], prefix: str, encode: Encode, dim: int, staging: Staging,
                 known: dict[bytes, np.ndarray], checkpoint: int,
                 progress: Callable[[StreamProgress], None] | None = None,
                 checkpoint_seconds: float = float("inf")) -> Embedded:
    """Vectors of ``texts``: taken from ``known`` (the staged vectors) where
    there, the rest embedded by ``encode`` longest first, each call's vectors
    staged as soon as it returns. Repeated texts are embedded once.

    A call holds at most ``checkpoint`` texts, and about as many as the
    previous call's pace embeds in ``checkpoint_seconds`` (the first holds
    :data:`FIRST_BATCH` when that is fewer), so an interruption loses about
    that much work whatever the texts' lengths.

    ``prefix`` is the prefix the encoder puts before each text (part of the
    staging key, not added here). Memory: one batch; the (n, dim) result is
    a :class:`VectorFile` beside the staged batches, memory-mapped, so a
    big corpus's vectors do not grow the process's memory.
    """
    keys = [text_key(prefix, t) for t in texts]
    first: dict[bytes, int] = {}
    for i, key in enumerate(keys):
        first.setdefault(key, i)
    out = staging.vector_file(len(texts), dim)
    missing, staged = [], set()
    for key, i in first.items():
        if key in known:
            out.write([i], known[key][None])
            staged.add(key)
        else:
            missing.append(i)
    missing.sort(key=lambda i: -len(texts[i]))
    chars_total = sum(len(texts[i]) for i in missing)
    chars_done = 0
    started = time.perf_counter()

    def report(done: int, chars: int) -> None:
        if progress is None:
            return
        elapsed = time.perf_counter() - started
        rate = done / elapsed if elapsed > 0 else 0.0
        eta = (chars_total - chars) * elapsed / chars if chars > 0 else None
        progress(StreamProgress(done, len(missing), rate, eta))

    report(0, 0)
    lo = 0
    paced = math.isfinite(checkpoint_seconds)
    size = min(checkpoint, FIRST_BATCH) if paced else checkpoint
    while lo < len(missing):
        rows = missing[lo:lo + size]
        batch = [texts[i] for i in rows]
        batch_chars = sum(len(t) for t in batch)

        def within(done: int, total: int, lo: int = lo, chars: int = chars_done) -> None:
            if done < total:   # the batch's end is reported once it is staged
                report(lo + done, chars + batch_chars * done // max(total, 1))

        called = time.perf_counter()
        vectors = encode(batch, within)
        took = time.perf_counter() - called
        out.write(rows, vectors)
        staging.save([keys[i] for i in rows], vectors)
        chars_done += batch_chars
        lo += len(rows)
        report(lo, chars_done)
        if paced and took > 0:
            size = max(1, min(checkpoint, int(len(rows) * checkpoint_seconds / took)))

    array = out.close()
    for i, key in enumerate(keys):   # repeats take their first occurrence's vector
        if first[key] != i:
            array[i] = array[first[key]]
    return Embedded(array, keys, frozenset(staged))
