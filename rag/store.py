"""The built index on disk, and loading it back.

Layout of ``index/``::

    CURRENT                 name of the version that serves (swapped atomically)
    v-<timestamp>/          one complete, immutable build
        manifest.json       embedder, dimension, chunker settings, documents
        documents.jsonl     each document's text as loaded (for context display)
        chunks.jsonl        the chunk table; row i is vector i
        vectors.npy         (n_chunks, dim) float32 unit vectors
        dense.faiss         inner-product FAISS index over vectors.npy
        lexical/            BM25 index over the same chunks
    .staging/               an unfinished build's per-document vectors (resume)

A build writes a new ``v-*`` folder and only then rewrites ``CURRENT`` with
``os.replace``, so a reader sees either the old index or the new one, never a
half-written one.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from rag.records import Chunk, Document, Heading

FORMAT_VERSION = 1
CURRENT = "CURRENT"


class IndexProblem(RuntimeError):
    """Base of index problems; the message says what is wrong and what to do."""


class IndexMissing(IndexProblem):
    pass


class IndexCorrupt(IndexProblem):
    pass


class IndexMismatch(IndexProblem):
    """The index was built with another embedder or other chunker settings."""


@dataclass
class DocumentEntry:
    """A document's line in the manifest."""

    path: str
    title: str
    format: str
    sha256: str
    size: int
    chunks: int
    indexed_at: str
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass
class FailedEntry:
    """A file that could not be indexed, and why."""

    path: str
    reason: str


@dataclass
class Manifest:
    """What an index was built from and with."""

    embedder: str
    dim: int
    chunker: dict[str, int]
    lexical_mode: str
    built_at: str
    documents: list[DocumentEntry]
    failed: list[FailedEntry] = field(default_factory=list)
    format_version: int = FORMAT_VERSION

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "Manifest":
        data = dict(data)
        data["documents"] = [DocumentEntry(**d) for d in data.get("documents", [])]
        data["failed"] = [FailedEntry(**f) for f in data.get("failed", [])]
        return cls(**data)

    def mismatch(self, embedder: str, dim: int | None, chunker: dict[str, int], lexical_mode: str) -> str | None:
        """Why this index cannot serve the given settings, or None."""
        if self.format_version != FORMAT_VERSION:
            return f"index format {self.format_version}, this program writes {FORMAT_VERSION}"
        if self.embedder != embedder:
            return f"built with embedder {self.embedder!r}, configured embedder is {embedder!r}"
        if dim is not None and self.dim != dim:
            return f"index vectors have {self.dim} dimensions, the embedder makes {dim}"
        if self.chunker != chunker:
            return f"built with chunker settings {self.chunker}, configured {chunker}"
        if self.lexical_mode != lexical_mode:
            return f"built with lexical tokenizer {self.lexical_mode!r}, configured {lexical_mode!r}"
        return None


@dataclass
class IndexStore:
    """A loaded index version: everything search and answering read."""

    folder: Path
    manifest: Manifest
    documents: dict[str, Document]
    chunks: list[Chunk]
    vectors: np.ndarray
    dense: object                # faiss.Index
    lexical: object              # rag.lexical.LexicalIndex

    @classmethod
    def load(cls, index_dir: Path) -> "IndexStore":
        """Load the version named by ``index_dir/CURRENT``."""
        folder = current_version(index_dir)
        return cls.load_version(folder)

    @classmethod
    def load_version(cls, folder: Path) -> "IndexStore":
        import faiss

        from rag.lexical import LexicalIndex

        try:
            manifest = Manifest.from_json(json.loads((folder / "manifest.json").read_text("utf-8")))
            documents = {d.path: d for d in (_document_from_json(json.loads(line))
                                             for line in _lines(folder / "documents.jsonl"))}
            chunks = [Chunk.from_json(json.loads(line)) for line in _lines(folder / "chunks.jsonl")]
            vectors = np.load(folder / "vectors.npy")
            dense = faiss.read_index(str(folder / "dense.faiss"))
            lexical = LexicalIndex.load(folder / "lexical")
        except FileNotFoundError as exc:
            raise IndexCorrupt(f"index {folder} is incomplete ({Path(exc.filename or '').name} missing): "
                               "run `python -m ingest --rebuild`") from exc
        except (ValueError, KeyError, TypeError, RuntimeError, OSError) as exc:
            raise IndexCorrupt(f"index {folder} is unreadable ({exc}): run `python -m ingest --rebuild`") from exc
        if not (len(chunks) == vectors.shape[0] == dense.ntotal == len(lexical)):
            raise IndexCorrupt(f"index {folder} is inconsistent: {len(chunks)} chunks, {vectors.shape[0]} "
                               f"vectors, {dense.ntotal} in FAISS, {len(lexical)} in BM25: "
                               "run `python -m ingest --rebuild`")
        return cls(folder, manifest, documents, chunks, vectors, dense, lexical)

    def chunks_of(self, doc: str) -> list[Chunk]:
        return [c for c in self.chunks if c.doc == doc]

    def save(self) -> None:
        """Write this store to ``self.folder`` (which must not exist yet)."""
        import faiss

        self.folder.mkdir(parents=True)
        _write_lines(self.folder / "documents.jsonl",
                     (json.dumps(_document_to_json(d), ensure_ascii=False) for d in self.documents.values()))
        _write_lines(self.folder / "chunks.jsonl",
                     (json.dumps(c.to_json(), ensure_ascii=False) for c in self.chunks))
        np.save(self.folder / "vectors.npy", self.vectors)
        faiss.write_index(self.dense, str(self.folder / "dense.faiss"))
        self.lexical.save(self.folder / "lexical")
        # The manifest is written last: a folder without one is never served.
        _write_text(self.folder / "manifest.json", json.dumps(self.manifest.to_json(), ensure_ascii=False, indent=1))


def current_version(index_dir: Path) -> Path:
    """The folder that ``CURRENT`` names; a clear error when there is none."""
    pointer = index_dir / CURRENT
    if not pointer.exists():
        raise IndexMissing(f"no index in {index_dir}: build it with `python -m ingest` "
                           "(or the Rebuild button)")
    name = pointer.read_text("utf-8").strip()
    folder = index_dir / name
    if not name or "/" in name or not folder.is_dir():
        raise IndexCorrupt(f"{pointer} names {name!r}, which is not an index folder: "
                           "run `python -m ingest --rebuild`")
    return folder


def read_manifest(index_dir: Path) -> Manifest:
    folder = current_version(index_dir)
    try:
        return Manifest.from_json(json.loads((folder / "manifest.json").read_text("utf-8")))
    except (OSError, ValueError, TypeError) as exc:
        raise IndexCorrupt(f"manifest of {folder} is unreadable ({exc}): run `python -m ingest --rebuild`") from exc


def publish(index_dir: Path, folder: Path) -> None:
    """Make ``folder`` (inside ``index_dir``) the serving version, atomically,
    then delete the versions it replaced."""
    tmp = index_dir / (CURRENT + ".tmp")
    _write_text(tmp, folder.name + "\n")
    os.replace(tmp, index_dir / CURRENT)
    _fsync_dir(index_dir)
    for old in index_dir.glob("v-*"):
        if old != folder and old.is_dir():
            shutil.rmtree(old, ignore_errors=True)


def _document_to_json(doc: Document) -> dict:
    data = asdict(doc)
    data["pages"] = list(doc.pages)
    return data


def _document_from_json(data: dict) -> Document:
    data = dict(data)
    data["pages"] = tuple(data.get("pages", ()))
    data["headings"] = tuple(Heading(**h) for h in data.get("headings", ()))
    return Document(**data)


def _lines(path: Path):
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            if line.strip():
                yield line


def _write_lines(path: Path, lines) -> None:
    with path.open("w", encoding="utf-8") as fh:
        for line in lines:
            fh.write(line + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def _write_text(path: Path, text: str) -> None:
    with path.open("w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
