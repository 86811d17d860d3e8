"""What a build reports while it runs and when it is done: its progress
(:class:`BuildProgress`, by :class:`Stage`), where its time went
(:class:`BuildStats`, by :class:`Step`) and what it did (:class:`BuildReport`).

The CLI prints the progress, the UI turns it into a progress bar, and
``python -m bench.build`` tabulates the stats.
"""

from __future__ import annotations

import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Callable, Iterator

from rag.index.store import FailedEntry


class Stage(StrEnum):
    """What a build is doing, as its progress reports it (in this order)."""

    LOAD = "load"         # reading the corpus: done/total count files
    INDEX = "index"       # chunking new documents, taking unchanged ones: done/total count documents
    EMBED = "embed"       # embedding the new chunks and sentences, all documents in one stream: done/total texts
    TERMS = "terms"       # embedding the term table: done/total count its new terms
    PUBLISH = "publish"   # writing and publishing the version: 0/1, then 1/1


class Step(StrEnum):
    """Where a build's time goes, as :class:`BuildStats` times it (see there)."""

    EMBEDDER = "embedder"
    LOAD = "load"
    PREVIOUS = "previous"
    CHUNK = "chunk"
    EMBED = "embed"
    REUSE = "reuse"
    TERMS = "terms"
    BM25 = "bm25"
    WRITE = "write"


@dataclass(frozen=True)
class BuildProgress:
    """One step of a build, for progress bars (see :class:`Stage` for what
    ``done``/``total`` count). Embedding steps (``EMBED``, ``TERMS``) also
    give the ``rate`` so far (texts per second) and the ``eta``, the seconds
    left (None until the first batch is done)."""

    stage: Stage
    done: int
    total: int
    file: str = ""
    rate: float = 0.0
    eta: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "stage", Stage(self.stage))   # "load" is taken as Stage.LOAD


@dataclass
class BuildStats:
    """Where a build's time went, and what it embedded and what it reused
    (``python -m bench.build`` reports it).

    ``seconds[step]`` for each :class:`Step`: ``embedder`` loading the
    embedder (0 when it is passed in or already loaded); ``load`` finding,
    reading and parsing the corpus files (0 when documents are passed in);
    ``previous`` opening the serving index whose vectors may be reused;
    ``chunk`` chunking new or changed documents and splitting their chunks
    into sentences; ``embed`` embedding those chunks and sentences (or reading
    them back from ``.staging/``); ``reuse`` taking unchanged documents'
    chunks and vectors from the serving index; ``terms`` collecting the corpus
    terms and embedding the new ones; ``bm25`` tokenizing every passage and
    building BM25; ``write`` the FAISS index, saving and publishing the version.

    Counts: chunks; distinct sentence texts per document (a sentence repeated
    by chunk overlap counts once, as it is embedded once); terms. ``staged``:
    read from ``.staging/``, embedded by an interrupted earlier build.
    """

    seconds: dict[Step, float] = field(default_factory=lambda: dict.fromkeys(Step, 0.0))
    chunks_embedded: int = 0
    chunks_staged: int = 0
    chunks_reused: int = 0
    sentences_embedded: int = 0
    sentences_staged: int = 0
    sentences_reused: int = 0
    # Clauses: answer units that are not whole sentences (the clause table),
    # counted as sentences are; they go through the same stream.
    clauses_embedded: int = 0
    clauses_staged: int = 0
    clauses_reused: int = 0
    terms_embedded: int = 0
    terms_reused: int = 0

    @contextmanager
    def timing(self, step: Step) -> Iterator[None]:
        """Add the time spent in the ``with`` block to ``seconds[step]``."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[step] += time.perf_counter() - started


@dataclass
class BuildReport:
    """What a build did."""

    version: str
    documents: int
    chunks: int
    embedded_documents: list[str] = field(default_factory=list)
    reused_documents: list[str] = field(default_factory=list)
    failed: list[FailedEntry] = field(default_factory=list)
    seconds: float = 0.0
    stats: BuildStats = field(default_factory=BuildStats)
    runtime: str = ""          # the embedder runtime that embedded ("onnx-fp32", "torch-bf16", ...)

    def summary(self) -> str:
        line = (f"indexed {self.documents} documents, {self.chunks} chunks "
                f"({len(self.embedded_documents)} embedded, {len(self.reused_documents)} reused) "
                f"in {self.seconds:.1f} s")
        if self.embedded_documents and self.runtime:
            line += f" by {self.runtime}"
        if self.failed:
            line += f"; {len(self.failed)} skipped: " + "; ".join(f"{f.path}: {f.reason}" for f in self.failed)
        return line


ProgressFn = Callable[[BuildProgress], None]
