"""How many chunks of an index hold each term: the IDF weights of the
reranker's match (:mod:`rag.retrieve.rerank`).

Counted once, when the index is built, and stored with it
(``term_stats.json``): counting them when a process first searched cost a
cold ``python -m rag ask`` ~0.9 s over the CMRC dev index (971 chunks), and
an index never changes once published. An index loaded without them (a
store put together in memory) has them counted on first use instead
(:func:`rag.retrieve.rerank.term_stats`); the two give the same numbers.

A chunk's terms are those of :mod:`lang.terms` (CJK character bigrams,
Latin words) of its text, its title and its section path, each counted once
per chunk.
"""

from __future__ import annotations

import functools
import json
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from ingest.records import Chunk
from lang.terms import term_set

FILE = "term_stats.json"


@dataclass(frozen=True)
class TermStats:
    """``frequency[term]``: how many of the index's ``chunks`` hold ``term``."""

    chunks: int
    frequency: dict[str, int]

    def idf(self, term: str) -> float:
        # Smoothed so an unseen term weighs most and none weighs nothing.
        return math.log(1.0 + self.chunks / (1.0 + self.frequency.get(term, 0)))

    @classmethod
    def count(cls, chunks: Iterable[Chunk]) -> "TermStats":
        """The statistics of ``chunks`` (title, section and text terms)."""
        frequency: Counter = Counter()
        # A text repeated across chunks (boilerplate, copies: bench.scale's 10^6
        # chunks) is cut into terms once and counted once per copy.
        copies = Counter((chunk.text, chunk.title, chunk.section) for chunk in chunks)
        for (text, title, section), n in copies.items():
            found = _text_terms(text) | context_terms(title, section)
            if n == 1:
                frequency.update(found)          # counted in C: most chunks are unique
            else:
                for term in found:
                    frequency[term] += n
        return cls(sum(copies.values()), dict(frequency))

    def save(self, folder: Path) -> None:
        """Write ``folder/term_stats.json``."""
        (folder / FILE).write_text(json.dumps({"chunks": self.chunks, "frequency": self.frequency},
                                              ensure_ascii=False, separators=(",", ":")), "utf-8")

    @classmethod
    def load(cls, folder: Path) -> "TermStats":
        """Read ``folder/term_stats.json`` (raises OSError, ValueError, KeyError when it is missing or broken)."""
        data = json.loads((folder / FILE).read_text("utf-8"))
        chunks, frequency = data["chunks"], data["frequency"]
        if not isinstance(chunks, int) or not isinstance(frequency, dict):
            raise ValueError(f"{FILE} holds no term statistics")
        return cls(chunks, frequency)


def _text_terms(text: str) -> frozenset[str]:
    # Not term_set's cache: a build's every chunk would push out the sentences
    # that the reranker asks for question after question.
    return term_set.__wrapped__(text)


@functools.lru_cache(maxsize=1 << 12)
def context_terms(title: str, section: str) -> frozenset[str]:
    """The terms of a chunk's title and section path (shared by many chunks, so remembered)."""
    return term_set(title) | term_set(section)
