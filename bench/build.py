"""Index build speed, reproducible with one command.

    python -m bench.build                              # the bundled corpus (corpus/)
    python -m bench.build --corpus DIR --json
    python -m bench.build --dataset cmrc2018-trial     # the 256 paragraphs of CMRC 2018 trial

Builds the corpus's index in a temporary folder (the project's ``index/`` is
never touched; a corpus folder is copied first, so it is never changed
either) and times four runs of :func:`rag.index.build.build_index`, one after
the other, as a user meets them:

1. ``full``: a build from nothing.
2. ``unchanged``: an incremental build with nothing changed.
3. ``one changed``: an incremental build after one sentence was appended to
   one document (the first text document in path order).
4. ``resumed``: a full rebuild interrupted once half of its chunks and
   sentences were embedded (at the first batch past half: batches are
   ``embed_checkpoint`` texts; a corpus of one batch is interrupted when the
   term table starts), then run again; the row is the second run, which
   takes the finished batches' vectors from ``.staging/``. The interruption
   is an exception raised by a wrapper around the embedder, as the tests
   simulate a crash.

Then the **baseline**: a plain fp32 ``SentenceTransformer.encode`` (a
fresh model of the same folder, sorted by length, batches of 64,
``normalize_embeddings=True``) of ``--baseline-texts`` of the texts the full
build embedded (taken evenly across them, prefixes included), in the same
process: its tokens per second, against the full build's (every chunk,
sentence, clause and term it embedded, over its embed and terms stages), give the
speed-up of the build's embedding over the plain model, and the full
build's wall time over its embedding time says how much else it does.

Each row has the wall time, the seconds of each stage of the build
(:class:`rag.index.progress.BuildStats`), how many chunks, sentences, clauses and terms were
embedded and how many reused, the embedding throughput and the process's peak
resident memory so far (``ru_maxrss``: it only grows, so a row shows the peak
of that run and of every run before it). Loading the question embedder and
jieba's dictionary happen once per process, before the runs, and are
reported apart; each build then picks its embedder as a user's would
(:meth:`rag.models.embedder.Embedder.for_texts`: the bulk runtime, bf16 on
AMX, only for enough work to repay loading it), and loading it is the
``embedder`` stage of the run that first needs it, inside its wall time.

A ``--dataset`` corpus is the one :mod:`bench.retrieval` indexes (its
documents are built from memory, as there: the load stage is then 0).
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import logging
import os
import resource
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

from bench.retrieval import DATASETS as RETRIEVAL_DATASETS
from bench.retrieval import Progress
from ingest.records import Document
from rag.config import PROJECT_ROOT, Config
from rag.index.progress import Step
from rag.models.cpu import read_cpu_info

log = logging.getLogger(__name__)

# The corpora of bench.retrieval's datasets (a translated set asks the same corpus).
DATASETS = tuple(d for d in RETRIEVAL_DATASETS if not d.endswith("-en"))
# What the "one changed" run appends to one document.
APPENDED = "\n基准测试在文末追加了这一句话，用来衡量只改动一个文档时的增量构建。\n"
# Stages shown in the Markdown table: all (``embedder``: loading the bulk runtime, when a run first needs it).
TABLE_STAGES = tuple(Step)
SETTINGS = ["chunk_size", "chunk_overlap", "lexical_tokenizer", "embed_batch_size", "embed_checkpoint"]


@dataclass
class RunResult:
    """One timed build. ``seconds``: per :class:`rag.index.progress.Step`;
    ``*_staged``: vectors an interrupted earlier run had saved in ``.staging/``;
    ``embedded_per_second``: chunks + sentences + clauses embedded per second of the
    embed stage (None when nothing was embedded); ``terms_per_second`` the
    same for new terms over the terms stage; ``peak_rss_mb``: the process's
    peak resident memory so far; ``load_average``: the 1-minute load average
    as the run ended."""

    name: str
    description: str
    wall_seconds: float
    seconds: dict[str, float]
    documents_embedded: int
    documents_reused: int
    chunks_embedded: int
    chunks_staged: int
    chunks_reused: int
    sentences_embedded: int
    sentences_staged: int
    sentences_reused: int
    terms_embedded: int
    terms_reused: int
    embedded_per_second: float | None
    terms_per_second: float | None
    peak_rss_mb: float
    load_average: float
    runtime: str = ""               # the embedder runtime the build chose ("" when it embedded nothing)
    # The clause table's texts (sentences cut at semicolons), embedded in the same stream.
    clauses_embedded: int = 0
    clauses_staged: int = 0
    clauses_reused: int = 0


@dataclass
class BuildBench:
    """What one run of the benchmark measured, and on what."""

    corpus: str
    documents: int
    chunks: int                     # of the index the full build made
    sentences: int                  # distinct sentence texts per document, summed
    terms: int
    settings: dict[str, object]
    embedder: str
    embedder_load_seconds: float    # the question embedder's import + load, once per process, before the runs
    jieba_load_seconds: float       # jieba's dictionary, once per process, before the runs
    changed_document: str | None
    interrupted: str | None         # where the interrupted build stopped
    interrupted_seconds: float | None
    cpus: int
    load_average_before: float
    cpu: str = ""                   # rag.models.cpu's line
    runtime: str = ""               # the full build's embedder runtime (and why it was chosen)
    runs: list[RunResult] = field(default_factory=list)
    baseline: "Baseline | None" = None
    seconds: float = 0.0
    clauses: int = 0                # clause texts (not sentences of their chunk) the full build embedded

    def to_json(self) -> dict:
        return asdict(self)

    def run(self, name: str) -> RunResult:
        return next(r for r in self.runs if r.name == name)


@dataclass
class Baseline:
    """The plain fp32 model against the full build (see the module docstring)."""

    texts: int                      # the sample the plain model embedded
    tokens: int
    seconds: float
    tokens_per_second: float
    build_texts: int                # what the full build embedded: chunks, sentences, clauses, terms
    build_tokens: int
    build_embed_seconds: float      # its embed + terms stages
    build_tokens_per_second: float
    speedup: float                  # build tokens/s over baseline tokens/s
    wall_over_embedding: float      # the full build's wall time over its embed + terms stages


class Interrupted(RuntimeError):
    """The simulated crash of the interrupted build."""


class _InterruptingEmbedder:
    """``inner``, but raising :class:`Interrupted` instead of embedding a
    batch of passages once ``after`` texts were embedded (``after`` None:
    instead of the term table)."""

    def __init__(self, inner, after: int | None) -> None:
        self._inner = inner
        self._after = after
        self.texts = 0

    def __getattr__(self, name: str):
        return getattr(self._inner, name)

    def embed_passages(self, texts: Sequence[str], progress=None):
        if self._after is not None and self.texts >= self._after:
            raise Interrupted(f"interrupted after {self.texts} texts")
        vectors = self._inner.embed_passages(texts, progress)
        self.texts += len(texts)
        return vectors

    def embed_queries(self, texts: Sequence[str], **options):
        if self._after is None:
            raise Interrupted("interrupted at the term table")
        return self._inner.embed_queries(texts, **options)


# --- the corpus ------------------------------------------------------------------


@dataclass
class _Corpus:
    """The documents to build: a folder (copied, so it can be changed) or,
    for a dataset, documents in memory."""

    label: str
    folder: Path | None = None
    documents: list[Document] | None = None

    def change_one(self) -> str:
        """Append :data:`APPENDED` to the first text document; its path."""
        if self.documents is not None:
            doc = next(d for d in self.documents if d.format in ("txt", "md"))
            text = doc.text + APPENDED
            raw = text.encode("utf-8")
            changed = dataclasses.replace(doc, text=text, sha256=hashlib.sha256(raw).hexdigest(), size=len(raw))
            self.documents = [changed if d is doc else d for d in self.documents]
            return doc.path
        from ingest.loaders import discover

        path = next((p for p in discover(self.folder) if p.suffix.lower() in (".txt", ".md")), None)
        if path is None:
            raise SystemExit(f"{self.label}: no .txt or .md document to change for the 'one changed' run")
        with path.open("a", encoding="utf-8") as fh:
            fh.write(APPENDED)
        return path.relative_to(self.folder).as_posix()


def _dataset_corpus(name: str) -> _Corpus:
    from bench.retrieval import load_dataset

    evalset, _ = load_dataset(name)
    return _Corpus(label=f"dataset {name}", documents=list(evalset.documents))


def _folder_corpus(folder: Path, copy_to: Path) -> _Corpus:
    if not folder.is_dir():
        raise SystemExit(f"corpus folder {folder} does not exist")
    shutil.copytree(folder, copy_to)
    shown = folder.relative_to(PROJECT_ROOT) if folder.is_relative_to(PROJECT_ROOT) else folder
    return _Corpus(label=f"{shown}/", folder=copy_to)


# --- the runs ----------------------------------------------------------------------


def _peak_rss_mb() -> float:
    # ru_maxrss is in KiB on Linux (bytes on macOS).
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1 << 20) if sys.platform == "darwin" else peak / 1024


def _timed_build(name: str, description: str, config: Config, corpus: _Corpus, embedder, *, full: bool,
                 progress: Progress) -> RunResult:
    from rag.index.build import build_index

    progress.note(f"run '{name}': {description}")
    started = time.perf_counter()
    report = build_index(config, full=full, documents=corpus.documents, embedder=embedder, progress=progress.build)
    wall = time.perf_counter() - started
    s = report.stats
    embedded = s.chunks_embedded + s.sentences_embedded + s.clauses_embedded
    result = RunResult(
        name=name, description=description, wall_seconds=wall, seconds=dict(s.seconds),
        documents_embedded=len(report.embedded_documents), documents_reused=len(report.reused_documents),
        chunks_embedded=s.chunks_embedded, chunks_staged=s.chunks_staged, chunks_reused=s.chunks_reused,
        sentences_embedded=s.sentences_embedded, sentences_staged=s.sentences_staged,
        sentences_reused=s.sentences_reused, terms_embedded=s.terms_embedded, terms_reused=s.terms_reused,
        embedded_per_second=embedded / s.seconds["embed"] if embedded and s.seconds["embed"] > 0 else None,
        terms_per_second=(s.terms_embedded / s.seconds["terms"] if s.terms_embedded and s.seconds["terms"] > 0
                          else None),
        peak_rss_mb=_peak_rss_mb(), load_average=os.getloadavg()[0],
        runtime=report.runtime if report.embedded_documents or s.terms_embedded else "",
        clauses_embedded=s.clauses_embedded,
        clauses_staged=s.clauses_staged, clauses_reused=s.clauses_reused)
    progress.note(f"run '{name}': {wall:.1f} s ({report.summary()})")
    return result


def run(config: Config, *, corpus_dir: Path | None = None, dataset: str | None = None, embedder=None,
        progress: Progress | None = None, work_dir: Path | None = None, baseline_texts: int = 0) -> BuildBench:
    """Time the four builds (see the module docstring) of ``dataset``'s
    corpus or of the folder ``corpus_dir`` (default: ``config.corpus_dir``),
    in a temporary folder (inside ``work_dir`` when given), then the
    baseline on ``baseline_texts`` of the texts (none when 0)."""
    from rag.index.lexical import tokenize_many
    from rag.models.embedder import Embedder

    started = time.perf_counter()
    progress = progress or Progress(quiet=True)
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-build-", dir=work_dir) as tmp:
        tmp_path = Path(tmp)
        if dataset is not None:
            corpus = _dataset_corpus(dataset)
        else:
            corpus = _folder_corpus(Path(corpus_dir or config.corpus_dir), tmp_path / "corpus")
        config = config.replace(corpus_dir=corpus.folder or tmp_path / "corpus", index_dir=tmp_path / "index")
        progress.note(f"corpus: {corpus.label}; index in {config.index_dir}")

        t0 = time.perf_counter()
        # the caller's embedder does every run's work; without one each build picks its own
        question = embedder or Embedder.from_config(config)
        embedder_seconds = time.perf_counter() - t0
        t0 = time.perf_counter()
        tokenize_many([], config.lexical_tokenizer)   # jieba's dictionary, in jieba mode
        jieba_seconds = time.perf_counter() - t0
        progress.note(f"embedder {question.name} loaded in {embedder_seconds:.1f} s, "
                      f"jieba in {jieba_seconds:.1f} s")

        runs = [_timed_build("full", "full build from nothing", config, corpus, embedder, full=True,
                             progress=progress)]
        full = runs[0]
        from rag.index.store import IndexStore

        full_texts = built_texts(IndexStore.load(config.index_dir))
        runs.append(_timed_build("unchanged", "incremental, nothing changed", config, corpus, embedder,
                                 full=False, progress=progress))
        changed = corpus.change_one()
        runs.append(_timed_build("one changed", f"incremental, one sentence appended to {changed}", config, corpus,
                                 embedder, full=False, progress=progress))

        texts = full.chunks_embedded + full.sentences_embedded + full.clauses_embedded
        after = texts // 2 if texts > config.embed_checkpoint else None
        where = f"after {after:,} of {texts:,} texts" if after is not None else "at the term table"
        progress.note(f"run 'resumed': a full rebuild interrupted {where}")
        from rag.index.build import build_index

        t0 = time.perf_counter()
        # interrupted as the full build ran: with the embedder it chose
        chosen = embedder or Embedder.from_config(config, bulk=full.runtime != question.runtime)
        try:
            build_index(config, full=True, documents=corpus.documents,
                        embedder=_InterruptingEmbedder(chosen, after), progress=progress.build)
            raise RuntimeError("the interrupted build was not interrupted")
        except Interrupted:
            interrupted_seconds = time.perf_counter() - t0
        runs.append(_timed_build("resumed", f"full rebuild interrupted {where}, run again", config, corpus,
                                 embedder, full=True, progress=progress))

        store = IndexStore.load(config.index_dir)
        baseline = None
        if baseline_texts > 0:
            progress.note(f"baseline: plain fp32 SentenceTransformer.encode of {baseline_texts} of the texts")
            baseline = measure_baseline(config, full_texts, full, baseline_texts)
        sentences = full.sentences_embedded
        return BuildBench(
            corpus=corpus.label, documents=len(store.manifest.documents), chunks=full.chunks_embedded,
            sentences=sentences, terms=full.terms_embedded,
            settings={name: getattr(config, name) for name in SETTINGS}, embedder=question.name,
            embedder_load_seconds=embedder_seconds, jieba_load_seconds=jieba_seconds, changed_document=changed,
            interrupted=where, interrupted_seconds=interrupted_seconds, cpus=os.cpu_count() or 0,
            load_average_before=load_before, cpu=read_cpu_info().describe(),
            runtime=f"{getattr(chosen, 'runtime', '?')} ({getattr(chosen, 'choice', '')})", runs=runs,
            baseline=baseline, seconds=time.perf_counter() - started, clauses=full.clauses_embedded)


def built_texts(store) -> list[str]:
    """What a full build of ``store``'s documents embedded, prefixes
    included: each chunk, each distinct sentence and clause text, each term."""
    from rag.index.texts import passage_text, sentence_text

    passages = dict.fromkeys("passage: " + passage_text(c) for c in store.chunks)
    sentences = dict.fromkeys("passage: " + sentence_text(c, store.documents[c.doc].text[a:b])
                              for row, c in enumerate(store.chunks) for a, b in store.sentences.spans_of(row))
    clauses = dict.fromkeys("passage: " + sentence_text(c, store.documents[c.doc].text[a:b])
                            for row, c in enumerate(store.chunks) for a, b in store.clauses.spans_of(row))
    return (list(passages) + [t for t in sentences if t not in passages]
            + [t for t in clauses if t not in passages and t not in sentences]
            + ["query: " + t for t in store.terms.terms])


def measure_baseline(config: Config, texts: list[str], full: "RunResult", n: int) -> Baseline:
    """Time the plain fp32 model on ``n`` of ``texts``, what the full build
    embedded (see the module docstring)."""
    from bench.embed import baseline_encoder, evenly, token_lengths

    source = str(config.embedder_path) if config.embedder_path is not None else config.embedder
    lengths = token_lengths(source, texts)
    sample = evenly(range(len(texts)), n)
    encode = baseline_encoder(source)
    encode(texts[:8])   # warm-up
    started = time.perf_counter()
    encode([texts[i] for i in sample])
    seconds = time.perf_counter() - started
    tokens = sum(lengths[i] for i in sample)
    build_seconds = full.seconds[Step.EMBED] + full.seconds[Step.TERMS]
    build_rate = sum(lengths) / build_seconds if build_seconds else 0.0
    return Baseline(texts=len(sample), tokens=tokens, seconds=seconds, tokens_per_second=tokens / seconds,
                    build_texts=len(texts), build_tokens=sum(lengths), build_embed_seconds=build_seconds,
                    build_tokens_per_second=build_rate, speedup=build_rate / (tokens / seconds),
                    wall_over_embedding=full.wall_seconds / build_seconds if build_seconds else 0.0)


# --- output ------------------------------------------------------------------------


def _counts(embedded: int, reused: int, staged: int = 0) -> str:
    cell = f"{embedded:,} / {reused:,}"
    return cell + (f" (+{staged:,} staged)" if staged else "")


def _rate(value: float | None) -> str:
    return f"{value:.1f}" if value is not None else "-"


def format_report(report: BuildBench) -> str:
    """The report as a Markdown table (the README pastes it)."""
    lines = [f"CPU: {report.cpu}; the full build's embedder runtime {report.runtime}", "",
             f"{report.corpus}: {report.documents} document{'' if report.documents == 1 else 's'}, "
             f"{report.chunks:,} chunks, "
             f"{report.sentences:,} sentences, {report.clauses:,} clauses, {report.terms:,} terms; "
             f"embedder {report.embedder} "
             f"(questions' runtime loaded in {report.embedder_load_seconds:.1f} s, "
             f"jieba {report.jieba_load_seconds:.1f} s, before the runs)",
             "",
             "| run | wall s | runtime | " + " | ".join(TABLE_STAGES) + " | chunks emb. / reused "
             "| sentences emb. / reused | clauses emb. / reused | terms emb. / reused | chunks+sentences+clauses/s "
             "| terms/s | peak RSS MB | load avg |",
             "|---|---:|---|" + "---:|" * (len(TABLE_STAGES) + 8)]
    for r in report.runs:
        stages = " | ".join(f"{r.seconds.get(s, 0.0):.2f}" for s in TABLE_STAGES)
        lines.append(f"| {r.name} | {r.wall_seconds:.1f} | {r.runtime or '-'} | {stages} | "
                     f"{_counts(r.chunks_embedded, r.chunks_reused, r.chunks_staged)} | "
                     f"{_counts(r.sentences_embedded, r.sentences_reused, r.sentences_staged)} | "
                     f"{_counts(r.clauses_embedded, r.clauses_reused, r.clauses_staged)} | "
                     f"{_counts(r.terms_embedded, r.terms_reused)} | {_rate(r.embedded_per_second)} | "
                     f"{_rate(r.terms_per_second)} | {r.peak_rss_mb:.0f} | {r.load_average:.2f} |")
    lines += ["", "runs: " + "; ".join(f"{r.name} = {r.description}" for r in report.runs)
              + (f" (the interrupted run took {report.interrupted_seconds:.1f} s)"
                 if report.interrupted_seconds is not None else ""),
              "stages in seconds (rag.index.progress.BuildStats; embedder: loading the bulk runtime the run chose); "
              "peak RSS is the process's peak so far (ru_maxrss); "
              f"load avg: 1-minute, as the run ended ({report.load_average_before:.2f} before the first), "
              f"on {report.cpus} CPUs",
              "settings: " + ", ".join(f"{k}={v}" for k, v in report.settings.items())
              + f"; {report.seconds:.0f} s in all"]
    b = report.baseline
    if b is not None:
        lines += ["", f"baseline (plain fp32 SentenceTransformer.encode, batches of 64, same process): "
                      f"{b.tokens_per_second:,.0f} tokens/s over {b.texts:,} of the {b.build_texts:,} texts; "
                      f"the full build embedded {b.build_tokens:,} tokens in {b.build_embed_seconds:.1f} s: "
                      f"{b.build_tokens_per_second:,.0f} tokens/s = **{b.speedup:.2f}x the baseline**; "
                      f"its wall time was **{b.wall_over_embedding:.2f}x its embedding time**"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.build", description=__doc__.split("\n")[0])
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--corpus", type=Path, default=None, metavar="DIR",
                        help="corpus folder to build (default: the project's corpus/); it is copied, not changed")
    source.add_argument("--dataset", choices=DATASETS, default=None, help="build a benchmark dataset's corpus")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    parser.add_argument("--baseline-texts", type=int, default=1000, metavar="N",
                        help="texts the plain fp32 baseline embeds (0: no baseline; default 1000)")
    Config.add_arguments(parser, names=["embedder", "embed_runtime"] + SETTINGS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    config = Config.from_args(args)
    report = run(config, corpus_dir=args.corpus, dataset=args.dataset, progress=Progress(quiet=args.quiet),
                 baseline_texts=args.baseline_texts)
    print(json.dumps(report.to_json(), ensure_ascii=False, indent=1) if args.json else format_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
