"""Terms: what two short texts are compared by, the way a reader of Chinese
compares them.

Chinese has no spaces, so a text's *terms* are the character bigrams of
each run that holds an ideograph (a run of one character is kept as a
unigram; digits and letters inside the run take part, so "1992年4月" gives
19, 99, 92, 2年, 年4, 4月), and the lower-cased words of the runs without
one. Text is folded (NFKC, lower case) first, so full-width and half-width
punctuation, digits and letters compare equal; punctuation and blanks only
separate runs.

One rule, two views: :func:`terms` counts (``recall(a, b)``, the share of
``a``'s terms found in ``b``, is what the answer composer and the verifier
need), :func:`term_set` is the distinct terms (the reranker's IDF-weighted
match).
"""

from __future__ import annotations

import functools
import re
from collections import Counter
from dataclasses import dataclass

from lang.questions import QUESTION_WORD
from lang.scripts import IDEOGRAPH, fold
from lang.stopwords import QUESTION_STOPWORDS_EN

# Runs of letters, digits and ideographs.
_RUN = re.compile(r"[^\W_]+")


@dataclass(frozen=True)
class Terms:
    """The terms of a text, with counts (a term repeated counts repeatedly)."""

    counts: Counter

    def __len__(self) -> int:
        return sum(self.counts.values())

    def __bool__(self) -> bool:
        return bool(self.counts)


def terms(text: str, *, question: bool = False) -> Terms:
    """The terms of ``text`` with their counts (see the module docstring).

    With ``question=True``, question words (什么, 哪些, 吗, what, how ...) and
    English function words are left out, so that only what the question is
    *about* remains; a cut question word also separates runs, so it does not
    glue two content words into a bigram no passage holds.
    """
    folded = fold(text)
    if question:
        folded = QUESTION_WORD.sub(" ", folded)
    counts: Counter = Counter()
    for run in _RUN.findall(folded):
        if IDEOGRAPH.search(run):
            if len(run) == 1:
                counts[run] += 1
            else:
                counts.update(run[i:i + 2] for i in range(len(run) - 1))
        elif not (question and run in QUESTION_STOPWORDS_EN):
            counts[run] += 1
    return Terms(counts)


@functools.lru_cache(maxsize=1 << 15)
def term_set(text: str, question: bool = False) -> frozenset[str]:
    """The distinct terms of ``text`` (:func:`terms` without counts),
    remembered: the reranker asks for the same sentences question after
    question."""
    return frozenset(terms(text, question=question).counts)


def recall(needle: Terms, haystack: Terms) -> float:
    """Share of ``needle``'s terms that ``haystack`` holds (clipped counts);
    0.0 for an empty needle."""
    total = len(needle)
    if total == 0:
        return 0.0
    found = sum(min(n, haystack.counts.get(term, 0)) for term, n in needle.counts.items())
    return found / total


def content_length(text: str) -> int:
    """Characters that carry content: letters, digits and ideographs."""
    return sum(1 for ch in fold(text) if ch.isalnum())
