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

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rag.config import Tokenizer
from rag.index.lexical import tokenize
from rag.index.term_table import TermTable

if TYPE_CHECKING:
    from rag.models.embedder import TextEmbedder

# Words of a question that carry no topic but are not in the lexical
# stopword list (modal verbs, particles of phrasal verbs): translated, they
# would turn into unrelated corpus terms ("should" -> 正确).
_FILLER_EN = frozenset("should would could can may might must will shall need up out about into "
                       "there here also just very much many more most some any please tell".split())


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


def question_words(question: str, mode: Tokenizer | str) -> list[str]:
    """The content words of ``question`` (its BM25 terms without fillers), once each."""
    return list(dict.fromkeys(t for t in tokenize(question, mode) if t not in _FILLER_EN))


def translate(question: str, table: TermTable, embedder: TextEmbedder, mode: Tokenizer | str) -> Translation:
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
