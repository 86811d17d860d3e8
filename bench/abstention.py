"""Calibrating "the documents do not answer this": the abstention threshold.

    python -m bench.abstention                       # CMRC trial (first 300) + seed set
    python -m bench.abstention --cmrc cmrc2018-dev --limit 500 --json

The answer module abstains when its confidence, :func:`rag.answer.evidence.evidence_score`
(the best evidence of any sentence of the retrieved passages), is below
``Config.abstain_threshold``. This computes that same confidence, through the
same retrieval (:class:`rag.retrieve.Retriever` with the configured fusion
and rerank), for

- answerable questions asked of their own corpus: the seed questions that
  have evidence (the essay) and the first ``--limit`` CMRC questions (their
  split's paragraphs);
- unanswerable questions: the seed set's unanswerable ones; questions on
  the essay's own topic that it does not answer (``bench/data/
  essay_unanswerable.jsonl``, written for this calibration: "how many party
  members does the city have?" is the hard kind); and the same CMRC
  questions asked of the essay, which answers none of them (the easy kind);

and, calibrated apart (``abstain_threshold_crosslingual``), cross-lingual
pairs: the English ``cmrc2018-trial-en`` questions asked of the trial corpus
(answerable) and of the essay (unanswerable);

then sweeps the threshold and prints, for each, the rate of *wrong*
abstentions (answerable, confidence below it) and of *missed* abstentions
(unanswerable, confidence at or above it), and proposes the threshold with
the least sum of the two rates (the middle of the best run when several tie).
Each row also gives both rates with the answer-type check on (the answer
also abstains when the question asks for a number or a date that none of
the sentences it would quote holds: :mod:`rag.answer.expected`), whatever
``answer_type_check`` is set to.

Indexes and vectors are shared with :mod:`bench.retrieval` (same folders,
same cache); the sentence vectors the answer module computes at query time
are cached there too, so a second run takes seconds.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Sequence

import numpy as np

from bench.datasets import EvalQuestion, EvalSet
from bench.retrieval import CACHE_FILE, Progress, load_dataset, open_index
from rag.config import PROJECT_ROOT, Config

log = logging.getLogger(__name__)

ESSAY = "seed-dev"
CROSSLINGUAL = "cmrc2018-trial-en"
ON_TOPIC_UNANSWERABLE = PROJECT_ROOT / "bench" / "data" / "essay_unanswerable.jsonl"


@dataclass(frozen=True)
class Confidence:
    """One question's confidence, asked of one corpus."""

    id: str
    question: str
    corpus: str          # the set: the dataset whose corpus was searched, or "<questions> asked of <corpus>"
    answerable: bool
    confidence: float
    missing: str | None = None   # "number"/"date": asked for, and in none of the sentences the answer would quote
    crosslingual: bool = False   # the best sentence is in another script than the question (its own threshold)


@dataclass(frozen=True)
class ThresholdErrors:
    """The two error rates at one threshold (abstain when confidence < threshold)."""

    threshold: float
    wrong_abstentions: float     # share of answerable questions abstained on
    missed_abstentions: float    # share of unanswerable questions answered
    wrong: int
    missed: int

    @property
    def total(self) -> float:
        return self.wrong_abstentions + self.missed_abstentions


@dataclass
class AbstentionReport:
    """The sweep, the proposed threshold and the configured one; the same
    with the answer-type check (empty/None when not measured)."""

    answerable: int
    unanswerable: int
    sweep: list[ThresholdErrors]
    proposed: ThresholdErrors
    configured: ThresholdErrors
    sources: dict[str, int]          # questions per "set: answerable|unanswerable"
    errors_by_source: dict[str, dict[str, int]]   # set -> {"proposed": errors, "configured": errors, "checked": ...}
    seconds: float
    checked: list[ThresholdErrors] = field(default_factory=list)   # the sweep with the answer-type check
    configured_checked: ThresholdErrors | None = None
    # Cross-lingual pairs alone, swept over abstain_threshold_crosslingual (the sweeps above hold it fixed).
    crosslingual_sweep: list[ThresholdErrors] = field(default_factory=list)
    crosslingual_proposed: ThresholdErrors | None = None
    crosslingual_configured: ThresholdErrors | None = None

    def to_json(self) -> dict:
        return asdict(self)


# --- threshold logic -------------------------------------------------------------


def abstains(c: Confidence, threshold: float, type_check: bool = False, crosslingual: float | None = None) -> bool:
    """Whether the answer module abstains on ``c``: its confidence is below
    ``threshold`` (``crosslingual``, when given, for a cross-lingual pair)
    or, with ``type_check``, the number or date asked for is missing from
    what it would quote."""
    limit = crosslingual if c.crosslingual and crosslingual is not None else threshold
    return c.confidence < limit or (type_check and c.missing is not None)


def errors_at(confidences: Sequence[Confidence], threshold: float, type_check: bool = False,
              crosslingual: float | None = None) -> ThresholdErrors:
    """Wrong and missed abstentions if the answer module abstained below
    ``threshold`` (``crosslingual`` for cross-lingual pairs, when given;
    and, with ``type_check``, when the form asked for is missing)."""
    answerable = [c for c in confidences if c.answerable]
    unanswerable = [c for c in confidences if not c.answerable]
    wrong = sum(1 for c in answerable if abstains(c, threshold, type_check, crosslingual))
    missed = sum(1 for c in unanswerable if not abstains(c, threshold, type_check, crosslingual))
    return ThresholdErrors(round(float(threshold), 6), wrong / len(answerable) if answerable else 0.0,
                           missed / len(unanswerable) if unanswerable else 0.0, wrong, missed)


def sweep(confidences: Sequence[Confidence], thresholds: Sequence[float],
          type_check: bool = False, crosslingual: float | None = None) -> list[ThresholdErrors]:
    """:func:`errors_at` for every threshold, in the order given."""
    return [errors_at(confidences, t, type_check, crosslingual) for t in thresholds]


def propose(rows: Sequence[ThresholdErrors]) -> ThresholdErrors:
    """The threshold with the least sum of the two error rates. Rows tying
    for least that lie next to each other form a run; of the longest run, the
    middle row (its widest margin on both sides) is proposed."""
    if not rows:
        raise ValueError("no thresholds to choose from")
    best = min(r.total for r in rows)
    runs: list[list[ThresholdErrors]] = []
    previous_best = False
    for r in rows:
        is_best = np.isclose(r.total, best)
        if is_best and previous_best:
            runs[-1].append(r)
        elif is_best:
            runs.append([r])
        previous_best = bool(is_best)
    longest = max(runs, key=len)
    return longest[len(longest) // 2]


def thresholds_between(low: float, high: float, step: float) -> list[float]:
    """``low, low + step, ..., high`` without float drift."""
    count = int(round((high - low) / step))
    return [round(low + i * step, 6) for i in range(count + 1)]


# --- measuring -------------------------------------------------------------------


def confidences(evalset: EvalSet, questions: Sequence[EvalQuestion], corpus: str, config: Config, embedder,
                progress: Progress, answerable: bool | None = None, source: str | None = None) -> list[Confidence]:
    """The answer module's confidence for each question asked of
    ``evalset``'s corpus, and the form asked for that its quotes would lack
    (:func:`rag.answer.compose.assess`). ``answerable``: force the label (questions
    of another corpus); None: a question is answerable when it names a
    document. ``source`` names the set in the report (default: ``corpus``)."""
    from rag.answer.compose import assess
    from rag.answer.evidence import SentenceVectors
    from rag.retrieve.retriever import Retriever

    store, _ = open_index(corpus, evalset, config, embedder, progress)
    retriever = Retriever(store, embedder, config)
    vectors = embedder.embed_queries([q.question for q in questions])
    sentence_vectors = SentenceVectors(config.sentence_cache)   # passages recur across questions
    out = []
    tick = progress.counter(f"confidence of {len(questions)} questions on {corpus}")
    for i, q in enumerate(questions):
        hits = retriever.search(q.question, config.top_k, query_vector=vectors[i])
        evidence = assess(q.question, hits, embedder, config, documents_text=lambda path: store.documents[path].text,
                          vectors=sentence_vectors, store=store, query_vector=vectors[i])
        label = bool(q.doc) if answerable is None else answerable
        missing = evidence.missing.value if evidence.missing is not None else None
        out.append(Confidence(q.id, q.question, source or corpus, label, float(evidence.score), missing,
                              evidence.crosslingual))
        if (i + 1) % 50 == 0 or i + 1 == len(questions):
            tick(i + 1, len(questions))
    return out


def run(config: Config, *, cmrc: str = "cmrc2018-trial", limit: int = 300, low: float = 0.7, high: float = 1.3,
        step: float = 0.01, embedder=None, progress: Progress | None = None) -> tuple[AbstentionReport, list[Confidence]]:
    """Collect the confidences and sweep the threshold (see the module docstring)."""
    from bench.embed_cache import CachedEmbedder
    from rag.models.embedder import Embedder

    started = time.perf_counter()
    progress = progress or Progress(quiet=True)
    embedder = embedder or CachedEmbedder(Embedder.from_config(config), CACHE_FILE)
    essay, seed_questions = load_dataset(ESSAY)
    cmrc_set, cmrc_questions = load_dataset(cmrc, limit=limit)
    cmrc_questions = [q for q in cmrc_questions if q.doc]

    on_topic = [EvalQuestion(r["id"], r["q"], "unanswerable", (), (), None, (), ())
                for r in map(json.loads, ON_TOPIC_UNANSWERABLE.read_text("utf-8").splitlines()) if r]

    found = confidences(essay, seed_questions, ESSAY, config, embedder, progress)
    found += confidences(essay, on_topic, ESSAY, config, embedder, progress, source=f"{ESSAY} on-topic")
    found += confidences(cmrc_set, cmrc_questions, cmrc, config, embedder, progress)
    found += confidences(essay, cmrc_questions, ESSAY, config, embedder, progress, answerable=False,
                         source=f"{cmrc} asked of {ESSAY}")
    # Cross-lingual pairs, calibrated apart: English questions of the CMRC
    # trial corpus, answerable there and asked of the essay, which answers none.
    english_set, english = load_dataset(CROSSLINGUAL)
    found += confidences(english_set, english, CROSSLINGUAL, config, embedder, progress)
    found += confidences(essay, english, ESSAY, config, embedder, progress, answerable=False,
                         source=f"{CROSSLINGUAL} asked of {ESSAY}")

    thresholds = thresholds_between(low, high, step)
    crosslingual = config.abstain_threshold_crosslingual
    rows = sweep(found, thresholds, crosslingual=crosslingual)
    proposed = propose(rows)
    pairs = [c for c in found if c.crosslingual]
    pair_rows = sweep(pairs, thresholds)
    report = AbstentionReport(answerable=sum(c.answerable for c in found),
                              unanswerable=sum(not c.answerable for c in found), sweep=rows,
                              proposed=proposed, configured=errors_at(found, config.abstain_threshold,
                                                                      crosslingual=crosslingual),
                              sources={}, errors_by_source={}, seconds=time.perf_counter() - started,
                              checked=sweep(found, thresholds, type_check=True, crosslingual=crosslingual),
                              configured_checked=errors_at(found, config.abstain_threshold, type_check=True,
                                                           crosslingual=crosslingual),
                              crosslingual_sweep=pair_rows,
                              crosslingual_proposed=propose(pair_rows) if pairs else None,
                              crosslingual_configured=errors_at(pairs, crosslingual) if pairs else None)
    for c in found:
        key = f"{c.corpus}: {'answerable' if c.answerable else 'unanswerable'}"
        report.sources[key] = report.sources.get(key, 0) + 1
        errors = report.errors_by_source.setdefault(key, {"proposed": 0, "configured": 0, "checked": 0})
        for name, threshold, type_check in (("proposed", proposed.threshold, False),
                                            ("configured", config.abstain_threshold, False),
                                            ("checked", config.abstain_threshold, True)):
            errors[name] += abstains(c, threshold, type_check, crosslingual) == c.answerable
    return report, found


def format_report(report: AbstentionReport, every: float = 0.05) -> str:
    """The sweep (every ``every``, plus the proposed and configured
    thresholds) as a Markdown table; with the answer-type check measured,
    its errors in three more columns and one more per-set column."""
    marks = {report.proposed.threshold: "proposed", report.configured.threshold: "configured"}
    if report.proposed.threshold == report.configured.threshold:
        marks[report.proposed.threshold] = "proposed = configured"
    shown = [r for r in report.sweep if abs(r.threshold / every - round(r.threshold / every)) < 1e-6]
    shown = sorted({r.threshold: r for r in shown + [report.proposed, report.configured]}.values(),
                   key=lambda r: r.threshold)
    checked = {r.threshold: r for r in report.checked}
    if report.configured_checked is not None:
        checked[report.configured_checked.threshold] = report.configured_checked

    def cells(r: ThresholdErrors) -> str:
        return f"{r.wrong_abstentions:.3f} ({r.wrong}) | {r.missed_abstentions:.3f} ({r.missed}) | {r.total:.3f}"

    extra = " | wrong, with the answer-type check | missed, with the check | sum, with the check" if checked else ""
    lines = [f"{report.answerable} answerable, {report.unanswerable} unanswerable questions: "
             + ", ".join(f"{k} {v}" for k, v in report.sources.items()), "",
             f"| threshold | wrong abstentions (answerable) | missed abstentions (unanswerable) | sum{extra} |",
             "|---:|---:|---:|---:|" + ("---:|---:|---:|" if checked else "")]
    for r in shown:
        mark = f" ({marks[r.threshold]})" if r.threshold in marks else ""
        with_check = ""
        if checked:
            with_check = " | " + (cells(checked[r.threshold]) if r.threshold in checked else "– | – | –")
        lines.append(f"| {r.threshold:.2f}{mark} | {cells(r)}{with_check} |")
    extra = " | at the configured one, with the answer-type check" if checked else ""
    lines += ["", f"| set | questions | errors at the proposed threshold | at the configured one{extra} |",
              "|---|---:|---:|---:|" + ("---:|" if checked else "")]
    for key, n in report.sources.items():
        errors = report.errors_by_source.get(key, {})
        with_check = f" | {errors.get('checked', 0)}" if checked else ""
        lines.append(f"| {key} | {n} | {errors.get('proposed', 0)} | {errors.get('configured', 0)}{with_check} |")
    lines += ["", f"proposed abstain_threshold = {report.proposed.threshold:.2f} "
              f"(configured {report.configured.threshold:.2f}); {report.seconds:.0f} s"]
    if report.crosslingual_proposed is not None:
        pairs = report.crosslingual_sweep
        shown = [r for r in pairs if abs(r.threshold / every - round(r.threshold / every)) < 1e-6]
        shown = sorted({r.threshold: r for r in shown + [report.crosslingual_proposed,
                                                          report.crosslingual_configured]}.values(),
                       key=lambda r: r.threshold)
        lines += ["", "Cross-lingual pairs alone (the best sentence in another script than the question):", "",
                  "| crosslingual threshold | wrong abstentions | missed abstentions | sum |", "|---:|---:|---:|---:|"]
        lines += [f"| {r.threshold:.2f} | {cells(r)} |" for r in shown]
        lines += ["", f"proposed abstain_threshold_crosslingual = {report.crosslingual_proposed.threshold:.2f} "
                  f"(configured {report.crosslingual_configured.threshold:.2f})"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.abstention", description=__doc__.split("\n")[0])
    parser.add_argument("--cmrc", default="cmrc2018-trial", choices=["cmrc2018-trial", "cmrc2018-dev"],
                        help="the CMRC split whose questions are asked (of their corpus, and of the essay)")
    parser.add_argument("--limit", type=int, default=300, metavar="N", help="the first N CMRC questions")
    parser.add_argument("--low", type=float, default=0.7)
    parser.add_argument("--high", type=float, default=1.3)
    parser.add_argument("--step", type=float, default=0.01)
    parser.add_argument("--json", action="store_true", help="print the report (and every confidence) as JSON")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    Config.add_arguments(parser, names=["embedder", "chunk_size", "chunk_overlap", "top_k", "fusion", "rerank",
                                        "abstain_threshold", "abstain_threshold_crosslingual",
                                        "answer_lexical_weight"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    config = Config.from_args(args)
    report, found = run(config, cmrc=args.cmrc, limit=args.limit, low=args.low, high=args.high, step=args.step,
                        progress=Progress(quiet=args.quiet))
    if args.json:
        print(json.dumps({**report.to_json(), "confidences": [asdict(c) for c in found]}, ensure_ascii=False,
                         indent=1))
    else:
        print(format_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
