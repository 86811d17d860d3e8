"""Answer quality, reproducible with one command.

    python -m bench.answers --dataset seed-dev
    python -m bench.answers --dataset cmrc2018-dev --limit 200
    python -m bench.answers --dataset seed-dev --llm models/qwen2.5-coder-1.5b-instruct-q4_k_m.gguf
    python -m bench.answers --dataset cmrc2018-dev --limit 20 --llm http://127.0.0.1:11434 --model qwen2.5 --json

Every question goes through the engine's own answer path
(:meth:`rag.engine.Engine.ask_stream`, extractive unless ``--llm`` names a
model) over an index of the dataset's whole corpus — the same index
:mod:`bench.retrieval` builds or reuses in ``bench/indexes/``. ``--limit N``
asks the first N questions of the file (a fixed slice), still over the whole
corpus. Measured per question and summed up in one table:

- **sentence hit**: a cited sentence holds a right answer. CMRC 2018: it is
  from the question's paragraph and contains one of the gold answers;
  seed-dev: it contains the question's evidence or one of its keys (both
  compared with :func:`bench.datasets.evidence_match`). Share of the
  answerable questions (an abstention is a miss).
- **short EM / F1** (CMRC only, official scoring of
  :func:`bench.datasets.cmrc_em` / :func:`~bench.datasets.cmrc_f1`):
  ``Answer.short_answer`` as the prediction (none given scores 0); and
  *short-or-first-sentence*: the short answer, else the first cited
  sentence. An abstention predicts the empty string.
- **citation precision / coverage** (:mod:`rag.answer.verify`), pooled over the
  statements of every answer that did not abstain: the share of citations
  that support their statement, and of claiming statements backed by one.
- **abstention errors**: *wrong* abstentions on answerable questions, and
  *missed* abstentions on unanswerable ones (seed-dev has one).
- **latency**, seconds from asking to the first streamed update and to the
  final answer, p50 / p95. The extractive answer is computed whole before
  its text is streamed, so there both are nearly the same; with an LLM the
  first update is the first token. A local model is loaded before the
  first question, and its fixed rules evaluated (as app.py does at
  start-up: :meth:`rag.engine.Engine.generator`); both times are reported
  apart, and the first question's first token on its own.

Progress goes to stderr; ``--json`` prints the report, per-question rows
included, as JSON.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from bench.datasets import EvalQuestion, cmrc_em, cmrc_f1, evidence_match
from bench.retrieval import CACHE_FILE, DATASETS, Progress, load_dataset, open_index
from lang.questions import FACT_KINDS, asks
from rag.answer.verify import citation_coverage, citation_precision
from rag.models.cpu import read_cpu_info
from rag.models.generate import GenerationStats
from rag.config import PROJECT_ROOT, Config
from rag.records import Answer, Statement

log = logging.getLogger(__name__)

# The settings a report records.
SETTINGS = ["chunk_size", "top_k", "fusion", "rerank", "abstain_threshold", "answer_type_check", "answer_sentences",
            "llm_max_new_tokens", "llm_excerpts", "llm_excerpt_chars", "llm_threads"]


@dataclass
class QuestionResult:
    """What one question's answer scored. ``em``/``f1`` and the fallback
    pair are None for a dataset without gold answer strings (seed-dev);
    ``citation_precision``/``coverage`` are None for an abstention."""

    id: str
    question: str
    type: str
    answerable: bool
    abstained: bool
    sentence_hit: bool
    short_answer: str | None
    first_sentence: str | None
    em: float | None
    f1: float | None
    em_fallback: float | None
    f1_fallback: float | None
    citation_precision: float | None
    citation_coverage: float | None
    first_update_s: float
    full_answer_s: float
    confidence: float
    answer: str
    llm: GenerationStats | None = None   # a local model's token counts and timings (rag.models.generate)
    passage_retrieved: bool = False   # a hit is from the question's document (CMRC) / shows its evidence (seed)
    kind: str = ""                    # what the question asks for (lang.questions.asks)


@dataclass(frozen=True)
class Latency:
    """Seconds over the questions asked."""

    p50: float
    p95: float
    mean: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> "Latency":
        if not seconds:
            return cls(0.0, 0.0, 0.0)
        values = np.asarray(seconds, dtype=np.float64)
        return cls(float(np.percentile(values, 50)), float(np.percentile(values, 95)), float(values.mean()))


@dataclass
class AnswerSummary:
    """The figures of one run. Rates are over the answerable questions;
    EM/F1 are None without gold answer strings."""

    questions: int
    answerable: int
    unanswerable: int
    sentence_hit_rate: float
    short_answer_rate: float          # share of answerable questions given a short answer
    em: float | None
    f1: float | None
    em_fallback: float | None         # short answer, else the first cited sentence
    f1_fallback: float | None
    citation_precision: float
    citation_coverage: float
    wrong_abstentions: int            # answerable, yet abstained
    missed_abstentions: int           # unanswerable, yet answered
    retrieved: int                    # answerable questions whose passage is among the hits
    hit_when_retrieved: float         # sentence hit over those
    wrong_abstentions_when_retrieved: int
    fact_questions: int               # answerable questions a short span can answer (lang.questions.is_fact_question)
    fact_em: float | None             # short EM / F1 over those
    fact_f1: float | None
    first_update: Latency
    full_answer: Latency
    # A local model's speed, pooled over the questions: prompt tokens per question (p50),
    # prompt tokens processed per second before the first token, tokens written per second after it.
    llm_prompt_tokens_p50: float | None = None
    llm_prompt_tokens_per_second: float | None = None
    llm_decode_tokens_per_second: float | None = None


@dataclass
class AnswerReport:
    """What one run measured, with what, and each question's row."""

    dataset: str
    answerer: str                     # "extractive", or the --llm target
    model: str                        # --model, for an OpenAI-compatible server
    index: str
    documents: int
    chunks: int
    limit: int | None
    settings: dict[str, object]
    summary: AnswerSummary
    llm_load_seconds: float
    seconds: float
    llm_prime_seconds: float = 0.0    # evaluating the fixed rules into a local model's cache, after loading
    load_average: str = ""            # 1/5/15-minute load averages at the start and at the end of the run
    results: list[QuestionResult] = field(default_factory=list)

    def to_json(self) -> dict:
        return asdict(self)


# --- scoring one answer ----------------------------------------------------------


def sentence_hit(question: EvalQuestion, answer: Answer, dataset: str) -> bool:
    """Whether a cited sentence holds a right answer (see the module docstring)."""
    if answer.abstained or not question.doc:
        return False
    if dataset.startswith("cmrc2018"):
        gold = [a for a in question.answers if a.strip()]
        return any(c.doc == question.doc and evidence_match(c.text, gold) for c in answer.citations)
    wanted = list(question.evidence) + list(question.keys)
    return any(evidence_match(c.text, wanted) for c in answer.citations)


def passage_retrieved(question: EvalQuestion, answer: Answer, dataset: str) -> bool:
    """Whether a retrieved passage is the question's own (CMRC: a hit from
    its paragraph; seed: a hit showing its evidence)."""
    if not question.doc:
        return False
    if dataset.startswith("cmrc2018"):
        return any(h.chunk.doc == question.doc for h in answer.hits)
    return any(evidence_match(h.chunk.text, list(question.evidence)) for h in answer.hits)


def score_answer(question: EvalQuestion, answer: Answer, dataset: str, first_update_s: float,
                 full_answer_s: float) -> QuestionResult:
    """One question's row."""
    short = answer.short_answer if not answer.abstained else None
    first = answer.citations[0].text if answer.citations and not answer.abstained else None
    gold = [a for a in question.answers if a.strip()]
    em = f1 = em_fallback = f1_fallback = None
    if gold:
        prediction = short or ""
        fallback = short or first or ""
        em, f1 = cmrc_em(prediction, gold), cmrc_f1(prediction, gold)
        em_fallback, f1_fallback = cmrc_em(fallback, gold), cmrc_f1(fallback, gold)
    precision = coverage = None
    if not answer.abstained:
        precision, coverage = citation_precision(answer.statements), citation_coverage(answer.statements)
    return QuestionResult(
        id=question.id, question=question.question, type=question.type, answerable=question.doc is not None,
        abstained=answer.abstained, sentence_hit=sentence_hit(question, answer, dataset), short_answer=short,
        first_sentence=first, em=em, f1=f1, em_fallback=em_fallback, f1_fallback=f1_fallback,
        citation_precision=precision, citation_coverage=coverage, first_update_s=first_update_s,
        full_answer_s=full_answer_s, confidence=float(answer.confidence), answer=answer.answer,
        passage_retrieved=passage_retrieved(question, answer, dataset), kind=asks(question.question).value)


def summarise(results: Sequence[QuestionResult], statements: Sequence[Statement]) -> AnswerSummary:
    """The run's figures from its rows and the pooled statements of the
    answers that did not abstain."""
    answerable = [r for r in results if r.answerable]
    unanswerable = [r for r in results if not r.answerable]
    n = len(answerable)
    retrieved = [r for r in answerable if r.passage_retrieved]
    facts = [r for r in answerable if r.kind in {k.value for k in FACT_KINDS}]

    def mean(values: list[float | None]) -> float | None:
        present = [v for v in values if v is not None]
        return sum(present) / len(present) if present else None

    return AnswerSummary(
        questions=len(results), answerable=n, unanswerable=len(unanswerable),
        sentence_hit_rate=sum(r.sentence_hit for r in answerable) / n if n else 0.0,
        short_answer_rate=sum(bool(r.short_answer) for r in answerable) / n if n else 0.0,
        em=mean([r.em for r in answerable]), f1=mean([r.f1 for r in answerable]),
        em_fallback=mean([r.em_fallback for r in answerable]), f1_fallback=mean([r.f1_fallback for r in answerable]),
        citation_precision=citation_precision(statements), citation_coverage=citation_coverage(statements),
        wrong_abstentions=sum(r.abstained for r in answerable),
        missed_abstentions=sum(not r.abstained for r in unanswerable),
        retrieved=len(retrieved),
        hit_when_retrieved=sum(r.sentence_hit for r in retrieved) / len(retrieved) if retrieved else 0.0,
        wrong_abstentions_when_retrieved=sum(r.abstained for r in retrieved),
        fact_questions=len(facts), fact_em=mean([r.em for r in facts]), fact_f1=mean([r.f1 for r in facts]),
        first_update=Latency.of([r.first_update_s for r in results]),
        full_answer=Latency.of([r.full_answer_s for r in results]),
        **llm_speed([r.llm for r in results if r.llm is not None]))


def llm_speed(stats: Sequence[GenerationStats]) -> dict[str, float]:
    """The summary's LLM speed fields from each question's generation stats."""
    if not stats:
        return {}
    fresh = sum(s.prompt_tokens - s.reused_tokens for s in stats)
    decoded = sum(max(s.generated_tokens - 1, 0) for s in stats)
    decode_seconds = sum(s.total_seconds - s.first_token_seconds for s in stats)
    return {"llm_prompt_tokens_p50": float(np.percentile([s.prompt_tokens for s in stats], 50)),
            "llm_prompt_tokens_per_second": fresh / sum(s.first_token_seconds for s in stats),
            "llm_decode_tokens_per_second": decoded / decode_seconds if decode_seconds > 0 else 0.0}


# --- the run -------------------------------------------------------------------


def ask_timed(engine, question: str) -> tuple[Answer, float, float]:
    """The engine's streamed answer, with the seconds to its first update
    and to the final answer."""
    started = time.perf_counter()
    first: float | None = None
    answer: Answer | None = None
    for update in engine.ask_stream(question):
        if first is None:
            first = time.perf_counter() - started
        if update.answer is not None:
            answer = update.answer
    total = time.perf_counter() - started
    if answer is None:
        raise RuntimeError(f"the engine gave no final answer to {question!r}")
    return answer, first if first is not None else total, total


def check_known_gguf(target: str) -> None:
    """Refuse the assembled PyPI GGUF (:mod:`rag.models.gguf`) when its bytes
    are not the recorded ones: its parts come from unknown uploaders."""
    from rag.models.gguf import MODEL_FILE, SHA256, is_verified

    path = Path(target).expanduser()
    if path.name == MODEL_FILE and path.is_file() and not is_verified(path):
        raise RuntimeError(f"{path} is not the recorded {MODEL_FILE} (sha256 {SHA256}): "
                           "assemble it again with `python -m rag.models.gguf`")


def evaluate(dataset: str, questions: Sequence[EvalQuestion], engine, *, limit: int | None = None,
             progress: Progress | None = None) -> AnswerReport:
    """Ask ``engine`` (a :class:`rag.engine.Engine` over the dataset's index)
    every question and score the answers (see the module docstring)."""
    started = time.perf_counter()
    load_at_start = _load_average()
    progress = progress or Progress(quiet=True)
    config: Config = engine.config
    status = engine.status()
    if not status.ready:
        raise RuntimeError(f"no index to answer from: {status.message}")
    load_seconds = prime_seconds = 0.0
    generator = None
    if config.llm:
        check_known_gguf(config.llm)
        # Loaded once, with its fixed rules evaluated, before the clock of the first question starts.
        t0 = time.perf_counter()
        generator = engine.generator()
        prime_seconds = getattr(generator, "prime_seconds", None) or 0.0
        load_seconds = time.perf_counter() - t0 - prime_seconds
        progress.note(f"LLM {config.llm} loaded in {load_seconds:.1f} s, rules evaluated in {prime_seconds:.1f} s")
    results: list[QuestionResult] = []
    statements: list[Statement] = []
    for i, q in enumerate(questions, start=1):
        answer, first, total = ask_timed(engine, q.question)
        row = score_answer(q, answer, dataset, first, total)
        row.llm = getattr(generator, "last_stats", None)
        results.append(row)
        if not answer.abstained:
            statements.extend(answer.statements)
        verdict = "abstained" if row.abstained else ("hit" if row.sentence_hit else "miss")
        progress.note(f"{i}/{len(questions)} {q.id}: {verdict}, {total:.1f} s")
    settings = {name: getattr(config, name) for name in SETTINGS}
    index = config.index_dir
    return AnswerReport(
        dataset=dataset, answerer=config.llm or "extractive", model=config.llm_model if config.llm else "",
        index=str(index.relative_to(PROJECT_ROOT)) if index.is_relative_to(PROJECT_ROOT) else str(index),
        documents=status.documents, chunks=status.chunks, limit=limit, settings=settings,
        summary=summarise(results, statements), llm_load_seconds=load_seconds, llm_prime_seconds=prime_seconds,
        seconds=time.perf_counter() - started, results=results,
        load_average=f"{load_at_start} at the start, {_load_average()} at the end")


def _load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def run(dataset: str, config: Config, *, limit: int | None = None, progress: Progress | None = None) -> AnswerReport:
    """Open (or build) the dataset's index with :func:`bench.retrieval.open_index`,
    then :func:`evaluate` the first ``limit`` questions (all when None)."""
    from bench.embed_cache import CachedEmbedder
    from rag.engine import Engine
    from rag.models.embedder import Embedder

    progress = progress or Progress(quiet=True)
    evalset, questions = load_dataset(dataset, limit)
    # The cache only saves re-embedding while building; answering uses the
    # engine's own embedder, so the latencies are the ones a user sees.
    builder = CachedEmbedder(Embedder.from_config(config), CACHE_FILE)
    _, folder = open_index(dataset, evalset, config, builder, progress)
    engine = Engine(config.replace(index_dir=folder))
    return evaluate(dataset, questions, engine, limit=limit, progress=progress)


# --- output --------------------------------------------------------------------


def format_report(report: AnswerReport) -> str:
    """One Markdown table row under its header (rows of several runs stack
    into one table), then what was run."""
    s = report.summary

    def pair(a: float | None, b: float | None) -> str:
        return "–" if a is None or b is None else f"{a:.3f} / {b:.3f}"

    answerer = report.answerer if not report.model else f"{report.answerer} ({report.model})"
    questions = f"{s.questions}" + (f" ({s.unanswerable} unanswerable)" if s.unanswerable else "")
    missed = f"{s.missed_abstentions} / {s.unanswerable}" if s.unanswerable else "–"
    header = ("| dataset | answerer | questions | sentence hit | short given | short EM / F1 "
              "| short-or-first-sentence EM / F1 | citation precision | citation coverage | wrong abstentions "
              "| missed abstentions | first update p50 / p95 (s) | full answer p50 / p95 (s) |")
    rule = "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    row = (f"| {report.dataset} | {answerer} | {questions} | {s.sentence_hit_rate:.3f} | {s.short_answer_rate:.3f} "
           f"| {pair(s.em, s.f1)} | {pair(s.em_fallback, s.f1_fallback)} | {s.citation_precision:.3f} "
           f"| {s.citation_coverage:.3f} | {s.wrong_abstentions} / {s.answerable} | {missed} "
           f"| {s.first_update.p50:.2f} / {s.first_update.p95:.2f} | {s.full_answer.p50:.2f} / {s.full_answer.p95:.2f} |")
    notes = [f"passage retrieved for {s.retrieved} of {s.answerable} answerable questions: sentence hit "
             f"{s.hit_when_retrieved:.3f} of those, {s.wrong_abstentions_when_retrieved} wrong abstentions among them",
             f"fact questions (a short span answers them): {s.fact_questions}, "
             f"short EM / F1 {pair(s.fact_em, s.fact_f1)}",
             f"index: {report.index} ({report.documents} documents, {report.chunks} chunks)"
             + (f"; first {report.limit} questions" if report.limit else ""),
             "settings: " + ", ".join(f"{k}={v}" for k, v in report.settings.items()),
             f"{report.seconds:.0f} s in all, {s.full_answer.mean:.2f} s per answer on average"
             + (f"; LLM loaded in {report.llm_load_seconds:.1f} s" if report.llm_load_seconds else "")
             + (f", its fixed rules evaluated in {report.llm_prime_seconds:.1f} s" if report.llm_prime_seconds else "")]
    if s.llm_decode_tokens_per_second is not None:
        notes.append(f"LLM: prompt {s.llm_prompt_tokens_p50:.0f} tokens (p50), processed at "
                     f"{s.llm_prompt_tokens_per_second:.1f} tokens/s (prefix reused from the previous prompt "
                     f"not counted); writes {s.llm_decode_tokens_per_second:.1f} tokens/s; the first question's "
                     f"first update after {report.results[0].first_update_s:.2f} s")
    notes.append("CPU: " + read_cpu_info().describe() + f"; load average {report.load_average}")
    return "\n".join([header, rule, row, "", *notes])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.answers", description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", required=True, choices=DATASETS)
    parser.add_argument("--limit", type=int, default=None, metavar="N", help="only the first N questions")
    parser.add_argument("--llm", default=None, metavar="PATH|URL",
                        help="answer with an LLM: a model folder, a .gguf file, or an OpenAI-compatible server URL")
    parser.add_argument("--model", default=None, metavar="NAME", help="model name for an OpenAI-compatible server")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    Config.add_arguments(parser, names=["embedder", "top_k", "abstain_threshold", "answer_type_check",
                                        "llm_max_new_tokens", "llm_excerpts", "llm_excerpt_chars", "llm_threads"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    config = Config.from_args(args)
    if args.llm is not None:
        config = config.replace(llm=args.llm, llm_model=args.model or config.llm_model)
    report = run(args.dataset, config, limit=args.limit, progress=Progress(quiet=args.quiet))
    print(json.dumps(report.to_json(), ensure_ascii=False, indent=1) if args.json else format_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
