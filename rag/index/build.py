"""Corpus to index: load, chunk, embed, and publish a new index version
(:func:`build_index`).

Every chunk is embedded, and so is every sentence of every chunk (the
sentence table of :class:`rag.index.store.SentenceTable`: the reranker and the
answer module compare the question with single sentences, which would cost
seconds per question to embed at query time).

Incremental: a document whose bytes (sha256) and whose chunker and embedder
settings are unchanged keeps its chunks and vectors from the serving index.
Resumable: vectors of each newly embedded document are saved to
``index/.staging/`` as soon as they exist, so a build that is interrupted
re-embeds only what it had not finished (:mod:`rag.index.staging`). Atomic: the new version is written in
full, then published with one ``os.replace`` (see :mod:`rag.index.store`); a build
that fails at any point leaves the previous index serving.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from ingest.chunking import chunk_document
from ingest.errors import LoadError
from ingest.loaders import discover, load_document
from ingest.records import Chunk, Document
from rag.config import Config
from rag.index.lexical import LexicalIndex
from rag.index.progress import BuildProgress, BuildReport, BuildStats, ProgressFn, Stage, Step
from rag.index.staging import Staging
from rag.index.store import (FORMAT_VERSION, DocumentEntry, FailedEntry, IndexProblem, IndexStore, Manifest,
                             SentenceTable, publish)
from rag.index.term_table import TermTable, corpus_terms, embed_terms, new_terms
from rag.index.texts import chunk_sentence_spans, passage_text, sentence_text
from rag.models.embedder import Embedder, TextEmbedder

log = logging.getLogger(__name__)

STAGING = ".staging"


class BuildError(RuntimeError):
    """The build cannot go on; the message says what to do. Nothing was published."""


def build_index(config: Config, *, full: bool = False, documents: Sequence[Document] | None = None,
                progress: ProgressFn | None = None, embedder: TextEmbedder | None = None) -> BuildReport:
    """Build the index of ``config.corpus_dir`` (or of ``documents``) into
    ``config.index_dir`` and publish it.

    ``full`` ignores the serving index and embeds everything again. Raises
    :class:`BuildError` when there is nothing to index; the serving index is
    then untouched.
    """
    started = time.perf_counter()
    stats = BuildStats()
    report_progress = progress or (lambda p: None)
    config.index_dir.mkdir(parents=True, exist_ok=True)
    with _build_lock(config.index_dir):
        failed: list[FailedEntry] = []
        if documents is None:
            with stats.timing(Step.LOAD):
                documents = _load_corpus(config.corpus_dir, failed, report_progress)
        if not documents:
            reason = "; ".join(f"{f.path}: {f.reason}" for f in failed)
            raise BuildError(f"no indexable documents in {config.corpus_dir}"
                             + (f" ({reason})" if reason else "")
                             + ": add .txt, .md, .pdf, .docx or .html files, then rebuild")

        with stats.timing(Step.EMBEDDER):
            embedder = embedder or Embedder.from_config(config)
        with stats.timing(Step.PREVIOUS):
            previous = None if full else _reusable_store(config, embedder)
        staging = Staging(config.index_dir / STAGING, _settings_key(config, embedder))

        chunks: list[Chunk] = []
        vectors: list[np.ndarray] = []
        sentence_spans: list[list[tuple[int, int]]] = []
        sentence_vectors: list[np.ndarray] = []
        entries: list[DocumentEntry] = []
        report = BuildReport(version="", documents=0, chunks=0, failed=failed, stats=stats)
        now = _now()
        for i, doc in enumerate(documents):
            old = _previous_entry(previous, doc)
            if old is not None:
                with stats.timing(Step.REUSE):
                    part = _reuse(previous, doc.path, first_id=len(chunks))
                stats.chunks_reused += len(part.chunks)
                stats.sentences_reused += _distinct_sentences(doc, part.sentence_spans)
                indexed_at = old.indexed_at
                report.reused_documents.append(doc.path)
            else:
                part = _embed_document(doc, config, len(chunks), embedder, staging, stats, report_progress)
                indexed_at = now
                report.embedded_documents.append(doc.path)
            doc_chunks = part.chunks
            chunks.extend(doc_chunks)
            vectors.append(part.vectors)
            sentence_spans.extend(part.sentence_spans)
            sentence_vectors.append(part.sentence_vectors)
            entries.append(DocumentEntry(doc.path, doc.title, doc.format, doc.sha256, doc.size,
                                         len(doc_chunks), indexed_at, dict(doc.metadata)))
            report_progress(BuildProgress(Stage.INDEX, i + 1, len(documents), doc.path))

        if not chunks:
            raise BuildError(f"the documents in {config.corpus_dir} contain no text to index: "
                             "add documents with text, then rebuild")
        report_progress(BuildProgress(Stage.PUBLISH, 0, 1))
        with stats.timing(Step.WRITE):
            sentences = SentenceTable.from_parts(sentence_spans, np.vstack(sentence_vectors))
        with stats.timing(Step.TERMS):
            terms = _term_table(config, chunks, embedder, previous, stats, report_progress)
        version = _write_version(config, embedder, documents, chunks, np.vstack(vectors), sentences, terms,
                                 entries, failed, stats)
        with stats.timing(Step.WRITE):
            publish(config.index_dir, version)
            staging.clear()
        report_progress(BuildProgress(Stage.PUBLISH, 1, 1))

        report.version = version.name
        report.documents = len(entries)
        report.chunks = len(chunks)
        report.seconds = time.perf_counter() - started
        return report


# --- steps ---------------------------------------------------------------


def _load_corpus(corpus_dir: Path, failed: list[FailedEntry], report_progress: ProgressFn) -> list[Document]:
    if not corpus_dir.is_dir():
        raise BuildError(f"corpus folder {corpus_dir} does not exist: create it and put documents in it, "
                         "or pass --corpus DIR")
    paths = discover(corpus_dir)
    documents = []
    for i, path in enumerate(paths):
        rel = path.relative_to(corpus_dir).as_posix()
        report_progress(BuildProgress(Stage.LOAD, i, len(paths), rel))
        try:
            documents.append(load_document(path, corpus_dir))
        except LoadError as exc:
            log.warning("skipped %s", exc)
            failed.append(FailedEntry(rel, exc.reason))
    report_progress(BuildProgress(Stage.LOAD, len(paths), len(paths)))
    return documents


def _reusable_store(config: Config, embedder: TextEmbedder) -> IndexStore | None:
    """The serving index, when its vectors can be reused for this build."""
    try:
        store = IndexStore.load(config.index_dir)
    except IndexProblem as exc:
        log.info("not reusing the serving index: %s", exc)
        return None
    why = store.manifest.mismatch(embedder.name, embedder.dim, config.chunker_settings(), config.lexical_tokenizer)
    if why:
        log.info("re-embedding everything: the serving index was %s", why)
        return None
    return store


def _previous_entry(store: IndexStore | None, doc: Document) -> DocumentEntry | None:
    if store is None:
        return None
    for entry in store.manifest.documents:
        if entry.path == doc.path and entry.sha256 == doc.sha256:
            return entry
    return None


@dataclass
class _DocumentPart:
    """One document's share of the index: chunks, their vectors, and each
    chunk's sentence spans with the stacked vectors of those sentences."""

    chunks: list[Chunk]
    vectors: np.ndarray                         # (n_chunks, dim)
    sentence_spans: list[list[tuple[int, int]]]  # per chunk, in order
    sentence_vectors: np.ndarray                # (sum of spans, dim)


def _reuse(store: IndexStore, path: str, first_id: int) -> _DocumentPart:
    rows = [i for i, c in enumerate(store.chunks) if c.doc == path]
    chunks = [_renumber(store.chunks[row], first_id + j) for j, row in enumerate(rows)]
    spans = [store.sentences.spans_of(row) for row in rows]
    sentence_rows = [r for row in rows for r in store.sentences.rows_of(row)]
    return _DocumentPart(chunks, store.vectors[rows], spans, store.sentences.vectors[sentence_rows])


def _embed_document(doc: Document, config: Config, first_id: int, embedder: TextEmbedder, staging: Staging,
                    stats: BuildStats, report_progress: ProgressFn) -> _DocumentPart:
    """Chunk a document and embed its chunks and sentences (one call, so a
    crash loses at most this document), or take them from an interrupted
    build's staging."""
    with stats.timing(Step.CHUNK):
        chunks = chunk_document(doc, config.chunk_size, config.chunk_overlap, first_id=first_id)
        spans = [chunk_sentence_spans(doc, c) for c in chunks]
        # Overlapping chunks repeat sentences: each distinct text is embedded once.
        sentence_texts = [sentence_text(c, doc.text[a:b])
                          for c, chunk_spans in zip(chunks, spans) for a, b in chunk_spans]
        unique = list(dict.fromkeys(sentence_texts))
    with stats.timing(Step.EMBED):
        staged = staging.get(doc.sha256)
        if staged is not None and staged.shape[0] == len(chunks) + len(unique):
            embedded = staged
            stats.chunks_staged += len(chunks)
            stats.sentences_staged += len(unique)
        else:
            def on_batch(done: int, total: int, path: str = doc.path, n: int = len(chunks)) -> None:
                report_progress(BuildProgress(Stage.EMBED, done, total, path, chunks=n))
            report_progress(BuildProgress(Stage.EMBED, 0, len(chunks) + len(unique), doc.path, chunks=len(chunks)))
            embedded = embedder.embed_passages([passage_text(c) for c in chunks] + unique, progress=on_batch)
            staging.put(doc.sha256, embedded)
            stats.chunks_embedded += len(chunks)
            stats.sentences_embedded += len(unique)
    where = {text: len(chunks) + i for i, text in enumerate(unique)}
    sentence_vectors = embedded[[where[t] for t in sentence_texts]] if sentence_texts else embedded[:0]
    return _DocumentPart(chunks, embedded[:len(chunks)], spans, sentence_vectors)


def _distinct_sentences(doc: Document, spans: list[list[tuple[int, int]]]) -> int:
    """How many distinct sentence texts ``spans`` hold (what embedding them costs)."""
    return len({doc.text[a:b] for chunk_spans in spans for a, b in chunk_spans})


def _renumber(chunk: Chunk, new_id: int) -> Chunk:
    data = chunk.to_json()
    data["id"] = new_id
    return Chunk.from_json(data)


def _term_table(config: Config, chunks: list[Chunk], embedder: TextEmbedder, previous: IndexStore | None,
                stats: BuildStats, report_progress: ProgressFn) -> TermTable:
    """The corpus terms a foreign-script question is translated into (see
    :mod:`rag.index.term_table`); terms the serving index knew keep their vectors."""
    terms = corpus_terms((passage_text(c) for c in chunks), config.lexical_tokenizer)
    known = previous.terms if previous is not None else None
    new = new_terms(terms, known, embedder.dim)
    table = embed_terms(terms, embedder, known,
                        progress=lambda done, total: report_progress(BuildProgress(Stage.TERMS, done, total)))
    stats.terms_embedded += new
    stats.terms_reused += len(terms) - new
    return table


def _write_version(config: Config, embedder: TextEmbedder, documents: Sequence[Document], chunks: list[Chunk],
                   vectors: np.ndarray, sentences: SentenceTable, terms: TermTable, entries: list[DocumentEntry],
                   failed: list[FailedEntry], stats: BuildStats) -> Path:
    import faiss

    with stats.timing(Step.BM25):
        lexical = LexicalIndex.build([passage_text(c) for c in chunks], mode=config.lexical_tokenizer)
    with stats.timing(Step.WRITE):
        dense = faiss.IndexFlatIP(embedder.dim)
        dense.add(vectors.astype(np.float32))
        manifest = Manifest(embedder=embedder.name, dim=embedder.dim, chunker=config.chunker_settings(),
                            lexical_mode=config.lexical_tokenizer, built_at=_now(), documents=entries,
                            failed=failed)
        folder = config.index_dir / f"v-{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S%f')}"
        store = IndexStore(folder, manifest, {d.path: d for d in documents}, chunks, vectors, dense, lexical,
                           sentences, terms)
        try:
            store.save()
        except BaseException:
            import shutil

            shutil.rmtree(folder, ignore_errors=True)
            raise
    return folder


def _settings_key(config: Config, embedder: TextEmbedder) -> str:
    settings = {"embedder": embedder.name, "prefix": config.passage_prefix, "format": FORMAT_VERSION,
                **config.chunker_settings()}
    return hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]


@contextmanager
def _build_lock(index_dir: Path) -> Iterator[None]:
    """One build at a time per index folder (the UI and the CLI may both try)."""
    with open(index_dir / ".build.lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise BuildError(f"another build of {index_dir} is running: wait for it to finish") from exc
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
