"""The built index on disk, and loading it back.

Layout of ``index/``::

    CURRENT                 name of the version that serves (swapped atomically)
    v-<timestamp>/          one complete, immutable build
        manifest.json       embedder, dimension, chunker settings, documents
        documents.jsonl     each document's text as loaded (for context display)
        chunks.jsonl        the chunk table; row i is vector i
        vectors.npy         (n_chunks, dim) float32 unit vectors
        dense.faiss         FAISS index over vectors.npy, of the type manifest.dense names
                            (rag/index/vectors.py; absent when a Milvus collection serves it)
        lexical/            BM25 index over the same chunks
        sentences.npz       the sentence table: each chunk's sentences as spans
        sentence_vectors.npy  (n_sentences, dim) float32, row i is sentence i
        clauses.npz         the clause table: each chunk's answer units that are not
                            sentences of it (a sentence cut at a semicolon), as spans
        clause_vectors.npy  (n_clauses, dim) float32, row i is clause i
        term_stats.json     how many chunks hold each term (rag/index/term_stats.py)
        terms.json          the corpus terms a foreign-script question is translated into
        term_vectors.npy    (n_terms, dim) float32 (see rag/index/term_table.py)
    .staging/               an unfinished build's per-document vectors (resume)

A build writes a new ``v-*`` folder and only then rewrites ``CURRENT`` with
``os.replace``, so a reader sees either the old index or the new one, never a
half-written one.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, TypeVar

import numpy as np

from ingest.records import Chunk, Document, Heading, Sentence
from rag.config import DenseKind
from rag.index.lexical import LexicalIndex
from rag.index.term_stats import TermStats
from rag.index.term_table import TermTable
from rag.index.vectors import DenseSearch, DenseSpec, load_dense, save_dense

T = TypeVar("T")

# 2: the sentence table (sentences.npz, sentence_vectors.npy) and the term
#    table (terms.json, term_vectors.npy) were added.
# 3: the clause table (clauses.npz, clause_vectors.npy) and the rerank's
#    term statistics (term_stats.json) were added.
FORMAT_VERSION = 3
CURRENT = "CURRENT"


class IndexProblem(RuntimeError):
    """Base of index problems; the message says what is wrong and what to do."""


class IndexMissing(IndexProblem):
    pass


class IndexCorrupt(IndexProblem):
    pass


class StoreUnreachable(IndexProblem):
    """The Milvus store that serves the index's vectors does not answer."""


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
    dense: DenseSpec = field(default_factory=DenseSpec)   # the dense index type and its measured recall

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict) -> "Manifest":
        data = dict(data)
        data["documents"] = [DocumentEntry(**d) for d in data.get("documents", [])]
        data["failed"] = [FailedEntry(**f) for f in data.get("failed", [])]
        data["dense"] = DenseSpec.from_json(data.get("dense"))
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


@dataclass(frozen=True)
class SentenceTable:
    """The sentences of every chunk and their vectors, in chunk order (the
    clause table, :attr:`IndexStore.clauses`, is one of these too: the
    answer units of each chunk that are not among its sentences).

    Chunk ``i``'s sentences are rows ``offsets[i]:offsets[i + 1]``; sentence
    ``j`` is ``document.text[starts[j]:ends[j]]`` of its chunk's document. A
    sentence repeated by chunk overlap appears once per chunk (its vector is
    computed once). Shapes: offsets (n_chunks + 1,), starts/ends
    (n_sentences,) int64, vectors (n_sentences, dim) float32 unit rows.
    """

    offsets: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    vectors: np.ndarray

    @classmethod
    def from_parts(cls, spans: list[list[tuple[int, int]]], vectors: np.ndarray) -> "SentenceTable":
        """The table of per-chunk ``(start, end)`` lists and the matching
        stacked vectors."""
        counts = [len(s) for s in spans]
        offsets = np.zeros(len(spans) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum(counts)
        flat = [span for chunk_spans in spans for span in chunk_spans]
        starts = np.array([a for a, _ in flat], dtype=np.int64)
        ends = np.array([b for _, b in flat], dtype=np.int64)
        return cls(offsets, starts, ends, np.asarray(vectors, dtype=np.float32))

    def save(self, spans_file: Path, vectors_file: Path) -> None:
        """Write the spans (``.npz``) and the vectors (``.npy``)."""
        np.savez(spans_file, offsets=self.offsets, starts=self.starts, ends=self.ends)
        np.save(vectors_file, self.vectors)

    @classmethod
    def load(cls, spans_file: Path, vectors_file: Path) -> "SentenceTable":
        """Read what :meth:`save` wrote."""
        with np.load(spans_file) as table:
            offsets, starts, ends = table["offsets"], table["starts"], table["ends"]
        return cls(offsets, starts, ends, np.load(vectors_file))

    def rows_of(self, chunk_row: int) -> range:
        """Sentence rows of chunk ``chunk_row``."""
        return range(int(self.offsets[chunk_row]), int(self.offsets[chunk_row + 1]))

    def spans_of(self, chunk_row: int) -> list[tuple[int, int]]:
        rows = self.rows_of(chunk_row)
        return list(zip(self.starts[rows.start:rows.stop].tolist(), self.ends[rows.start:rows.stop].tolist()))

    def __len__(self) -> int:
        return len(self.starts)


@dataclass
class IndexStore:
    """A loaded index version: everything search and answering read.

    A version never changes once published, so what later steps derive from
    it (term statistics, the corpus's script) is computed once and kept here,
    by :meth:`derived`: it lives exactly as long as the loaded index.
    """

    folder: Path
    manifest: Manifest
    documents: dict[str, Document]
    chunks: list[Chunk]
    vectors: np.ndarray          # (n_chunks, dim) float32 unit vectors
    dense: DenseSearch           # a FAISS index, or a Milvus collection (rag.index.milvus)
    lexical: LexicalIndex
    sentences: SentenceTable
    terms: TermTable
    # The answer units (rag/answer/units.py) of each chunk that the sentence
    # table lacks, with their vectors: an answer then embeds only the question.
    # None in a store put together without them (a test's): such units are
    # embedded when asked for.
    clauses: SentenceTable | None = None
    # Counted by the build; None: counted on first use (rag/retrieve/rerank.py).
    term_stats: TermStats | None = None
    _derived: dict[Callable, Any] = field(default_factory=dict, init=False, repr=False, compare=False)
    _derived_lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False, compare=False)

    def derived(self, compute: Callable[["IndexStore"], T]) -> T:
        """``compute(self)``, computed on first use and kept with this store."""
        with self._derived_lock:
            if compute not in self._derived:
                self._derived[compute] = compute(self)
            return self._derived[compute]

    @classmethod
    def load(cls, index_dir: Path, store: str = "") -> "IndexStore":
        """Load the version named by ``index_dir/CURRENT``; ``store`` is the
        Milvus address a Milvus-served version is searched at (``Config.store``;
        "" = the one it was built into)."""
        folder = current_version(index_dir)
        return cls.load_version(folder, store)

    @classmethod
    def load_version(cls, folder: Path, store: str = "") -> "IndexStore":
        try:
            manifest = Manifest.from_json(json.loads((folder / "manifest.json").read_text("utf-8")))
            if manifest.format_version != FORMAT_VERSION:
                # Before its files are read: an older version lacks some of them.
                raise IndexMismatch(f"index {folder} has format {manifest.format_version}, this program reads "
                                    f"{FORMAT_VERSION}: rebuild it with `python -m ingest --rebuild`")
            documents = {d.path: d for d in (_document_from_json(json.loads(line))
                                             for line in _lines(folder / "documents.jsonl"))}
            chunks = [Chunk.from_json(json.loads(line)) for line in _lines(folder / "chunks.jsonl")]
            # Memory-mapped: the reranker reads a few rows a question, and a
            # large index is paged in as used rather than read whole.
            vectors = np.load(folder / "vectors.npy", mmap_mode="r")
            dense = _load_dense(folder, manifest.dense, store)
            lexical = LexicalIndex.load(folder / "lexical")
            sentences = SentenceTable.load(folder / "sentences.npz", folder / "sentence_vectors.npy")
            clauses = SentenceTable.load(folder / "clauses.npz", folder / "clause_vectors.npy")
            term_stats = TermStats.load(folder)
            terms = TermTable(json.loads((folder / "terms.json").read_text("utf-8")),
                              np.load(folder / "term_vectors.npy"))
        except IndexProblem:
            raise
        except FileNotFoundError as exc:
            raise IndexCorrupt(f"index {folder} is incomplete ({Path(exc.filename or '').name} missing): "
                               "run `python -m ingest --rebuild`") from exc
        except (ValueError, KeyError, TypeError, RuntimeError, OSError, zipfile.BadZipFile) as exc:
            raise IndexCorrupt(f"index {folder} is unreadable ({exc}): run `python -m ingest --rebuild`") from exc
        if not (len(chunks) == vectors.shape[0] == dense.ntotal == len(lexical)):
            raise IndexCorrupt(f"index {folder} is inconsistent: {len(chunks)} chunks, {vectors.shape[0]} "
                               f"vectors, {dense.ntotal} in FAISS, {len(lexical)} in BM25: "
                               "run `python -m ingest --rebuild`")
        for name, table in (("sentence", sentences), ("clause", clauses)):
            problem = _sentence_table_problem(table, chunks, vectors.shape[1])
            if problem:
                raise IndexCorrupt(f"index {folder} has a broken {name} table ({problem}): "
                                   "run `python -m ingest --rebuild`")
        if not isinstance(terms.terms, list) or terms.vectors.shape != (len(terms.terms), vectors.shape[1]):
            raise IndexCorrupt(f"index {folder} has a broken term table ({len(terms.terms)} terms, vectors of "
                               f"shape {terms.vectors.shape}): run `python -m ingest --rebuild`")
        return cls(folder, manifest, documents, chunks, vectors, dense, lexical, sentences, terms, clauses, term_stats)

    def chunks_of(self, doc: str) -> list[Chunk]:
        return [c for c in self.chunks if c.doc == doc]

    def sentences_of(self, chunk_row: int) -> tuple[list[Sentence], np.ndarray]:
        """The sentences of chunk ``chunk_row`` (document offsets, verbatim
        text) and their (n, dim) unit vectors, computed at build time with
        the passage prefix (see :func:`rag.index.texts.sentence_text` for
        what exactly was embedded)."""
        chunk = self.chunks[chunk_row]
        text = self.documents[chunk.doc].text
        rows = self.sentences.rows_of(chunk_row)
        found = [Sentence(a, b, text[a:b]) for a, b in self.sentences.spans_of(chunk_row)]
        return found, self.sentences.vectors[rows.start:rows.stop]

    def save(self) -> None:
        """Write this store to ``self.folder`` (which must not exist yet)."""
        self.folder.mkdir(parents=True)
        _write_lines(self.folder / "documents.jsonl",
                     (json.dumps(_document_to_json(d), ensure_ascii=False) for d in self.documents.values()))
        _write_lines(self.folder / "chunks.jsonl",
                     (json.dumps(c.to_json(), ensure_ascii=False) for c in self.chunks))
        np.save(self.folder / "vectors.npy", self.vectors)
        if self.manifest.dense.kind != DenseKind.MILVUS:
            save_dense(self.dense, self.folder / "dense.faiss")
        self.lexical.save(self.folder / "lexical")
        self.sentences.save(self.folder / "sentences.npz", self.folder / "sentence_vectors.npy")
        if self.clauses is not None:
            self.clauses.save(self.folder / "clauses.npz", self.folder / "clause_vectors.npy")
        if self.term_stats is not None:
            self.term_stats.save(self.folder)
        _write_text(self.folder / "terms.json", json.dumps(self.terms.terms, ensure_ascii=False))
        np.save(self.folder / "term_vectors.npy", self.terms.vectors)
        # The manifest is written last: a folder without one is never served.
        _write_text(self.folder / "manifest.json", json.dumps(self.manifest.to_json(), ensure_ascii=False, indent=1))


def _sentence_table_problem(table: SentenceTable, chunks: list[Chunk], dim: int) -> str | None:
    """What is wrong with a loaded sentence table, or None: checked at load
    so that a damaged file fails with a message, not as an IndexError in
    the middle of a query."""
    n = len(table.starts)
    if table.offsets.shape != (len(chunks) + 1,):
        return f"{len(table.offsets)} chunk offsets for {len(chunks)} chunks"
    if table.offsets[0] != 0 or table.offsets[-1] != n or np.any(np.diff(table.offsets) < 0):
        return "chunk offsets out of order"
    if table.ends.shape != (n,) or table.vectors.shape != (n, dim):
        return f"{n} sentences, {len(table.ends)} ends, vectors of shape {table.vectors.shape}"
    if n:
        owner = np.repeat(np.arange(len(chunks)), np.diff(table.offsets))
        chunk_starts = np.array([c.start for c in chunks], dtype=np.int64)[owner]
        chunk_ends = np.array([c.end for c in chunks], dtype=np.int64)[owner]
        if np.any(table.starts < chunk_starts) or np.any(table.ends > chunk_ends) or np.any(table.starts >= table.ends):
            return "a sentence lies outside its chunk"
    return None


def _load_dense(folder: Path, spec: DenseSpec, store: str) -> DenseSearch:
    if spec.kind == DenseKind.MILVUS:
        from rag.index.milvus import MilvusError, open_collection

        uri = store or str(spec.params["uri"])
        try:
            return open_collection(uri, str(spec.params["collection"]))
        except MilvusError as exc:
            raise StoreUnreachable(f"the index's vectors are in Milvus at {uri}, which cannot serve them ({exc}): "
                                   "start Milvus (or point --store / RAG_STORE at it), or rebuild with another "
                                   "store") from exc
    return load_dense(folder / "dense.faiss", spec)


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
