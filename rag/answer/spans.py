"""The short answer of a fact question: candidate spans of the best
sentences, each described by a few features, ranked by a linear model.

There is no Chinese reading-comprehension model on these machines, so the
short answer is chosen the classic way (a span ranker over hand-made
features, as in the first SQuAD baselines), with its weights fitted on CMRC
2018 trial by ``python -m bench.spans`` and stored in ``span_weights.json``
beside this module. Candidates are the word sequences (jieba POS-tagged
words) of up to ``MAX_WORDS`` words inside one clause of the
``answer_span_units`` best units, plus every quoted term. A span is scored by

- **type**: what the question asks for (:func:`lang.questions.answer_target`:
  a person for 谁, a place for 哪里, a time for 何时, a number for 多少, a
  noun phrase for 什么) against what the span holds (a name, a place, an
  organisation, a numeral with its measure word, a date, a noun);
- **alignment**: the question's words just left and right of its
  question word found just left and right of the span ("提出了什么宏伟目标"
  and "…提出了[全面建设小康社会的]宏伟目标…"), or the question's subject
  just after the span ("[北京]是中国的首都" for "中国的首都是哪里");
- **proximity**: the share of the question's terms found near the span,
  and the distance to the nearest one;
- **novelty**: the share of the span that repeats the question (an answer
  says what the question does not);
- **shape**: length, the parts of speech it opens and ends with, whether it
  is a whole clause, follows 是/为, is quoted;
- **the sentence**: its evidence score and its rank among the units.

Every span is a substring of a unit the answer can cite.
"""

from __future__ import annotations

import functools
import json
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from lang.questions import Target, answer_target, find_interrogative, to_simplified
from lang.scripts import fold, is_chinese
from lang.segment import pos_tagger
from lang.terms import terms

WEIGHTS_FILE = Path(__file__).with_name("span_weights.json")
MAX_WORDS = 7           # longest candidate, in jieba words
MAX_CHARS = 40          # longest candidate, in characters
NEAR_CHARS = 12         # "near the span": question terms within this many characters count for proximity

_CLAUSE_BREAK = re.compile(r"[，。；：！？,;:!?\n（）()\[\]【】]")
_QUOTED = re.compile(r"《[^》]{1,40}》|“[^”]{1,40}”|「[^」]{1,40}」|『[^』]{1,40}』|\"[^\"]{1,40}\"")
_PUNCT = re.compile(r"[\W_]")
_DATE = re.compile(r"\d{1,4}\s*[年月日号]|[〇零一二三四五六七八九十]{2,4}年|世纪|年代|朝|时期|时代|[春夏秋冬]季")
_DIGIT = re.compile(r"[\d〇零一二三四五六七八九十百千万亿两]")
_NUMBER_MARKS = (",", ".", ":", "-", "/")
_COPULA_BEFORE = ("是", "为", "叫", "称", "于", "在", "由", "被", "到", "以")

# The coarse parts of speech a span's first and last word are described by
# (jieba's tags, first letter; names, places and organisations apart).
POS_GROUPS = ("n", "nr", "ns", "nt", "nz", "v", "a", "m", "q", "t", "u", "p", "c", "d", "r", "x", "eng", "f")
SPAN_CLASSES = ("person", "place", "org", "proper", "number", "time", "quoted", "latin", "noun", "verb")
# Words a span neither ends nor starts with: a preposition, conjunction or
# particle at an edge belongs to the sentence around the answer ("在", "的", "和").
_NO_EDGE_TAGS = ("p", "c", "u", "y", "e", "o")
_NO_EDGE_WORDS = frozenset("的 了 在 和 与 及 或 是 并 而 也 都 就 被 把 将 于 对 从 向".split())
TARGETS = tuple(Target)


@dataclass(frozen=True)
class Word:
    """A jieba word of a unit: its text, POS tag and offsets in the unit."""

    text: str
    tag: str
    start: int
    end: int


@dataclass(frozen=True)
class QuestionFrame:
    """What a question gives the span ranker, parsed once: the kind of
    answer, the text left and right of the question word (folded,
    Simplified, no punctuation), the noun right after the question word
    (什么[时期], 哪个[国家]), its content terms and characters."""

    target: Target
    left: str
    right: str
    head: str
    terms: frozenset[str]
    chars: frozenset[str]

    @classmethod
    def of(cls, question: str) -> "QuestionFrame":
        q = _PUNCT.sub("", to_simplified(fold(question)))
        found = find_interrogative(q)
        left, right = (q[:found[0]], q[found[1]:]) if found else (q, "")
        head = ""
        for w in _words(right):          # the noun phrase the question word qualifies: 什么[宏伟目标]
            if not (w.tag[:1] in "nabl" or w.tag == "vn") or len(head) + len(w.text) > 6:
                break
            head += w.text
        asked = terms(question, question=True)
        content = frozenset(asked.counts)
        chars = frozenset(ch for t in content for ch in t)
        return cls(answer_target(question), left, right.removeprefix("的"), head, content, chars)

    @functools.cached_property
    def subject(self) -> str:
        """The text left of the question word without a final 是/为: what the
        answer is said of ("中国的首都" of "中国的首都是哪里")."""
        return self.left.removesuffix("是").removesuffix("为")

    @functools.cached_property
    def around(self) -> str:
        """The question's text left and right of its question word, as one string."""
        return self.left + self.right


@dataclass(frozen=True)
class SpanCandidate:
    """A span of a unit: ``unit_text[start:end] == text``; ``unit`` indexes
    the units it was drawn from; ``features`` is the ranker's input row."""

    unit: int
    start: int
    end: int
    text: str
    features: np.ndarray


@dataclass(frozen=True)
class UnitContext:
    """A unit as the span ranker sees it: its text, evidence score and
    share of the question's terms (see :mod:`rag.answer.evidence`)."""

    text: str
    evidence: float
    lexical: float


@functools.lru_cache(maxsize=4096)
def _words_cached(text: str) -> tuple[Word, ...]:
    out: list[Word] = []
    pos = 0
    for piece in pos_tagger().lcut(text):
        word, tag = piece.word, piece.flag
        if out and _joins_number(out, word, text, pos):
            # "6,476", "2022-11-18": one number, though jieba cuts it at the mark.
            out[-1] = Word(out[-1].text + word, "m", out[-1].start, pos + len(word))
        else:
            out.append(Word(word, tag, pos, pos + len(word)))
        pos += len(word)
    return tuple(out)


def _joins_number(out: list[Word], word: str, text: str, pos: int) -> bool:
    """Whether ``word`` (at ``pos`` of ``text``) continues the number the last word began:
    a thousands, decimal, date or time mark between digits ("6,476", "3.5",
    "2022-11-18", "02:39"), or the digits after one."""
    last = out[-1].text
    if word in _NUMBER_MARKS and last[-1:].isdigit():
        return text[pos + 1:pos + 2].isdigit()
    return word[:1].isdigit() and last[-1:] in _NUMBER_MARKS and len(last) > 1 and last[-2].isdigit()


def _words(text: str) -> tuple[Word, ...]:
    return _words_cached(text)


def feature_names() -> list[str]:
    """The names of the feature columns, in order (what the weights file keys)."""
    names = [f"target={t.value}&{c}" for t in TARGETS for c in SPAN_CLASSES]
    names += [f"class={c}" for c in SPAN_CLASSES]
    names += [f"first={g}" for g in POS_GROUPS] + [f"last={g}" for g in POS_GROUPS]
    names += ["left_adjacent", "left_near", "right_adjacent", "right_near", "subject_after", "head_after",
              "head_inside", "near_terms", "nearest_term", "repeats_question", "inside_question",
              "length", "log_length", "one_char", "words_1", "words_2", "words_3", "words_4plus",
              "clause_start", "clause_end", "whole_clause", "after_copula", "before_de", "quoted", "cuts_measure",
              "evidence", "lexical", "unit_rank_0", "unit_rank_1", "unit_rank_2plus", "bias"]
    return names


_INSIDE_QUESTION = feature_names().index("inside_question")
# Where each block of a feature row starts (see feature_names): a candidate's
# one-hot features are set by index into a zero row, not listed one by one.
_CLASS_INDEX = {c: i for i, c in enumerate(SPAN_CLASSES)}
_TARGET_OFFSET = {t: i * len(SPAN_CLASSES) for i, t in enumerate(TARGETS)}
_CLASS_OFFSET = len(TARGETS) * len(SPAN_CLASSES)
_FIRST_OFFSET = _CLASS_OFFSET + len(SPAN_CLASSES)
_LAST_OFFSET = _FIRST_OFFSET + len(POS_GROUPS)
_TAIL_OFFSET = _LAST_OFFSET + len(POS_GROUPS)
_GROUP_INDEX = {g: i for i, g in enumerate(POS_GROUPS)}
_N_FEATURES = len(feature_names())


def _group(tag: str) -> str:
    if tag in ("nr", "ns", "nt", "nz", "eng"):
        return tag
    if tag.startswith("nr"):
        return "nr"
    return tag[:1] if tag[:1] in POS_GROUPS else "x"


def _classes(words: Sequence[Word], text: str) -> set[str]:
    out = set()
    for w in words:
        g = _group(w.tag)
        if g == "nr":
            out.add("person")
        elif g == "ns":
            out.add("place")
        elif g == "nt":
            out.add("org")
        elif g == "nz":
            out.add("proper")
        elif g in ("m", "q") and _DIGIT.search(w.text):
            out.add("number")
        elif g == "t":
            out.add("time")
        elif g == "eng":
            out.add("latin")
        if g.startswith("n"):
            out.add("noun")
        if g == "v":
            out.add("verb")
    if _DATE.search(text):
        out.add("time")
    if _QUOTED.fullmatch(text):
        out.add("quoted")
    return out


def _common_suffix(a: str, b: str, cap: int = 8) -> int:
    n = 0
    while n < min(len(a), len(b), cap) and a[-1 - n] == b[-1 - n]:
        n += 1
    return n


def _common_prefix(a: str, b: str, cap: int = 8) -> int:
    n = 0
    while n < min(len(a), len(b), cap) and a[n] == b[n]:
        n += 1
    return n


def _near_suffix(left: str, before: str, slack: int = 4, least: int = 2) -> int:
    """Longest suffix of ``left`` (>= ``least`` chars) that ends within
    ``slack`` characters of the end of ``before``."""
    window = before[-(slack + 8):]
    for size in range(min(len(left), 8), least - 1, -1):
        pos = window.rfind(left[-size:])
        if pos >= 0 and len(window) - (pos + size) <= slack:
            return size
    return 0


def _near_prefix(right: str, after: str, slack: int = 4, least: int = 2) -> int:
    window = after[:slack + 8]
    for size in range(min(len(right), 8), least - 1, -1):
        pos = window.find(right[:size])
        if 0 <= pos <= slack:
            return size
    return 0


class _UnitView:
    """Per-unit values every span of the unit shares."""

    def __init__(self, unit: UnitContext, rank: int, frame: QuestionFrame) -> None:
        self.unit = unit
        self.rank = rank
        self.text = unit.text
        self.folded = to_simplified(fold(unit.text)) if len(fold(unit.text)) == len(unit.text) else unit.text
        self.words = _words(unit.text)
        self.word_at = {w.start: w for w in self.words}
        # Where the question's terms occur in the unit (start offsets, bigram length).
        self.term_hits: list[tuple[int, int, str]] = []
        for t in frame.terms:
            for m in re.finditer(re.escape(t), self.folded):
                self.term_hits.append((m.start(), m.end(), t))


def _edge_word(word: Word) -> bool:
    """Whether a span may start or end with ``word`` (see ``_NO_EDGE_TAGS``)."""
    return not (word.tag.startswith(_NO_EDGE_TAGS) or word.text in _NO_EDGE_WORDS)


def candidate_spans(question: str, units: Sequence[UnitContext], frame: QuestionFrame | None = None
                    ) -> list[SpanCandidate]:
    """Every candidate span of ``units`` (best first) with its feature row."""
    frame = frame or QuestionFrame.of(question)
    out: list[SpanCandidate] = []
    for rank, unit in enumerate(units):
        view = _UnitView(unit, rank, frame)
        seen: set[tuple[int, int]] = set()
        words = view.words
        for i, first in enumerate(words):
            if _CLAUSE_BREAK.fullmatch(first.text) or not first.text.strip():
                continue
            for j in range(i, min(i + MAX_WORDS, len(words))):
                last = words[j]
                if _CLAUSE_BREAK.search(last.text):
                    break
                if last.end - first.start > MAX_CHARS:
                    break
                if not last.text.strip() or not _edge_word(first) or not _edge_word(last):
                    continue
                seen.add((first.start, last.end))
                candidate = _candidate(view, frame, rank, words[i:j + 1], first.start, last.end)
                if candidate.features[_INSIDE_QUESTION] == 0.0:     # an answer says what the question does not
                    out.append(candidate)
        for m in _QUOTED.finditer(unit.text):
            for start, end in ((m.start(), m.end()), (m.start() + 1, m.end() - 1)):
                if (start, end) not in seen and end > start:
                    inner = [w for w in words if w.start >= start and w.end <= end] or list(words[:1])
                    seen.add((start, end))
                    out.append(_candidate(view, frame, rank, inner, start, end))
    return out


def _candidate(view: _UnitView, frame: QuestionFrame, rank: int, words: Sequence[Word], start: int,
               end: int) -> SpanCandidate:
    text = view.text[start:end]
    folded = view.folded
    span_folded = folded[start:end]
    classes = _classes(words, text)
    row = np.zeros(_N_FEATURES, dtype=np.float32)
    for c in classes:
        row[_TARGET_OFFSET[frame.target] + _CLASS_INDEX[c]] = 1.0       # what is asked, and the span has
        row[_CLASS_OFFSET + _CLASS_INDEX[c]] = 1.0
    row[_FIRST_OFFSET + _GROUP_INDEX[_group(words[0].tag)]] = 1.0
    row[_LAST_OFFSET + _GROUP_INDEX[_group(words[-1].tag)]] = 1.0

    before, after = folded[:start], folded[end:]
    left_adjacent = _common_suffix(frame.left, before) if frame.left else 0
    left_near = _near_suffix(frame.left, before) if frame.left else 0
    right_adjacent = _common_prefix(frame.right, after) if frame.right else 0
    right_near = _near_prefix(frame.right, after) if frame.right else 0
    subject = frame.subject
    subject_after = _near_prefix(subject[-8:], after.lstrip("是为").lstrip(), slack=2) if len(subject) >= 2 else 0
    head_after = 1.0 if frame.head and after.startswith(frame.head) else 0.0
    head_inside = 1.0 if frame.head and span_folded.endswith(frame.head) else 0.0
    tail = [min(left_adjacent, 6) / 6, min(left_near, 6) / 6, min(right_adjacent, 6) / 6, min(right_near, 6) / 6,
            min(subject_after, 6) / 6, head_after, head_inside]

    near: set[str] = set()
    nearest = 99
    for s, e, t in view.term_hits:
        if s < end and e > start:
            continue                         # inside the span: that is repetition, not context
        distance = start - e if e <= start else s - end
        nearest = min(nearest, distance)
        if distance <= NEAR_CHARS:
            near.add(t)
    tail += [len(near) / max(len(frame.terms), 1), 1.0 / (1.0 + nearest)]

    content = _PUNCT.sub("", span_folded)
    repeated = sum(ch in frame.chars for ch in content) / max(len(content), 1)
    inside = 1.0 if content and content in frame.around else 0.0
    tail += [repeated, inside]

    length = len(content)
    n_words = len(words)
    tail += [length / 10, math.log1p(length), 1.0 if length == 1 else 0.0,
             1.0 if n_words == 1 else 0.0, 1.0 if n_words == 2 else 0.0, 1.0 if n_words == 3 else 0.0,
             1.0 if n_words >= 4 else 0.0]
    clause_start = not before or bool(_CLAUSE_BREAK.match(before[-1])) or before[-1].isspace()
    clause_end = not after or bool(_CLAUSE_BREAK.match(after[0])) or after[0].isspace()
    tail += [float(clause_start), float(clause_end), float(clause_start and clause_end),
             1.0 if before.endswith(_COPULA_BEFORE) else 0.0, 1.0 if after.startswith("的") else 0.0,
             1.0 if "quoted" in classes else 0.0, 1.0 if _cuts_measure(view, words[-1]) else 0.0]
    tail += [view.unit.evidence, view.unit.lexical, 1.0 if rank == 0 else 0.0, 1.0 if rank == 1 else 0.0,
             1.0 if rank >= 2 else 0.0, 1.0]
    row[_TAIL_OFFSET:] = tail
    return SpanCandidate(rank, start, end, text, row)


def _cuts_measure(view: _UnitView, last: Word) -> bool:
    """Whether the span ends on a numeral whose measure word or unit follows
    outside it ("12" of "12座")."""
    if _group(last.tag) != "m":
        return False
    following = view.word_at.get(last.end)
    return following is not None and _group(following.tag) in ("q", "m") and not _DIGIT.fullmatch(following.text)


@functools.lru_cache(maxsize=1)
def load_weights(path: Path = WEIGHTS_FILE) -> np.ndarray | None:
    """The fitted weights (one per :func:`feature_names` column), or None
    when the file is missing or was fitted for other features."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    names = feature_names()
    if sorted(data.get("weights", {})) != sorted(names):
        return None
    return np.asarray([data["weights"][n] for n in names], dtype=np.float32)


def best_span(question: str, units: Sequence[UnitContext], weights: np.ndarray | None = None, *,
              within: str | None = None) -> SpanCandidate | None:
    """The highest-scoring candidate span of ``units`` (best unit first) for
    ``question``, or None (no weights, no Chinese question, no candidate).
    With ``within`` (an LLM's statement), only the candidates that text
    repeats (letters and digits compared, folded) count, when there are any:
    the model has said which part of the sentence answers."""
    weights = load_weights() if weights is None else weights
    if weights is None or not units or not is_chinese(question):
        return None
    spans = candidate_spans(question, units)
    if within is not None:
        said = _alnum(within)
        spans = [c for c in spans if _alnum(c.text) and _alnum(c.text) in said] or spans
    if not spans:
        return None
    scores = np.stack([s.features for s in spans]) @ weights
    return spans[int(scores.argmax())]


def _alnum(text: str) -> str:
    """``text`` folded, letters, digits and ideographs only."""
    return "".join(ch for ch in fold(text) if ch.isalnum())
