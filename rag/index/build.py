"""Corpus to index: load, chunk, embed, and publish a new index version
(:func:`build_index`).

Every chunk is embedded, and so is every sentence of every chunk (the
sentence table of :class:`rag.index.store.SentenceTable`: the reranker and the
answer module compare the question with single sentences, which would cost
seconds per question to embed at query time), and every clause an answer
may quote that is not a whole sentence (the clause table: a sentence cut at
its semicolons, see :mod:`rag.answer.units`). The reranker's term
statistics are counted here too (:mod:`rag.index.term_stats`).

Fast: the chunks and sentences of every new or changed document go to the
embedder as one stream, longest first, so batches hold texts of one length
(little padding) whatever the documents' sizes (:mod:`rag.index.staging`),
by the question embedder unless there is enough to embed to repay loading a
faster bulk runtime (bf16 on AMX: :meth:`Embedder.for_texts`).
Incremental: a document whose bytes (sha256) and whose chunker and embedder
settings are unchanged keeps its chunks and vectors from the serving index.
Resumable: each finished batch of the stream is saved to ``index/.staging/``,
so a build that is interrupted resumes from its last finished batch, even
inside one large file. Atomic: the new version is written in full, then
published with one ``os.replace`` (see :mod:`rag.index.store`); a build that
fails at any point leaves the previous index serving.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import logging
import time
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np

from ingest.chunking import chunk_document
from ingest.errors import LoadError
from ingest.loaders import discover, load_document
from ingest.records import Chunk, Document
from rag.config import Config, DenseKind
from rag.index.milvus import is_milvus
from rag.index.lexical import LexicalIndex
from rag.index.progress import BuildProgress, BuildReport, BuildStats, ProgressFn, Stage, Step
from rag.index.staging import Staging, StreamProgress, embed_stream
from rag.index.store import (FORMAT_VERSION, DocumentEntry, FailedEntry, IndexProblem, IndexStore, Manifest,
                             SentenceTable, publish, read_manifest)
from rag.index.vectors import DenseSearch, DenseSpec, build_dense
from rag.index.term_stats import TermStats
from rag.index.term_table import TERM_BATCH, TermTable, corpus_terms, reused_vectors
from rag.index.texts import chunk_clause_spans, chunk_sentence_spans, passage_text, sentence_text
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

        picks_embedder = embedder is None        # else the caller's embedder does all the work
        with stats.timing(Step.EMBEDDER):
            # the question embedder: same model, name and vectors as the bulk one, and loaded fast
            embedder = embedder or Embedder.from_config(config)
        with stats.timing(Step.PREVIOUS):
            previous = None if full else _reusable_store(config, embedder)
        staging = Staging(config.index_dir / STAGING, _settings_key(config, embedder))
        staged = staging.load()

        report = BuildReport(version="", documents=0, chunks=0, failed=failed, stats=stats)
        parts = _plan(documents, previous, config, stats, report, report_progress)
        chunks = [c for part in parts for c in part.chunks]
        if not chunks:
            raise BuildError(f"the documents in {config.corpus_dir} contain no text to index: "
                             "add documents with text, then rebuild")
        if any(part.vectors is None for part in parts):
            new_texts = _texts_to_embed(parts)
            if picks_embedder:
                with stats.timing(Step.EMBEDDER):
                    embedder = Embedder.for_texts(config, new_texts.all)
            with stats.timing(Step.EMBED):
                _embed_new(parts, new_texts, _passage_embedder(config, embedder), staging, staged, config, stats,
                           report_progress)

        report_progress(BuildProgress(Stage.PUBLISH, 0, 1))
        with stats.timing(Step.WRITE):
            vectors = _stacked([part.vectors for part in parts])
            sentences = SentenceTable.from_parts([s for part in parts for s in part.sentence_spans],
                                                 _stacked([part.sentence_vectors for part in parts]))
        with stats.timing(Step.TERMS):
            terms = _term_table(config, chunks, embedder, previous, staging, staged, stats, report_progress)
        entries = [part.entry for part in parts]
        clauses = SentenceTable.from_parts([s for part in parts for s in part.clause_spans],
                                           _stacked([part.clause_vectors for part in parts]))
        version = _write_version(config, embedder, documents, chunks, vectors, sentences, clauses, terms,
                                 entries, failed, stats)
        with stats.timing(Step.WRITE):
            publish(config.index_dir, version)
            _publish_dense(config, read_manifest(config.index_dir).dense)
            staging.clear()
        report_progress(BuildProgress(Stage.PUBLISH, 1, 1))

        report.version = version.name
        report.runtime = getattr(embedder, "runtime", "")
        report.documents = len(entries)
        report.chunks = len(chunks)
        report.seconds = time.perf_counter() - started
        return report


# --- steps ---------------------------------------------------------------


def _load_corpus(corpus_dir: Path, failed: list[FailedEntry], report_progress: ProgressFn) -> list[Document]:
    if not corpus_dir.is_dir():
        raise BuildError(f"corpus folder {corpus_dir} does not exist: create it and put documents in it, "
                         "or pass --corpus DIR")
    # A link leading outside the corpus is skipped by discovery; it is listed
    # with the files that could not be read, in the report and the manifest.
    outside: list[LoadError] = []
    paths = discover(corpus_dir, outside)
    failed.extend(FailedEntry(e.path, e.reason) for e in outside)
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
        store = IndexStore.load(config.index_dir, config.store)
    except IndexProblem as exc:
        log.info("not reusing the serving index: %s", exc)
        return None
    why = store.manifest.mismatch(embedder.name, embedder.dim, config.chunker_settings(), config.lexical_tokenizer)
    if why:
        log.info("re-embedding everything: the serving index was %s", why)
        return None
    return store


@dataclass
class _DocumentPart:
    """One document's share of the index: its chunks, their vectors, and
    each chunk's sentence and clause spans with the stacked vectors of those
    sentences and clauses. A new document's vectors are filled in by
    :func:`_embed_new`; its ``sentence_texts`` and ``clause_texts`` are what
    is embedded for each of its sentences and clauses."""

    entry: DocumentEntry
    chunks: list[Chunk]
    sentence_spans: list[list[tuple[int, int]]]  # per chunk, in order
    clause_spans: list[list[tuple[int, int]]]    # per chunk, in order
    vectors: np.ndarray | None = None            # (n_chunks, dim)
    sentence_vectors: np.ndarray | None = None   # (sum of spans, dim)
    clause_vectors: np.ndarray | None = None     # (sum of clause spans, dim)
    sentence_texts: list[str] | None = None      # new documents only: one per span, in order
    clause_texts: list[str] | None = None        # new documents only: one per clause span, in order


def _plan(documents: Sequence[Document], previous: IndexStore | None, config: Config, stats: BuildStats,
          report: BuildReport, report_progress: ProgressFn) -> list[_DocumentPart]:
    """Each document's part, in order: an unchanged document's taken whole
    from ``previous``, a new or changed one's chunked and split into
    sentences, its vectors still to embed."""
    entries = {e.path: e for e in previous.manifest.documents} if previous is not None else {}
    rows_by_doc: dict[str, list[int]] = {}
    for row, chunk in enumerate(previous.chunks if previous is not None else []):
        rows_by_doc.setdefault(chunk.doc, []).append(row)
    now = _now()
    parts = []
    next_id = 0
    for i, doc in enumerate(documents):
        old = entries.get(doc.path)
        if old is not None and old.sha256 == doc.sha256:
            with stats.timing(Step.REUSE):
                part = _reuse(previous, rows_by_doc.get(doc.path, []), old, next_id)
            stats.chunks_reused += len(part.chunks)
            stats.sentences_reused += _distinct_sentences(doc, part.sentence_spans)
            stats.clauses_reused += _distinct_sentences(doc, part.clause_spans)
            report.reused_documents.append(doc.path)
        else:
            with stats.timing(Step.CHUNK):
                part = _chunk(doc, config, next_id, now)
            report.embedded_documents.append(doc.path)
        parts.append(part)
        next_id += len(part.chunks)
        report_progress(BuildProgress(Stage.INDEX, i + 1, len(documents), doc.path))
    return parts


def _reuse(store: IndexStore, rows: list[int], entry: DocumentEntry, first_id: int) -> _DocumentPart:
    chunks = [replace(store.chunks[row], id=first_id + j) for j, row in enumerate(rows)]
    spans = [store.sentences.spans_of(row) for row in rows]
    sentence_rows = [r for row in rows for r in store.sentences.rows_of(row)]
    clauses = store.clauses
    assert clauses is not None, "a loaded index has its clause table"
    clause_spans = [clauses.spans_of(row) for row in rows]
    clause_rows = [r for row in rows for r in clauses.rows_of(row)]
    return _DocumentPart(entry, chunks, spans, clause_spans, store.vectors[rows],
                         store.sentences.vectors[sentence_rows], clauses.vectors[clause_rows])


def _chunk(doc: Document, config: Config, first_id: int, indexed_at: str) -> _DocumentPart:
    chunks = chunk_document(doc, config.chunk_size, config.chunk_overlap, first_id=first_id)
    spans = [chunk_sentence_spans(doc, c) for c in chunks]
    texts = [sentence_text(c, doc.text[a:b]) for c, chunk_spans in zip(chunks, spans) for a, b in chunk_spans]
    clause_spans = [chunk_clause_spans(c, chunk_spans) for c, chunk_spans in zip(chunks, spans)]
    clause_texts = [sentence_text(c, doc.text[a:b]) for c, chunk_spans in zip(chunks, clause_spans)
                    for a, b in chunk_spans]
    entry = DocumentEntry(doc.path, doc.title, doc.format, doc.sha256, doc.size, len(chunks), indexed_at,
                          dict(doc.metadata))
    return _DocumentPart(entry, chunks, spans, clause_spans, sentence_texts=texts, clause_texts=clause_texts)


def _embed_new(parts: list[_DocumentPart], texts: _NewTexts, embedder: TextEmbedder, staging: Staging,
               staged: dict[bytes, np.ndarray], config: Config, stats: BuildStats,
               report_progress: ProgressFn) -> None:
    """Embed the chunks, sentences and clauses of every new part
    (``texts``, from :func:`_texts_to_embed`) as one stream (see the module
    docstring) and fill in the parts' vectors.
    Overlapping chunks repeat sentences, and documents repeat text: each
    distinct text is embedded once."""
    new = [part for part in parts if part.sentence_texts is not None]
    n_chunks, n_texts = len(texts.passages), len(texts.passages) + len(texts.sentences)

    def encode(batch: list[str], within) -> np.ndarray:
        return embedder.embed_passages(batch, progress=within)

    def on_progress(p: StreamProgress) -> None:
        report_progress(BuildProgress(Stage.EMBED, p.done, p.total, rate=p.rate, eta=p.eta))

    embedded = embed_stream(texts.all, embedder.passage_prefix, encode, embedder.dim, staging,
                            staged, config.embed_checkpoint, on_progress, config.embed_checkpoint_seconds)
    chunk_vectors, sentence_vectors = embedded.vectors[:n_chunks], embedded.vectors[n_chunks:n_texts]
    clause_vectors = embedded.vectors[n_texts:]
    chunk_keys = set(embedded.keys[:n_chunks])
    sentence_keys = set(embedded.keys[n_chunks:n_texts]) - chunk_keys
    clause_keys = set(embedded.keys[n_texts:]) - chunk_keys - sentence_keys
    stats.chunks_staged += len(chunk_keys & embedded.staged)
    stats.chunks_embedded += len(chunk_keys - embedded.staged)
    stats.sentences_staged += len(sentence_keys & embedded.staged)
    stats.sentences_embedded += len(sentence_keys - embedded.staged)
    stats.clauses_staged += len(clause_keys & embedded.staged)
    stats.clauses_embedded += len(clause_keys - embedded.staged)
    c = s = k = 0
    for part in new:
        n, m, q = len(part.chunks), len(part.sentence_texts), len(part.clause_texts or [])
        part.vectors, part.sentence_vectors = chunk_vectors[c:c + n], sentence_vectors[s:s + m]
        part.clause_vectors = clause_vectors[k:k + q]
        part.sentence_texts = part.clause_texts = None
        c, s, k = c + n, s + m, k + q


@dataclass
class _NewTexts:
    """The texts of the new parts, as :func:`_embed_new` streams them."""

    passages: list[str]
    sentences: list[str]
    clauses: list[str]
    all: list[str] = field(init=False)       # the three, in that order

    def __post_init__(self) -> None:
        self.all = self.passages + self.sentences + self.clauses


def _texts_to_embed(parts: list[_DocumentPart]) -> _NewTexts:
    new = [part for part in parts if part.sentence_texts is not None]
    return _NewTexts([passage_text(c) for part in new for c in part.chunks],
                     [t for part in new for t in part.sentence_texts or []],
                     [t for part in new for t in part.clause_texts or []])


def _stacked(arrays: list[np.ndarray]) -> np.ndarray:
    """``np.vstack(arrays)``, without the copy when the arrays are consecutive
    row ranges of one 2-D array: a full build's parts are consecutive slices
    of the embedding stream's memory-mapped vectors, and copying them would
    put every vector of a big corpus in the process's memory again
    (:class:`rag.index.staging.VectorFile`)."""
    if len(arrays) == 1:
        return arrays[0]
    rows = [a for a in arrays if len(a)]      # numpy gives an empty slice a buffer of its own
    base = rows[0].base if rows else None
    if (isinstance(base, np.ndarray) and base.ndim == 2 and base.flags.c_contiguous
            and all(a.base is base and a.flags.c_contiguous for a in rows)
            and all(_address(a) + a.nbytes == _address(b) for a, b in zip(rows, rows[1:]))):
        start = (_address(rows[0]) - _address(base)) // base.strides[0]
        return base[start:start + sum(len(a) for a in rows)]
    return np.vstack(arrays)


def _address(array: np.ndarray) -> int:
    return array.__array_interface__["data"][0]


def _passage_embedder(config: Config, embedder: TextEmbedder) -> TextEmbedder:
    """What embeds the new passages: ``embedder``, or with ``--ray`` a Ray
    cluster running the same embedder (:mod:`rag.index.ray_embed`)."""
    if not config.ray:
        return embedder
    from rag.index.ray_embed import RayEmbedder, RayError

    try:
        return RayEmbedder(config, embedder)
    except RayError as exc:
        raise BuildError(f"{exc}; the serving index is unchanged") from exc


def _distinct_sentences(doc: Document, spans: list[list[tuple[int, int]]]) -> int:
    """How many distinct sentence texts ``spans`` hold (what embedding them costs)."""
    return len({doc.text[a:b] for chunk_spans in spans for a, b in chunk_spans})


def _term_table(config: Config, chunks: list[Chunk], embedder: TextEmbedder, previous: IndexStore | None,
                staging: Staging, staged: dict[bytes, np.ndarray], stats: BuildStats,
                report_progress: ProgressFn) -> TermTable:
    """The corpus terms a foreign-script question is translated into (see
    :mod:`rag.index.term_table`); terms the serving index knew keep their
    vectors, new ones go through the resumable stream (as queries)."""
    terms = corpus_terms((passage_text(c) for c in chunks), config.lexical_tokenizer)
    vectors, missing = reused_vectors(terms, previous.terms if previous is not None else None, embedder.dim)

    def encode(texts: list[str], within) -> np.ndarray:
        return embedder.embed_queries(texts, batch_size=TERM_BATCH)

    def on_progress(p: StreamProgress) -> None:
        report_progress(BuildProgress(Stage.TERMS, p.done, p.total, rate=p.rate, eta=p.eta))

    if missing:
        embedded = embed_stream([terms[i] for i in missing], embedder.query_prefix, encode, embedder.dim, staging,
                                staged, config.embed_checkpoint, on_progress, config.embed_checkpoint_seconds)
        vectors[missing] = embedded.vectors
    stats.terms_embedded += len(missing)
    stats.terms_reused += len(terms) - len(missing)
    return TermTable(terms, vectors)


def _write_version(config: Config, embedder: TextEmbedder, documents: Sequence[Document], chunks: list[Chunk],
                   vectors: np.ndarray, sentences: SentenceTable, clauses: SentenceTable, terms: TermTable,
                   entries: list[DocumentEntry], failed: list[FailedEntry], stats: BuildStats) -> Path:
    with stats.timing(Step.BM25):
        lexical = LexicalIndex.build([passage_text(c) for c in chunks], mode=config.lexical_tokenizer)
        # The reranker's lexical statistics, timed with BM25's (~0.3 s for CMRC dev's 971 chunks).
        term_stats = TermStats.count(chunks)
    with stats.timing(Step.WRITE):
        folder = config.index_dir / f"v-{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%S%f')}"
        # The sentence vectors are question-like and not in the dense index:
        # an approximate index's recall is tuned on a sample of them.
        dense, dense_spec = _dense_index(config, folder.name, vectors, sentences.vectors)
        manifest = Manifest(embedder=embedder.name, dim=embedder.dim, chunker=config.chunker_settings(),
                            lexical_mode=config.lexical_tokenizer, built_at=_now(), documents=entries,
                            failed=failed, dense=dense_spec)
        store = IndexStore(folder, manifest, {d.path: d for d in documents}, chunks, vectors, dense, lexical,
                           sentences, terms, clauses, term_stats)
        try:
            store.save()
        except BaseException:
            import shutil

            shutil.rmtree(folder, ignore_errors=True)
            raise
    return folder


def _dense_index(config: Config, version: str, vectors: np.ndarray,
                 calibration: np.ndarray) -> tuple[DenseSearch, DenseSpec]:
    """The dense index of a new version: FAISS of the size's type, or a new
    Milvus collection when a Milvus store is configured."""
    if is_milvus(config.store):
        from rag.index.milvus import MilvusError, write_collection

        try:
            return write_collection(config, version, vectors, calibration)
        except MilvusError as exc:
            raise BuildError(f"{exc}: the serving index is unchanged; start Milvus or build without --store") from exc
    return build_dense(vectors, config, calibration)


def _publish_dense(config: Config, spec: DenseSpec) -> None:
    """Point the Milvus alias at a published version's collection (nothing
    to do for FAISS, whose index is inside the version folder)."""
    if spec.kind != DenseKind.MILVUS:
        return
    from rag.index.milvus import MilvusError, publish_collection

    try:
        publish_collection(config.store, config.index_dir, str(spec.params["collection"]))
    except MilvusError as exc:
        # The version serves already (CURRENT names it, its manifest its collection):
        # only the alias that outside clients read lags behind.
        log.warning("the index is published, but its Milvus alias was not moved: %s", exc)


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
