"""Lexical overlap between short texts, the way a reader of Chinese checks it.

Chinese has no spaces, so a text's *terms* are the character bigrams of each
run of CJK characters (a run of one character is kept as a unigram) and the
lower-cased words of each run of Latin letters or digits. Text is NFKC-folded
first, so full-width and half-width punctuation, digits and letters compare
equal, and punctuation and whitespace only separate runs.

``recall(a, b)`` — the share of ``a``'s terms found in ``b`` — is what both the
answer composer (question terms found in a sentence) and the verifier
(statement terms found in a cited sentence) need.
"""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from dataclasses import dataclass

# CJK ideographs (unified + extension A + compatibility): the characters that
# carry meaning one by one and are therefore paired into bigrams.
_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_RUN = re.compile(rf"[{_CJK}]+|[0-9a-z]+")
_HAS_CJK = re.compile(rf"[{_CJK}]")
_HAS_LATIN = re.compile(r"[A-Za-z]")

# Words that ask rather than say: a question's terms should be its content,
# so these are cut out (and split the text where they stood) before bigrams
# are taken. Longer forms first so "为什么" wins over "什么".
_ZH_QUESTION_WORDS = (
    "为什么", "什么样", "怎么样", "怎么办", "哪一年", "哪些", "哪几", "哪个", "哪里", "哪儿", "哪",
    "什么", "怎么", "怎样", "如何", "多少", "几个", "是否", "是不是", "有没有", "吗", "呢", "吧",
    "请问", "这篇", "这个", "那个", "这些", "那些",
)
_ZH_QUESTION_RE = re.compile("|".join(map(re.escape, _ZH_QUESTION_WORDS)))

# English function words: never content on their own.
_EN_STOPWORDS = frozenset("""
a an the of to in on at for by with from as and or but not no is are was were be been being
do does did doing have has had what which who whom whose when where why how that this these those
it its they them their there here should would could can may might must will shall i you he she we
me my your our his her about into than then so if any all some such very more most also just
""".split())


@dataclass(frozen=True)
class Terms:
    """The terms of a text, with counts (a term repeated counts repeatedly)."""

    counts: Counter

    def __len__(self) -> int:
        return sum(self.counts.values())

    def __bool__(self) -> bool:
        return bool(self.counts)


def fold(text: str) -> str:
    """NFKC and lower case: the form in which two texts are compared."""
    return unicodedata.normalize("NFKC", text).lower()


def terms(text: str, *, question: bool = False) -> Terms:
    """Character bigrams of CJK runs and words of Latin/digit runs.

    With ``question=True``, interrogative words and English stop words are
    removed first, so that only what the question is *about* remains.
    """
    folded = fold(text)
    if question:
        folded = _ZH_QUESTION_RE.sub(" ", folded)
    counts: Counter = Counter()
    for run in _RUN.findall(folded):
        if _HAS_CJK.match(run):
            if len(run) == 1:
                counts[run] += 1
            else:
                counts.update(run[i:i + 2] for i in range(len(run) - 1))
        elif not (question and run in _EN_STOPWORDS):
            counts[run] += 1
    return Terms(counts)


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


def is_chinese(text: str) -> bool:
    """Whether a question is Chinese (any ideograph), so replies match it."""
    return bool(_HAS_CJK.search(fold(text)))


def is_english(text: str) -> bool:
    """Latin letters and no ideograph."""
    return not is_chinese(text) and bool(_HAS_LATIN.search(text))
