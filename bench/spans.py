"""Fit (and measure) the short-answer span ranker of :mod:`rag.answer.spans`.

    python -m bench.spans --dataset cmrc2018-trial --fit        # refit rag/answer/span_weights.json
    python -m bench.spans --dataset cmrc2018-trial              # 5-fold cross-validated EM/F1, no write
    python -m bench.spans --dataset cmrc2018-dev --evaluate     # the stored weights on another set
    python -m bench.spans --dataset cmrc2018-trial --ablate     # each feature group left out in turn

Each question goes through the engine's retrieval and the answer's unit
scoring (:func:`rag.answer.evidence.score_units`); the units a short answer
draws from (:func:`rag.answer.compose.span_units`) give the candidate spans.
A span is labelled positive when its CMRC F1 with the gold answers is the
best any candidate of its question reaches (and above 0), and a listwise
ranker (a softmax over each question's candidates pulled towards its best
ones, L2-penalised, fitted with scipy's L-BFGS; the weights of
``NEVER_REWARDED`` features bounded at 0) is fitted on all of them.
Reported: the oracle (the best candidate's EM/F1: what a perfect ranker
would score), the rule-based extractor of :mod:`rag.answer.short` on the best
unit, and the ranker, as EM / F1 over the questions (a question whose short
answer is withheld scores 0). ``--units-cache FILE`` keeps the retrieved
units between runs.
"""

from __future__ import annotations

import argparse
import json
import pickle
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.datasets import cmrc_em, cmrc_f1
from bench.retrieval import CACHE_FILE, DATASETS, Progress, load_dataset, open_index
from rag.answer.spans import WEIGHTS_FILE, UnitContext, candidate_spans, feature_names
from rag.config import Config
from rag.models.cpu import read_cpu_info

# Feature groups for --ablate: a name prefix each.
GROUPS = {
    "type": ("target=", "class="),
    "alignment": ("left_", "right_", "subject_after", "head_"),
    "proximity": ("near_terms", "nearest_term"),
    "novelty": ("repeats_question", "inside_question"),
    "shape": ("first=", "last=", "length", "log_length", "one_char", "words_", "clause_", "whole_clause",
              "after_copula", "before_de", "quoted", "cuts_measure"),
    "sentence": ("evidence", "lexical", "unit_rank"),
}


# Features whose weight may not be positive, whatever the fit says: an answer
# says what the question does not. (Trial's gold answers are often whole
# sentences that restate the question, and an unbounded fit learns to reward
# repeating it.)
NEVER_REWARDED = frozenset({"repeats_question", "inside_question"})


@dataclass
class QuestionUnits:
    """A question, its gold answers, and the units its short answer draws from."""

    question: str
    answers: list[str]
    units: list[UnitContext]
    short_eligible: bool


def collect(dataset: str, config: Config, limit: int | None, progress: Progress) -> list[QuestionUnits]:
    """Retrieve and score units for every question, as the engine does."""
    from bench.embed_cache import CachedEmbedder
    from lang.questions import is_fact_question
    from rag.answer.compose import span_units
    from rag.answer.evidence import SentenceVectors, score_units
    from rag.engine import Engine
    from rag.models.embedder import Embedder

    evalset, questions = load_dataset(dataset, limit)
    builder = CachedEmbedder(Embedder.from_config(config), CACHE_FILE)
    _, folder = open_index(dataset, evalset, config, builder, progress)
    engine = Engine(config.replace(index_dir=folder))
    retriever = engine.retriever()
    vectors = SentenceVectors(config.sentence_cache)
    out = []
    for i, q in enumerate(questions, 1):
        query_vector = retriever.embedder.embed_queries([q.question])[0]
        hits = retriever.search(q.question, query_vector=query_vector)
        scored = score_units(q.question, hits, retriever.embedder, config, vectors=vectors, store=retriever.store,
                             query_vector=query_vector)
        units = [UnitContext(s.unit.text, s.evidence, s.lexical) for s in span_units(scored, config)]
        out.append(QuestionUnits(q.question, [a for a in q.answers if a.strip()], units,
                                 is_fact_question(q.question)))
        if i % 100 == 0:
            progress.note(f"{i}/{len(questions)} questions retrieved")
    return out


@dataclass
class Matrix:
    """Candidates of all questions: features X, labels y, each row's F1/EM
    and question index."""

    X: np.ndarray
    y: np.ndarray
    f1: np.ndarray
    em: np.ndarray
    question: np.ndarray
    texts: list[str]


def candidates_matrix(rows: list[QuestionUnits], max_gold_chars: int | None = None) -> Matrix:
    """Every candidate of every question. With ``max_gold_chars``, a question
    whose shortest gold answer is longer (a whole sentence, as many trial
    answers are) gets no positive label: it cannot teach what a short answer is."""
    X, y, f1s, ems, qid, texts = [], [], [], [], [], []
    for i, r in enumerate(rows):
        spans = candidate_spans(r.question, r.units) if r.units else []
        if not spans or not r.answers:
            continue
        f1 = np.asarray([cmrc_f1(s.text, r.answers) for s in spans])
        em = np.asarray([cmrc_em(s.text, r.answers) for s in spans])
        best = f1.max()
        teaches = max_gold_chars is None or min(len(a) for a in r.answers) <= max_gold_chars
        X.append(np.stack([s.features for s in spans]))
        y.append((f1 >= best) & (best > 0) & teaches)
        f1s.append(f1)
        ems.append(em)
        qid.append(np.full(len(spans), i))
        texts += [s.text for s in spans]
    return Matrix(np.concatenate(X), np.concatenate(y), np.concatenate(f1s), np.concatenate(ems),
                  np.concatenate(qid), texts)


def fit(m: "Matrix", rows: np.ndarray, c: float = 1.0) -> np.ndarray:
    """Weights of a listwise ranker fitted on the candidates ``rows`` of
    ``m``: per question, the softmax of the candidates' scores is pulled
    towards the candidates with the best F1 (cross-entropy), with an L2
    penalty of 1/(2c) on the weights; fitted with L-BFGS (scipy)."""
    from scipy.optimize import minimize

    X, question = m.X[rows], m.question[rows]
    order = np.argsort(question, kind="stable")
    X, question, target = X[order], question[order], m.y[rows][order].astype(np.float64)
    starts = np.flatnonzero(np.r_[True, question[1:] != question[:-1]])
    sizes = np.diff(np.r_[starts, len(question)])
    totals = np.add.reduceat(target, starts)
    keep = np.repeat(totals > 0, sizes)            # questions no candidate answers teach nothing
    X, target, question = X[keep], target[keep], question[keep]
    starts = np.flatnonzero(np.r_[True, question[1:] != question[:-1]])
    sizes = np.diff(np.r_[starts, len(question)])
    target = target / np.repeat(np.add.reduceat(target, starts), sizes)
    X64 = X.astype(np.float64)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = X64 @ w
        zmax = np.repeat(np.maximum.reduceat(z, starts), sizes)
        e = np.exp(z - zmax)
        denom = np.add.reduceat(e, starts)
        p = e / np.repeat(denom, sizes)
        logp = z - zmax - np.repeat(np.log(denom), sizes)
        value = -(target * logp).sum() + 0.5 / c * (w @ w)
        grad = X64.T @ (p - target) + w / c
        return value, grad

    names = feature_names()
    bounds = [(None, 0.0) if name in NEVER_REWARDED else (None, None) for name in names]
    result = minimize(loss, np.zeros(X.shape[1]), jac=True, method="L-BFGS-B", bounds=bounds,
                      options={"maxiter": 500})
    return result.x.astype(np.float32)


def picked(m: Matrix, scores: np.ndarray, questions: np.ndarray) -> tuple[float, float]:
    """Summed EM and F1 of the top-scoring candidate of each question in ``questions``."""
    em = f1 = 0.0
    for q in questions:
        rows = np.flatnonzero(m.question == q)
        best = rows[int(scores[rows].argmax())]
        em += m.em[best]
        f1 += m.f1[best]
    return em, f1


def cross_validate(m: Matrix, folds: int = 5, mask: np.ndarray | None = None, c: float = 1.0) -> tuple[float, float]:
    """Summed EM and F1 over the questions, each scored by weights fitted on the other folds."""
    qs = np.unique(m.question)
    X = m.X if mask is None else m.X * mask
    em = f1 = 0.0
    for k in range(folds):
        test = qs[k::folds]
        train = np.flatnonzero(~np.isin(m.question, test))
        w = fit(Matrix(X, m.y, m.f1, m.em, m.question, m.texts), train, c)
        e, f = picked(m, X @ w, test)
        em += e
        f1 += f
    return em, f1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.spans", description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="cmrc2018-trial", choices=DATASETS)
    parser.add_argument("--limit", type=int, default=None, metavar="N")
    parser.add_argument("--fit", action="store_true", help=f"fit on all questions and write {WEIGHTS_FILE.name}")
    parser.add_argument("--evaluate", action="store_true", help="score the stored weights (no fitting)")
    parser.add_argument("--ablate", action="store_true", help="cross-validate with each feature group left out")
    parser.add_argument("--c", type=float, default=10.0, help="inverse L2 strength of the regression")
    parser.add_argument("--max-gold-chars", type=int, default=20, metavar="N",
                        help="fit only on questions with a gold answer of at most N characters (0: all)")
    parser.add_argument("--units-cache", type=Path, default=None, metavar="FILE")
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    progress = Progress(quiet=args.quiet)
    config = Config.from_env()
    started = time.perf_counter()
    if args.units_cache and args.units_cache.exists():
        rows = pickle.loads(args.units_cache.read_bytes())
    else:
        rows = collect(args.dataset, config, args.limit, progress)
        if args.units_cache:
            args.units_cache.write_bytes(pickle.dumps(rows))
    print(f"CPU: {read_cpu_info().describe()}")
    m = candidates_matrix(rows, args.max_gold_chars or None)
    n = len(rows)
    names = feature_names()
    oracle_f1 = sum(m.f1[m.question == q].max() for q in np.unique(m.question)) / n
    oracle_em = sum(m.em[m.question == q].max() for q in np.unique(m.question)) / n
    print(f"{args.dataset}: {n} questions, {len(m.y)} candidate spans ({len(m.y) / n:.0f} per question)")
    print(f"oracle (best candidate)      EM {oracle_em:.3f}  F1 {oracle_f1:.3f}")
    from rag.answer.short import extract_short_answer
    rule_em = sum(cmrc_em(extract_short_answer(r.question, r.units[0].text) or "", r.answers)
                  for r in rows if r.units and r.answers) / n
    rule_f1 = sum(cmrc_f1(extract_short_answer(r.question, r.units[0].text) or "", r.answers)
                  for r in rows if r.units and r.answers) / n
    print(f"rules (rag.answer.short)     EM {rule_em:.3f}  F1 {rule_f1:.3f}")
    if args.evaluate:
        from rag.answer.spans import load_weights
        w = load_weights()
        if w is None:
            print(f"no usable weights in {WEIGHTS_FILE}", file=sys.stderr)
            return 1
        em, f1 = picked(m, m.X @ w, np.unique(m.question))
        print(f"ranker (stored weights)      EM {em / n:.3f}  F1 {f1 / n:.3f}")
    else:
        em, f1 = cross_validate(m, c=args.c)
        print(f"ranker (5-fold CV, C={args.c})   EM {em / n:.3f}  F1 {f1 / n:.3f}")
    if args.ablate:
        print("| features | CV EM | CV F1 |\n|---|---:|---:|")
        print(f"| all | {em / n:.3f} | {f1 / n:.3f} |")
        for group, prefixes in GROUPS.items():
            mask = np.asarray([0.0 if n_.startswith(prefixes) else 1.0 for n_ in names], dtype=np.float32)
            e, f = cross_validate(m, mask=mask, c=args.c)
            print(f"| without {group} | {e / n:.3f} | {f / n:.3f} |")
    if args.fit:
        w = fit(m, np.arange(len(m.y)), args.c)
        payload = {"fitted_on": args.dataset, "questions": n, "C": args.c, "max_gold_chars": args.max_gold_chars,
                   "weights": {name: round(float(v), 5) for name, v in zip(names, w)}}
        WEIGHTS_FILE.write_text(json.dumps(payload, ensure_ascii=False, indent=1) + "\n", "utf-8")
        print(f"wrote {WEIGHTS_FILE}")
    print(f"{time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
