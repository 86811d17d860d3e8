"""Evaluation data: CMRC 2018 and the seed questions, as typed records, with
their official scoring rules.

- :func:`load_cmrc` turns each CMRC 2018 paragraph into a :class:`Document`
  (the corpus) and each question into an :class:`EvalQuestion` whose ``doc``
  is its own paragraph: the retrieval label.
- :func:`load_seed_dev` reads the seed questions on the bundled essay.
- :func:`evidence_match` is the seed set's rule for "this passage answers it".
- :func:`cmrc_em` and :func:`cmrc_f1` reproduce the official CMRC 2018
  evaluation script (``cmrc2018_evaluate.py``), per question, on a 0..1 scale.

The data lives outside the project, in ``../shared/data`` (``RAG_SHARED_DATA``
overrides it).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from ingest.records import Document
from lang.scripts import UNICODE_1_IDEOGRAPHS
from rag.config import PROJECT_ROOT

log = logging.getLogger(__name__)

CMRC_SPLITS = ("dev", "trial")


def shared_data_dir() -> Path:
    """Where the evaluation data lives: ``$RAG_SHARED_DATA`` or ``../shared/data``."""
    return Path(os.environ.get("RAG_SHARED_DATA") or PROJECT_ROOT.parent / "shared" / "data")


@dataclass(frozen=True)
class EvalQuestion:
    """One evaluation question.

    ``evidence``: strings of the corpus; a passage containing any of them (see
    :func:`evidence_match`) answers the question. For CMRC these are the gold
    answers found verbatim in the paragraph: short, so match them only within
    ``doc``. ``answers``: the gold answers as given (CMRC: up to 3 annotators,
    repeats kept). ``doc``: path of the document that answers it (None for
    unanswerable questions). ``answer_starts[i]`` is the character offset of
    ``answers[i]`` in ``doc``'s text, or -1 when that answer is not verbatim in
    it. ``keys``: words a correct answer contains (any one of them).
    """

    id: str
    question: str
    type: str
    evidence: tuple[str, ...]
    answers: tuple[str, ...]
    doc: str | None
    answer_starts: tuple[int, ...]
    keys: tuple[str, ...]


@dataclass
class EvalSet:
    """A corpus and the questions asked of it."""

    name: str
    documents: list[Document]
    questions: list[EvalQuestion]


# --- CMRC 2018 ---------------------------------------------------------------


def load_cmrc(split: str) -> EvalSet:
    """CMRC 2018 ``split`` ("dev": 848 paragraphs / 3219 questions, "trial":
    256 / 1002): every paragraph a document, every question labelled with it.

    The files' ``answer_start`` is off by one or two characters for a few
    answers (dev: 7, trial: 5); those are re-anchored on the nearest verbatim
    occurrence. Answers that are not verbatim in the paragraph at all
    (alternative annotator answers, dev: 193) get offset -1.
    """
    if split not in CMRC_SPLITS:
        raise ValueError(f"unknown CMRC 2018 split {split!r}: use one of {', '.join(CMRC_SPLITS)}")
    name = f"cmrc2018-{split}"
    path = shared_data_dir() / "cmrc2018" / f"cmrc2018_{split}.json"
    data = json.loads(path.read_text(encoding="utf-8"))

    documents: list[Document] = []
    questions: list[EvalQuestion] = []
    repaired = missing = 0
    for article in data["data"]:
        for paragraph in article["paragraphs"]:
            context: str = paragraph["context"]
            pid = str(paragraph["id"])
            doc_path = f"{name}/{pid}.txt"
            raw = context.encode("utf-8")
            documents.append(Document(
                path=doc_path,
                title=(article.get("title") or "").strip() or pid,
                text=context,
                format="txt",
                sha256=hashlib.sha256(raw).hexdigest(),
                size=len(raw),
                metadata={"dataset": name, "id": pid},
            ))
            for qa in paragraph["qas"]:
                answers = tuple(a["text"] for a in qa["answers"])
                starts = []
                for a in qa["answers"]:
                    start = answer_offset(context, a["text"], int(a["answer_start"]))
                    repaired += start not in (-1, a["answer_start"])
                    missing += start == -1
                    starts.append(start)
                verbatim = tuple(dict.fromkeys(t for t, s in zip(answers, starts) if s >= 0))
                questions.append(EvalQuestion(
                    id=str(qa["id"]),
                    question=qa["question"],
                    type="fact",
                    evidence=verbatim,
                    answers=answers,
                    doc=doc_path,
                    answer_starts=tuple(starts),
                    keys=tuple(dict.fromkeys(answers)),
                ))
    log.info("%s: %d paragraphs, %d questions; %d answer offsets re-anchored, %d answers not verbatim",
             name, len(documents), len(questions), repaired, missing)
    return EvalSet(name, documents, questions)


def answer_offset(context: str, answer: str, start: int) -> int:
    """Where ``answer`` is in ``context``: ``start`` when it is there, else the
    nearest verbatim occurrence, else -1."""
    if not answer:
        return -1
    if context[start:start + len(answer)] == answer:
        return start
    found = [m.start() for m in re.finditer(f"(?={re.escape(answer)})", context)]
    return min(found, key=lambda s: abs(s - start)) if found else -1


# --- seed questions on the bundled essay ---------------------------------------


def load_seed_dev(corpus_dir: Path | None = None) -> EvalSet:
    """The seed questions (``seed_dev_qa.jsonl``) over the bundled corpus.

    ``doc`` is the document that contains the question's evidence; None for
    unanswerable questions. The seed set gives no answer strings, only
    ``evidence`` and ``keys``.
    """
    from ingest.loaders import discover, load_document

    corpus_dir = Path(corpus_dir) if corpus_dir is not None else PROJECT_ROOT / "corpus"
    documents = [load_document(path, corpus_dir) for path in discover(corpus_dir)]
    path = shared_data_dir() / "seed_dev_qa.jsonl"
    questions = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        row = json.loads(line)
        evidence = tuple(row.get("evidence") or ())
        doc = next((d.path for d in documents if evidence and evidence_match(d.text, evidence)), None)
        if evidence and doc is None:
            log.warning("seed question %s: its evidence is in no document of %s", row["id"], corpus_dir)
        questions.append(EvalQuestion(
            id=str(row["id"]),
            question=row["q"],
            type=row["type"],
            evidence=evidence,
            answers=(),
            doc=doc,
            answer_starts=(),
            keys=tuple(row.get("keys") or ()),
        ))
    return EvalSet("seed-dev", documents, questions)


@functools.lru_cache(maxsize=4096)
def _squash(text: str) -> str:
    # Cached: an evaluation tests the same passages against many questions.
    normal = unicodedata.normalize("NFKC", text)
    return "".join(ch for ch in normal if not ch.isspace() and not unicodedata.category(ch).startswith("P"))


def evidence_match(passage: str, evidence: Sequence[str]) -> bool:
    """True when ``passage`` contains any of ``evidence``, both compared after
    Unicode NFKC with punctuation and whitespace removed (so 、 vs , and line
    breaks do not matter). Evidence that is empty after that matches nothing."""
    squashed = _squash(passage)
    return any(e and e in squashed for e in map(_squash, evidence))


# --- official CMRC 2018 scoring ------------------------------------------------

# The official script's punctuation list, per character. It also lists "……",
# which its per-character test can never match, so "…" is kept, as are ASCII
# , . ! ? ( ) " ' (not in its list).
_CMRC_PUNCT = frozenset("-:_*^/\\~`+=，。：？！“”；’《》·、「」（）－～『』")


# The official script's CJK test: the unified block up to U+9FA5 only, so a
# rarer ideograph is part of a word there, and here.
_CMRC_CJK = re.compile(f"[{UNICODE_1_IDEOGRAPHS}]")


def _is_cmrc_cjk(ch: str) -> bool:
    return _CMRC_CJK.fullmatch(ch) is not None


# nltk's word_tokenize (Treebank) approximated without nltk: numbers keep their
# separators, abbreviations their dots, contractions split as do|n't, it|'s;
# any other punctuation is its own token.
_WORD_TOKEN = re.compile(
    r"\d+(?:[.,]\d+)+"
    r"|(?:[^\W\d_]\.){2,}"
    r"|n't\b|'(?:s|m|d|re|ve|ll)\b"
    r"|\w+?(?=n't\b)|\w+"
    r"|\.\.\.|[^\w\s]",
    re.IGNORECASE,
)


def _cmrc_segments(text: str) -> list[str]:
    """The official ``mixed_segmentation(text, rm_punc=True)``: lower-case,
    drop the listed punctuation, each CJK character one token, the text
    between them split into words."""
    out: list[str] = []
    pending: list[str] = []
    for ch in str(text).lower().strip():
        if ch in _CMRC_PUNCT:
            continue   # dropped without ending a word: "ω-force" is one token "ωforce"
        if _is_cmrc_cjk(ch):
            if pending:
                out.extend(_WORD_TOKEN.findall("".join(pending)))
                pending = []
            out.append(ch)
        else:
            pending.append(ch)
    if pending:
        out.extend(_WORD_TOKEN.findall("".join(pending)))
    return out


def _cmrc_strip(text: str) -> str:
    """The official ``remove_punctuation``: lower-case, strip, drop the listed punctuation."""
    return "".join(ch for ch in str(text).lower().strip() if ch not in _CMRC_PUNCT)


def _longest_common_run(a: Sequence[str], b: Sequence[str]) -> int:
    """Length of the longest common contiguous run of tokens (substring, not
    subsequence, as in the official ``find_lcs``)."""
    best = 0
    previous = [0] * (len(b) + 1)
    for x in a:
        current = [0] * (len(b) + 1)
        for j, y in enumerate(b):
            if x == y:
                current[j + 1] = previous[j] + 1
                best = max(best, current[j + 1])
        previous = current
    return best


def cmrc_em(prediction: str, answers: Sequence[str]) -> float:
    """Official CMRC 2018 exact match: 1.0 when the prediction equals any gold
    answer after lower-casing and removing punctuation, else 0.0."""
    pred = _cmrc_strip(prediction)
    return 1.0 if any(_cmrc_strip(a) == pred for a in answers) else 0.0


def cmrc_f1(prediction: str, answers: Sequence[str]) -> float:
    """Official CMRC 2018 F1, best over the gold answers: precision and recall
    of the longest common run of tokens (CJK characters, other words)."""
    pred = _cmrc_segments(prediction)
    best = 0.0
    for answer in answers:
        gold = _cmrc_segments(answer)
        common = _longest_common_run(gold, pred)
        if common == 0:
            continue
        precision, recall = common / len(pred), common / len(gold)
        best = max(best, 2 * precision * recall / (precision + recall))
    return best
