"""Retrieval quality, reproducible with one command.

    python -m bench.retrieval --dataset cmrc2018-dev
    python -m bench.retrieval --dataset cmrc2018-trial --chunk-size 400 --json
    python -m bench.retrieval --dataset seed-dev

Builds (or reuses) an index of the dataset's corpus in its own folder,
``bench/indexes/<dataset>-<settings>/`` (git-ignored), asks every question and
prints recall@1/3/5/10 and MRR@20 for each way of ranking: dense only, lexical
only, fused, and fused + rerank. For the seed set it adds the breakdown by
question type.

A hit is judged at the level of chunks, the unit the user is shown:

- CMRC 2018: the chunk is from the question's paragraph *and* overlaps the
  character span of one of its gold answers (so the right paragraph's other
  chunks do not count).
- seed-dev: the passage as a hit shows it (document title, section path,
  text: :func:`rag.index.texts.passage_text`) contains one of the question's
  evidence strings (:func:`bench.datasets.evidence_match`); so "what is the
  title of this article?" is answered by any passage, which shows the title.
  Unanswerable questions have no right chunk and are left out of the recall
  figures.

Vectors are cached by text (:mod:`bench.embed_cache`), so a sweep over chunk
sizes or fusion settings embeds each question and passage once.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Sequence


from bench.datasets import CMRC_SPLITS, EvalQuestion, EvalSet, evidence_match, load_cmrc, load_seed_dev
from ingest.records import Chunk
from rag.config import PROJECT_ROOT, Config

log = logging.getLogger(__name__)

DATASETS = ("cmrc2018-dev", "cmrc2018-trial", "seed-dev", "cmrc2018-trial-en")
# The first 40 questions of CMRC 2018 trial in English (translated by hand for
# this project), asked of the Chinese trial corpus: the cross-lingual check.
TRANSLATED = PROJECT_ROOT / "bench" / "data" / "cmrc2018_trial_en.jsonl"
INDEXES_DIR = PROJECT_ROOT / "bench" / "indexes"
CACHE_FILE = INDEXES_DIR / ".cache" / "embeddings.sqlite"
RECALL_KS = (1, 3, 5, 10)
MRR_DEPTH = 20


@dataclass(frozen=True)
class Mode:
    """One way of ranking: a fusion method, with or without the reranker."""

    name: str
    fusion: str
    rerank: bool


@dataclass
class ModeResult:
    """The figures of one mode over the answerable questions.

    ``recall[k]``: share of questions with a right chunk in the top k.
    ``mrr``: mean of 1/rank of the first right chunk within the top
    :data:`MRR_DEPTH` (0 when none). ``by_type``: the same, per question type.
    """

    mode: str
    questions: int
    recall: dict[int, float]
    mrr: float
    ms_per_query: float
    by_type: dict[str, "ModeResult"] = field(default_factory=dict)


@dataclass
class BenchReport:
    """What one run measured, and with what."""

    dataset: str
    index: str
    settings: dict[str, object]
    documents: int
    chunks: int
    questions: int                  # answerable questions scored
    unanswerable: int               # left out of the figures
    results: list[ModeResult]
    seconds: float

    def to_json(self) -> dict:
        return asdict(self)


@dataclass
class BenchIndex:
    """A dataset, the questions to ask, and the loaded index of its corpus."""

    evalset: EvalSet
    questions: list[EvalQuestion]
    store: object                   # rag.index.store.IndexStore
    folder: Path


# --- what counts as a hit ----------------------------------------------------


def is_relevant(question: EvalQuestion, chunk: Chunk, dataset: str) -> bool:
    """Whether ``chunk`` answers ``question`` (see the module docstring)."""
    if dataset.startswith("cmrc2018"):
        if chunk.doc != question.doc:
            return False
        return any(start >= 0 and chunk.start < start + len(answer) and chunk.end > start
                   for answer, start in zip(question.answers, question.answer_starts))
    from rag.index.texts import passage_text

    return bool(question.evidence) and evidence_match(passage_text(chunk), question.evidence)


def first_hit_rank(rows: Sequence[int], relevant: set[int]) -> int | None:
    """1-based rank of the first relevant row, or None."""
    for rank, row in enumerate(rows, start=1):
        if row in relevant:
            return rank
    return None


def summarise(mode: str, ranks: Sequence[int | None], seconds: float) -> ModeResult:
    """Recall@k and MRR@20 from each question's first-hit rank."""
    n = len(ranks)
    recall = {k: (sum(1 for r in ranks if r is not None and r <= k) / n if n else 0.0) for k in RECALL_KS}
    mrr = sum(1.0 / r for r in ranks if r is not None and r <= MRR_DEPTH) / n if n else 0.0
    return ModeResult(mode, n, recall, mrr, 1000.0 * seconds / n if n else 0.0)


# --- datasets and their indexes ------------------------------------------------


def load_dataset(name: str, limit: int | None = None, distractors: int | None = None) -> tuple[EvalSet, list[EvalQuestion]]:
    """The dataset and the questions to ask.

    ``limit``: only the first ``limit`` questions (a fixed slice). With
    ``distractors`` as well, the corpus shrinks to the documents of those
    questions plus the first ``distractors`` other documents (file order), so
    a quick run builds a small index that still has wrong answers to find.
    """
    if name == "seed-dev":
        evalset = load_seed_dev()
    elif name == "cmrc2018-trial-en":
        evalset = translated(load_cmrc("trial"), TRANSLATED)
    elif name.startswith("cmrc2018-") and name.split("-", 1)[1] in CMRC_SPLITS:
        evalset = load_cmrc(name.split("-", 1)[1])
    else:
        raise ValueError(f"unknown dataset {name!r}: use one of {', '.join(DATASETS)}")
    questions = evalset.questions[:limit] if limit else list(evalset.questions)
    if limit and distractors is not None:
        wanted = {q.doc for q in questions if q.doc}
        others = [d for d in evalset.documents if d.path not in wanted][:distractors]
        keep = wanted | {d.path for d in others}
        evalset = EvalSet(evalset.name, [d for d in evalset.documents if d.path in keep], evalset.questions)
    return evalset, questions


def translated(evalset: EvalSet, path: Path) -> EvalSet:
    """``evalset`` with only the questions ``path`` translates, asked in the
    translation (type "crosslingual"); labels and corpus unchanged."""
    rows = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
    by_id = {q.id: q for q in evalset.questions}
    questions = [replace(by_id[r["id"]], question=r["q"], type="crosslingual") for r in rows]
    return EvalSet(evalset.name + "-en", evalset.documents, questions)


def index_folder(dataset: str, evalset: EvalSet, config: Config, embedder_name: str,
                 root: Path = INDEXES_DIR) -> Path:
    """``bench/indexes/<dataset>-cs<size>-ov<overlap>-<tokenizer>-<hash>``: a
    readable name, plus a hash of everything else that shapes the index (the
    embedder, its prefix, the exact documents)."""
    identity = json.dumps({
        "embedder": embedder_name, "prefix": config.passage_prefix,
        "documents": sorted((d.path, d.sha256) for d in evalset.documents),
    }, sort_keys=True)
    digest = hashlib.sha256(identity.encode()).hexdigest()[:8]
    corpus = dataset.removesuffix("-en")   # a translated question set asks the same corpus
    name = f"{corpus}-cs{config.chunk_size}-ov{config.chunk_overlap}-{config.lexical_tokenizer}-{digest}"
    return root / name


def open_index(dataset: str, evalset: EvalSet, config: Config, embedder, progress: "Progress",
               root: Path = INDEXES_DIR) -> tuple[object, Path]:
    """The index of ``evalset``'s corpus under ``config`` (in a folder of
    ``root``): reused when one built with the same settings and documents
    exists, else built (reusing cached vectors)."""
    from rag.index.build import build_index
    from rag.index.store import IndexProblem, IndexStore

    folder = index_folder(dataset, evalset, config, embedder.name, root)
    wanted = {(d.path, d.sha256) for d in evalset.documents}
    try:
        store = IndexStore.load(folder)
        why = store.manifest.mismatch(embedder.name, embedder.dim, config.chunker_settings(), config.lexical_tokenizer)
        if why is None and {(d.path, d.sha256) for d in store.manifest.documents} == wanted:
            progress.note(f"reusing the index {_shown(folder)}")
            return store, folder
    except IndexProblem:
        pass
    progress.note(f"building the index {_shown(folder)} ({len(evalset.documents)} documents)")
    started = time.perf_counter()
    report = build_index(config.replace(index_dir=folder), documents=evalset.documents, embedder=embedder,
                         progress=progress.build)
    progress.note(f"built in {time.perf_counter() - started:.0f} s: {report.summary()}")
    return IndexStore.load(folder), folder


# --- the run -------------------------------------------------------------------


def modes_for(config: Config) -> list[Mode]:
    """Dense only, lexical only, the configured fusion, and it + rerank."""
    fused = config.fusion if config.fusion in {"rrf", "weighted"} else "rrf"
    return [Mode("dense", "dense", False), Mode("lexical", "lexical", False),
            Mode(f"fused ({fused})", fused, False), Mode(f"fused ({fused}) + rerank", fused, True)]


def _shown(folder: Path) -> str:
    return str(folder.relative_to(PROJECT_ROOT)) if folder.is_relative_to(PROJECT_ROOT) else str(folder)


def run(dataset: str, config: Config, *, limit: int | None = None, distractors: int | None = None,
        embedder=None, progress: "Progress | None" = None, indexes_dir: Path = INDEXES_DIR) -> BenchReport:
    """Measure every mode on ``dataset`` (see the module docstring); the
    index lives in a folder of ``indexes_dir``."""
    from bench.embed_cache import CachedEmbedder
    from rag.models.embedder import Embedder
    from rag.retrieve.retriever import Retriever

    started = time.perf_counter()
    progress = progress or Progress(quiet=True)
    evalset, questions = load_dataset(dataset, limit, distractors)
    embedder = embedder or CachedEmbedder(Embedder.from_config(config), CACHE_FILE)
    store, folder = open_index(dataset, evalset, config, embedder, progress, indexes_dir)
    answerable = [q for q in questions if q.doc]
    progress.note(f"{len(answerable)} questions ({len(questions) - len(answerable)} unanswerable left out)")

    relevant = [{row for row, chunk in enumerate(store.chunks) if is_relevant(q, chunk, dataset)}
                for q in answerable]
    query_vectors = embedder.embed_queries([q.question for q in answerable], progress=progress.counter("questions embedded"))
    retriever = Retriever(store, embedder, config)

    results = []
    for mode in modes_for(config):
        ranks: list[int | None] = []
        tick = progress.counter(mode.name)
        spent = 0.0
        for i, q in enumerate(answerable):
            t0 = time.perf_counter()
            hits = retriever.search(q.question, MRR_DEPTH, fusion=mode.fusion, rerank=mode.rerank,
                                    query_vector=query_vectors[i])
            spent += time.perf_counter() - t0
            ranks.append(first_hit_rank([h.chunk.id for h in hits], relevant[i]))
            if (i + 1) % 200 == 0 or i + 1 == len(answerable):
                tick(i + 1, len(answerable))
        result = summarise(mode.name, ranks, spent)
        types = sorted({q.type for q in answerable})
        if len(types) > 1:
            for t in types:
                picked = [r for r, q in zip(ranks, answerable) if q.type == t]
                result.by_type[t] = summarise(mode.name, picked, 0.0)
        results.append(result)

    settings = {name: getattr(config, name) for name in SETTINGS}
    return BenchReport(dataset=dataset, index=_shown(folder), settings=settings,
                       documents=len(evalset.documents), chunks=len(store.chunks), questions=len(answerable),
                       unanswerable=len(questions) - len(answerable), results=results,
                       seconds=time.perf_counter() - started)


# The settings a report records (and the command line accepts).
SETTINGS = ["chunk_size", "chunk_overlap", "lexical_tokenizer", "candidates", "fusion", "rrf_k", "dense_weight",
            "lexical_weight", "crosslingual_lexical_scale", "rerank_depth", "rerank_sentence_weight",
            "rerank_match_weight", "rerank_fused_weight"]


# --- output --------------------------------------------------------------------


def format_report(report: BenchReport) -> str:
    """The report as Markdown tables (the README pastes them)."""
    lines = [f"{report.dataset}: {report.documents} documents, {report.chunks} chunks, "
             f"{report.questions} questions" + (f" ({report.unanswerable} unanswerable left out)"
                                                 if report.unanswerable else ""),
             "", "| mode | " + " | ".join(f"R@{k}" for k in RECALL_KS) + f" | MRR@{MRR_DEPTH} | ms/query |",
             "|---|" + "---:|" * (len(RECALL_KS) + 2)]
    for r in report.results:
        lines.append(f"| {r.mode} | " + " | ".join(f"{r.recall[k]:.4f}" for k in RECALL_KS)
                     + f" | {r.mrr:.4f} | {r.ms_per_query:.1f} |")
    types = list(report.results[0].by_type) if report.results else []
    if types:
        lines += ["", "| type | n | " + " | ".join(f"{r.mode} R@1 / R@5" for r in report.results) + " |",
                  "|---|---:|" + "---:|" * len(report.results)]
        for t in types:
            n = report.results[0].by_type[t].questions
            cells = [f"{r.by_type[t].recall[1]:.2f} / {r.by_type[t].recall[5]:.2f}" for r in report.results]
            lines.append(f"| {t} | {n} | " + " | ".join(cells) + " |")
    lines += ["", "settings: " + ", ".join(f"{k}={v}" for k, v in report.settings.items()),
              f"index: {report.index}; {report.seconds:.0f} s"]
    return "\n".join(lines)


class Progress:
    """Progress lines on stderr (nothing when quiet)."""

    def __init__(self, quiet: bool = False) -> None:
        self.quiet = quiet
        self._started = time.perf_counter()

    def note(self, text: str) -> None:
        if not self.quiet:
            print(f"[{time.perf_counter() - self._started:6.0f} s] {text}", file=sys.stderr, flush=True)

    def counter(self, what: str) -> Callable[[int, int], None]:
        def tick(done: int, total: int) -> None:
            if total:
                self.note(f"{what}: {done}/{total}")
        return tick

    def build(self, step) -> None:
        from rag.index.progress import Stage

        if step.stage is Stage.TERMS and step.total:
            self.note(f"term table: {step.done}/{step.total} new terms embedded")
        elif step.stage is Stage.EMBED and step.total and (step.done == step.total or step.done % 4096 == 0):
            left = f", {step.eta / 60:.1f} min left" if step.eta is not None and step.done < step.total else ""
            self.note(f"embedded {step.done:,}/{step.total:,} chunks and sentences ({step.rate:.0f}/s{left})")
        elif step.stage is Stage.PUBLISH and step.done:
            self.note("index published")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.retrieval", description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", required=True, choices=DATASETS)
    parser.add_argument("--limit", type=int, default=None, metavar="N", help="only the first N questions")
    parser.add_argument("--distractors", type=int, default=None, metavar="D",
                        help="with --limit: corpus = the questions' documents + the first D others")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    Config.add_arguments(parser, names=["embedder"] + SETTINGS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    config = Config.from_args(args)
    report = run(args.dataset, config, limit=args.limit, distractors=args.distractors,
                 progress=Progress(quiet=args.quiet))
    print(json.dumps(report.to_json(), ensure_ascii=False, indent=1) if args.json else format_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
