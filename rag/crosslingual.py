"""A question in another script than the corpus (an English question over
Chinese documents): its words translated into the corpus's own terms.

BM25 cannot match "learn" with 学习, and the multilingual embedder, which
can, is weak at it for a whole question: small models place an English
question almost equally far from every Chinese passage of a homogeneous
corpus. It is much better at single words (organization -> 组织, staff ->
人员, learn -> 学习). So the index keeps a term table: every distinct BM25
term of the corpus worth translating into, embedded once at build time
(``query:`` prefix, like the question's words). At query time each content
word of the question is embedded and replaced by its nearest corpus term;
the translated words form a lexical query in the corpus's script, which the
retriever fuses with the dense ranking (at ``crosslingual_lexical_scale``)
and the reranker matches against sentences.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

import numpy as np

from rag.lexical import tokenize

if TYPE_CHECKING:
    from rag.embedder import Embedder

_DIGITS = re.compile(r"\d+")
# Words of a question that carry no topic but are not in the lexical
# stopword list (modal verbs, particles of phrasal verbs): translated, they
# would turn into unrelated corpus terms ("should" -> 正确).
_FILLER_EN = frozenset("should would could can may might must will shall need up out about into "
                       "there here also just very much many more most some any please tell".split())


@dataclass(frozen=True)
class TermTable:
    """The corpus terms a question's words can be translated into, and their
    unit vectors: ``vectors[i]`` (dim,) float32 is ``terms[i]`` embedded as a
    query."""

    terms: list[str]
    vectors: np.ndarray

    def __len__(self) -> int:
        return len(self.terms)


@dataclass(frozen=True)
class Translation:
    """A question's content words and the corpus term each became."""

    words: tuple[str, ...]
    terms: tuple[str, ...]
    similarities: tuple[float, ...]

    @property
    def query(self) -> str:
        """The translated terms as one lexical query (empty when none)."""
        return " ".join(dict.fromkeys(self.terms))


def corpus_terms(texts: Iterable[str], mode: str) -> list[str]:
    """The distinct BM25 terms of ``texts`` worth translating into: two
    characters or more, not a bare number. Sorted, so a table is reproducible."""
    found: set[str] = set()
    for text in texts:
        found.update(t for t in tokenize(text, mode) if len(t) >= 2 and not _DIGITS.fullmatch(t))
    return sorted(found)


def question_words(question: str, mode: str) -> list[str]:
    """The content words of ``question`` (its BM25 terms without fillers), once each."""
    return list(dict.fromkeys(t for t in tokenize(question, mode) if t not in _FILLER_EN))


def translate(question: str, table: TermTable, embedder: "Embedder", mode: str) -> Translation:
    """Each content word of ``question`` replaced by its nearest term of
    ``table`` (cosine of the two ``query:`` vectors)."""
    words = question_words(question, mode)
    if not words or not len(table):
        return Translation((), (), ())
    vectors = embedder.embed_queries(words)
    similarities = vectors @ table.vectors.T            # (n_words, n_terms)
    best = similarities.argmax(axis=1)
    return Translation(tuple(words), tuple(table.terms[i] for i in best),
                       tuple(float(similarities[w, i]) for w, i in enumerate(best)))


# Terms per forward pass of the embedder. Terms are one or two words, so a
# pass costs little more than its fixed overhead, and that overhead balloons
# when the two cores are shared with other work: 1,024 terms of the essay took
# 52 s in passes of 32 (the configured embed_batch_size), 7-12 s in passes of
# 256, with another process busy on both cores; 3.3 s and 3.1 s on an idle
# machine (README, "Index builds").
TERM_BATCH = 256


def embed_terms(terms: Sequence[str], embedder: "Embedder", known: TermTable | None = None,
                progress: Callable[[int, int], None] | None = None, batch: int = 1024) -> TermTable:
    """The table of ``terms``, reusing the vectors of ``known`` (the serving
    index's table) for terms it has and embedding only the new ones, ``batch``
    at a time (:data:`TERM_BATCH` per forward pass); ``progress(done, total)``
    counts the new ones."""
    dim = embedder.dim
    vectors = np.zeros((len(terms), dim), dtype=np.float32)
    have = {t: i for i, t in enumerate(known.terms)} if known is not None and known.vectors.shape[1:] == (dim,) else {}
    missing = [i for i, t in enumerate(terms) if t not in have]
    for i, t in enumerate(terms):
        if t in have:
            vectors[i] = known.vectors[have[t]]
    for lo in range(0, len(missing), batch):
        rows = missing[lo:lo + batch]
        vectors[rows] = embedder.embed_queries([terms[i] for i in rows], batch_size=TERM_BATCH)
        if progress is not None:
            progress(lo + len(rows), len(missing))
    return TermTable(list(terms), vectors)
