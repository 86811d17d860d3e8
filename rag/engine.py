"""The one engine API that the CLI (``python -m rag``, ``python -m ingest``)
and the UI (``app.py``) are thin shells over.

    engine = Engine(Config.from_env())
    engine.rebuild()                       # corpus -> index
    hits = engine.search("组织部门的职能是什么？")
    answer = engine.ask("组织部门的职能是什么？")
    for update in engine.ask_stream(question, history): ...

The engine keeps the last good index in memory: a rebuild that fails, or an
index on disk that cannot be read, never takes it away.
"""

from __future__ import annotations

import logging
import re
import os
import tempfile
import threading
import unicodedata
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, BinaryIO, Iterator, Mapping, Sequence

import numpy as np

from ingest.errors import LoadError
from ingest.loaders import SUPPORTED_SUFFIXES, discover
from ingest.records import Chunk, Document
from lang.cleaning import clean_question_text, has_content
from lang.scripts import CJK_PUNCTUATION, IDEOGRAPHS
from rag.answer.compose import abstention, compose_answer
from rag.answer.evidence import SentenceVectors
from rag.answer.followup import rewrite_followup
from rag.answer.generated import answer_from_generated
from rag.answer.prompt import build_prompt, excerpt_sources, fixed_prefix, passage_sources
from rag.config import Config
from rag.index.build import BuildError, build_index  # noqa: F401  (BuildError: what rebuild raises; shells catch it from here)
from rag.index.changes import FileHashes, corpus_changes
from rag.index.progress import BuildReport, ProgressFn
from rag.index.store import IndexMismatch, IndexProblem, IndexStore, read_manifest
from rag.models.embedder import Embedder
from rag.models.generate import GenerationError, Generator, make_generator  # noqa: F401  (GenerationError: what loading an LLM raises; shells catch it from here)
from rag.records import Answer, Hit, Note, Turn
from rag.retrieve.retriever import Retriever

log = logging.getLogger(__name__)


# One priming at a time: a question arriving while the model loads waits for it
# rather than evaluating the same rules a second time.
_PRIME_LOCK = threading.Lock()


class QuestionError(ValueError):
    """The question cannot be asked (empty); the message says why."""


@dataclass(frozen=True)
class IndexStatus:
    """What the UI's status line and ``python -m rag status`` show."""

    ready: bool
    documents: int = 0
    chunks: int = 0
    built_at: str = ""
    embedder: str = ""
    message: str = ""                               # what is wrong, and what to do
    changed: tuple[str, ...] = ()                   # corpus files changed since the build

    def to_json(self) -> dict[str, Any]:
        """The fields as JSON (``python -m rag status --json``, the UI's /status)."""
        return asdict(self)


@dataclass(frozen=True)
class DocumentStatus:
    """A row of the Documents table."""

    path: str
    title: str
    format: str
    size: int
    chunks: int
    indexed_at: str
    status: str              # "indexed" | "changed" | "new" | "failed" | "removed"
    reason: str = ""


@dataclass(frozen=True, eq=False)
class IndexContents:
    """What the serving index holds, read-only: the documents (their text)
    and the chunks cut from them.

    A shell shows a cited passage with the text around it and its whole
    section, and suggests questions from the sections' headings; it reads
    them here. ``version`` names the loaded index version, which never
    changes once published: what a shell derives from the contents may be
    cached under it."""

    version: str
    documents: Mapping[str, Document]
    chunks: Sequence[Chunk]


@dataclass(frozen=True)
class AnswerUpdate:
    """A step of a streamed answer: the text so far; ``answer`` on the last."""

    text: str
    answer: Answer | None = None


class Engine:
    """Search, answer and rebuild over one corpus and index."""

    def __init__(self, config: Config | None = None) -> None:
        self.config = config or Config.from_env()
        self._lock = threading.RLock()
        self._store: IndexStore | None = None
        self._retriever: Retriever | None = None
        self._load_error: IndexProblem | None = None
        self._hashes = FileHashes()   # corpus file hashes, so status checks do not re-read the corpus
        # Sentence vectors of passages answered from before: they come back question after question.
        self._sentence_vectors = SentenceVectors(self.config.sentence_cache)

    def with_overrides(self, **changes) -> "Engine":
        """An engine for one request with some settings changed (``top_k``,
        ``llm``, ...), serving the same loaded index and embedder: no reload.

        Settings that change what the index must be (embedder, chunker) need a
        rebuild instead, and are refused here.
        """
        if not changes:
            return self
        index_bound = {"embedder", "chunk_size", "chunk_overlap", "lexical_tokenizer", "index_dir", "corpus_dir"}
        if index_bound & set(changes):
            raise ValueError(f"{sorted(index_bound & set(changes))} cannot change per request: rebuild instead")
        view = Engine(self.config.replace(**changes))
        view._lock = self._lock
        view._hashes = self._hashes
        view._sentence_vectors = self._sentence_vectors
        retriever = self.retriever()
        view._store = retriever.store
        view._retriever = Retriever(retriever.store, retriever.embedder, view.config)
        return view

    # --- the index -------------------------------------------------------

    @property
    def embedder(self) -> Embedder:
        return Embedder.from_config(self.config)

    def retriever(self) -> Retriever:
        """The retriever over the serving index; loads it on first use.

        Raises :class:`IndexProblem` with a message for the user when there is
        no usable index (and none was loaded before).
        """
        with self._lock:
            if self._retriever is None:
                self.reload()
            if self._retriever is None:
                raise self._load_error
            return self._retriever

    def reload(self) -> bool:
        """Load the index on disk; on failure keep serving the one in memory."""
        with self._lock:
            try:
                store = IndexStore.load(self.config.index_dir, self.config.store)
                embedder = self.embedder
                why = store.manifest.mismatch(embedder.name, embedder.dim, self.config.chunker_settings(),
                                              self.config.lexical_tokenizer)
                if why:
                    raise IndexMismatch(f"the index in {self.config.index_dir} was {why}: "
                                        "rebuild it with `python -m ingest --rebuild` (or Rebuild in the UI)")
            except IndexProblem as exc:
                self._load_error = exc
                # INFO, not WARNING: every caller hands the error to the user
                # (search raises it, status shows it, rebuild raises it), once.
                log.info("index not loaded: %s", exc)
                return False
            self._store = store
            self._retriever = Retriever(store, embedder, self.config)
            self._load_error = None
            return True

    def status(self) -> IndexStatus:
        with self._lock:
            store = self._store
            if store is None:
                try:
                    self.retriever()
                    store = self._store
                except IndexProblem:
                    pass
        message = str(self._load_error or "")
        if store is None:
            return IndexStatus(ready=False, message=message)
        m = store.manifest
        return IndexStatus(ready=True, documents=len(m.documents), chunks=len(store.chunks), built_at=m.built_at,
                           embedder=m.embedder, message=message,
                           changed=tuple(corpus_changes(self.config, m, self._hashes)))

    def contents(self) -> IndexContents:
        """The documents and chunks of the serving index (loading it on first
        use); raises :class:`IndexProblem` when there is none, as search does."""
        store = self.retriever().store
        return IndexContents(str(store.folder), MappingProxyType(store.documents), store.chunks)

    def rebuild(self, full: bool = False, progress: ProgressFn | None = None) -> BuildReport:
        """Build (incrementally unless ``full``), publish, and start serving
        the new index. On failure the old index keeps serving and the
        exception (:class:`~rag.index.build.BuildError` and others) propagates."""
        # build_index picks the build's embedder once it knows how much there is to embed
        report = build_index(self.config, full=full, progress=progress)
        if not self.reload():
            raise self._load_error
        return report

    def ensure_index(self, progress: ProgressFn | None = None) -> BuildReport | None:
        """Build the index when it is missing, stale, or built with other
        settings; None when it is already current."""
        try:
            manifest = read_manifest(self.config.index_dir)
        except IndexProblem:
            return self.rebuild(full=True, progress=progress)
        embedder = self.embedder
        if manifest.mismatch(embedder.name, embedder.dim, self.config.chunker_settings(),
                             self.config.lexical_tokenizer):
            return self.rebuild(full=True, progress=progress)
        if corpus_changes(self.config, manifest, self._hashes):
            return self.rebuild(progress=progress)
        return None

    # --- documents -------------------------------------------------------

    @property
    def upload_suffixes(self) -> list[str]:
        """The file types :meth:`add_file` accepts: those the loaders read."""
        return sorted(SUPPORTED_SUFFIXES)

    def documents(self) -> list[DocumentStatus]:
        """The corpus and the index side by side, one row per file."""
        try:
            manifest = read_manifest(self.config.index_dir)
        except IndexProblem:
            manifest = None
        indexed = {d.path: d for d in manifest.documents} if manifest else {}
        failed = {f.path: f.reason for f in manifest.failed} if manifest else {}
        changed = set(corpus_changes(self.config, manifest, self._hashes))
        rows = []
        on_disk = set()
        corpus = self.config.corpus_dir
        skipped: list[LoadError] = []
        for path in discover(corpus, skipped) if corpus.is_dir() else []:
            rel = path.relative_to(corpus).as_posix()
            on_disk.add(rel)
            entry = indexed.get(rel)
            if rel in failed:
                status = "failed"
            elif entry is None:
                status = "new"
            else:
                status = "changed" if rel in changed else "indexed"
            rows.append(DocumentStatus(rel, entry.title if entry else path.stem, path.suffix.lstrip(".").lower(),
                                       path.stat().st_size, entry.chunks if entry else 0,
                                       entry.indexed_at if entry else "", status, failed.get(rel, "")))
        for link in skipped:          # never read: its size is the link's own
            rows.append(DocumentStatus(link.path, Path(link.path).stem, Path(link.path).suffix.lstrip(".").lower(),
                                       (corpus / link.path).lstat().st_size, 0, "", "failed", link.reason))
            on_disk.add(link.path)
        for rel, entry in indexed.items():
            if rel not in on_disk:
                rows.append(DocumentStatus(rel, entry.title, entry.format, entry.size, entry.chunks,
                                           entry.indexed_at, "removed"))
        return rows

    def add_file(self, source: Path | BinaryIO, name: str | None = None) -> str:
        """Copy a file (a path, or an open binary file) into the corpus under a
        safe name that no file of the corpus has: never over a document, but
        beside it (``report.txt`` taken: ``report (2).txt``). Returns its
        corpus path. Raises ValueError for an unsupported type or an oversize
        file; then nothing is added."""
        name = safe_filename(name or getattr(source, "name", "") or "upload")
        if Path(name).suffix.lower() not in SUPPORTED_SUFFIXES:
            raise ValueError(f"{name}: unsupported file type; supported: {', '.join(sorted(SUPPORTED_SUFFIXES))}")
        limit = self.config.upload_max_mb * 1024 * 1024
        if isinstance(source, Path) and source.stat().st_size > limit:
            raise ValueError(_over_limit(name, source.stat().st_size, self.config))
        corpus = self.config.corpus_dir
        corpus.mkdir(parents=True, exist_ok=True)
        # Written under a hidden name (discovery skips it), then moved onto a
        # name claimed atomically: a concurrent upload of the same name gets the next one.
        with open(source, "rb") if isinstance(source, Path) else nullcontext(source) as src:
            fd, part = tempfile.mkstemp(dir=corpus, prefix=".upload-", suffix=".part")
            try:
                with os.fdopen(fd, "wb") as out:
                    size = 0
                    while block := src.read(1 << 20):
                        size += len(block)
                        if size > limit:
                            raise ValueError(_over_limit(name, size, self.config))
                        out.write(block)
                stored = _claim_name(corpus, name)
                os.replace(part, corpus / stored)
            finally:
                Path(part).unlink(missing_ok=True)
        return stored

    def delete_document(self, rel: str) -> None:
        """Remove a document from the corpus folder (the next rebuild drops
        it from the index). ``rel`` must name a document of the corpus as
        :meth:`documents` lists it; anything else is refused (ValueError)."""
        corpus = self.config.corpus_dir
        target = corpus / rel
        if corpus.resolve() not in target.resolve().parents:
            raise ValueError(f"{rel}: not a path inside the corpus folder")
        if corpus.is_dir() and target not in discover(corpus):
            raise ValueError(f"{rel}: no such document in the corpus folder")
        target.unlink(missing_ok=True)       # a link inside the corpus: the link, not what it points to

    # --- asking ----------------------------------------------------------

    def clean_question(self, question: str) -> tuple[str, list[Note]]:
        """The question stripped and capped at ``max_question_chars``, and
        notes for the user about what was changed."""
        question = (question or "").strip()
        if not question:
            raise QuestionError("the question is empty: type a question")
        notes = []
        limit = self.config.max_question_chars
        if len(question) > limit:
            question = question[:limit]
            notes.append(Note(f"the question was cut to its first {limit} characters", "question_cut",
                              limit=limit))
        # Lone surrogates (undecodable bytes of a command line, "\ud800" in
        # JSON) are not text: the tokenizer refuses them. Shown as "\ufffd".
        question = valid_text(question)
        if "\ufffd" in question:
            notes.append(Note("characters that are not valid text (invalid UTF-8, lone surrogates) "
                              "were replaced by \ufffd", "invalid_characters"))
        # Markup and control characters are not the question, yet would steer retrieval.
        cleaned = clean_question_text(question)
        if cleaned.changed:
            removed = [what for what, done in (("markup", cleaned.removed_markup),
                                               ("control characters", cleaned.removed_controls)) if done]
            verb = "were" if cleaned.removed_controls else "was"      # "control characters" is plural
            notes.append(Note(f"{' and '.join(removed)} {verb} removed from the question", "question_cleaned",
                              removed=removed))
        return cleaned.text, notes

    def search(self, question: str, k: int | None = None) -> list[Hit]:
        question, _ = self.clean_question(question)
        return self.retriever().search(question, k)

    def ask(self, question: str, history: Sequence[Turn] = ()) -> Answer:
        """Answer ``question`` (with earlier turns for follow-ups)."""
        final = None
        for update in self.ask_stream(question, history):
            final = update.answer or final
        assert final is not None
        return final

    def ask_stream(self, question: str, history: Sequence[Turn] = ()) -> Iterator[AnswerUpdate]:
        """Stream an answer: updates with the text so far, then the final
        :class:`Answer` (verified citations) on the last update."""
        question, notes = self.clean_question(question)
        standalone = self._standalone(question, history) if question else question
        if not has_content(standalone):
            # Nothing is asked once markup, control characters and question words are gone:
            # the nearest passage would be an answer to nothing.
            answer = abstention(question, [])
            answer.notes.append(Note("the question has no content words left to search for", "no_content"))
            answer = self._finish(answer, question, standalone, notes)
            yield AnswerUpdate(answer.answer)
            yield AnswerUpdate(answer.answer, answer)
            return
        retriever = self.retriever()
        # Embedded once: retrieval, rerank and the answer's evidence all compare with it.
        query_vector = retriever.embedder.embed_queries([standalone])[0]
        hits = retriever.search(standalone, query_vector=query_vector)
        if self.config.llm:
            yield from self._ask_llm(question, standalone, hits, history, notes, query_vector)
            return
        answer = compose_answer(standalone, hits, retriever.embedder, self.config,
                                documents_text=lambda path: retriever.store.documents[path].text,
                                vectors=self._sentence_vectors, store=retriever.store, query_vector=query_vector)
        answer = self._finish(answer, question, standalone, notes)
        # An extractive answer is complete at once: one update with its text
        # (each update re-renders the whole chat in the app), then the answer.
        yield AnswerUpdate(answer.answer)
        yield AnswerUpdate(answer.answer, answer)

    def _standalone(self, question: str, history: Sequence[Turn]) -> str:
        if not history:
            return question
        return rewrite_followup(question, list(history))

    def generator(self) -> Generator | None:
        """The LLM that ``config.llm`` names (None: extractive answers),
        loaded once per process (:func:`rag.models.generate.make_generator`).
        A llama.cpp model evaluates the fixed head of every prompt (the
        rules: :func:`rag.answer.prompt.fixed_prefix`) as it loads, so the
        first question costs what any later one does; app.py calls this at
        start-up."""
        generator = make_generator(self.config)
        prime = getattr(generator, "prime", None)
        if prime is not None:
            with _PRIME_LOCK:
                if generator.prime_seconds is None:
                    excerpts = generator.compact_prompt and self.config.llm_excerpts > 0
                    log.info("LLM: rules evaluated in %.1f s", prime(fixed_prefix(excerpts)))
        return generator

    def _ask_llm(self, question: str, standalone: str, hits: list[Hit], history: Sequence[Turn],
                 notes: list[str], query_vector: np.ndarray) -> Iterator[AnswerUpdate]:
        generator = self.generator()
        retriever = self.retriever()
        # A model on this CPU reads the top evidence sentences, a server whole passages (rag.answer.prompt).
        if generator.compact_prompt and self.config.llm_excerpts > 0:
            sources = excerpt_sources(standalone, hits, retriever.embedder, self.config,
                                      vectors=self._sentence_vectors, store=retriever.store, query_vector=query_vector)
        else:
            sources = passage_sources(hits)
        text = ""
        for token in generator.stream(build_prompt(standalone, sources, list(history))):
            text += token
            yield AnswerUpdate(text)
        answer = answer_from_generated(standalone, text, hits, retriever.embedder, self.config, sources=sources,
                                       vectors=self._sentence_vectors, store=retriever.store)
        yield AnswerUpdate(answer.answer, self._finish(answer, question, standalone, notes))

    def _finish(self, answer: Answer, question: str, standalone: str, notes: list[str]) -> Answer:
        answer.question = question
        answer.standalone_question = standalone if standalone != question else None
        answer.notes = notes + answer.notes
        return answer


_SURROGATES = re.compile("[\ud800-\udfff]")


def search_json(question: str, hits: Sequence[Hit]) -> dict[str, Any]:
    """A search as JSON: what ``python -m rag search --json`` prints and the
    HTTP API's ``/api/search`` returns (an answer's is ``Answer.to_json``)."""
    return {"question": valid_text(question), "hits": [h.to_json() for h in hits]}


def valid_text(text: str) -> str:
    """``text`` with each lone surrogate replaced by U+FFFD: text that can be
    encoded, tokenized and printed."""
    return _SURROGATES.sub("\ufffd", text)

# Kept: word characters (ideographs among them), CJK punctuation and a few safe marks.
_UNSAFE = re.compile(rf"[^\w.\-() {CJK_PUNCTUATION}{IDEOGRAPHS}]+")


def safe_filename(name: str) -> str:
    """A file name that stays inside the corpus folder: no directories, no
    leading dots, no control or shell characters; Chinese is kept."""
    name = unicodedata.normalize("NFC", Path(name.replace("\\", "/")).name)
    name = _UNSAFE.sub("_", name).strip(" .") or "upload"
    stem, suffix = Path(name).stem, Path(name).suffix
    return (stem[:120] or "upload") + suffix.lower()


def _over_limit(name: str, size: int, config: Config) -> str:
    return (f"{name}: {size / 1e6:.1f} MB is over the upload limit of "
            f"{config.upload_max_mb} MB (set --upload-max-mb to change it)")


def _claim_name(corpus: Path, name: str) -> str:
    """``name``, or ``stem (2).suffix``, ``stem (3).suffix`` ...: the first no
    file of the corpus has (compared ignoring case), claimed by creating it."""
    stem, suffix = Path(name).stem, Path(name).suffix
    taken = {p.name.lower() for p in corpus.iterdir()}
    for n in range(1, 10_000):
        candidate = name if n == 1 else f"{stem} ({n}){suffix}"
        if candidate.lower() in taken:
            continue
        try:
            os.close(os.open(corpus / candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        except FileExistsError:
            continue
        return candidate
    raise ValueError(f"{name}: too many documents of that name")
