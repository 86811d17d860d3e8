"""Chinese-aware BM25: the lexical retriever.

Text is cut into terms by :func:`tokenize` and scored by ``bm25s`` (Lucene
BM25, default k1 and b). The index is built once per corpus version, saved
beside the dense index and loaded once per process; a query only tokenizes the
question and sums precomputed term scores.

Two tokenizer modes:

- ``"jieba"``: jieba's search mode, which emits a long word *and* the shorter
  dictionary words inside it (中华人民共和国 -> 中华, 人民, 共和国, ...), so a
  question that names part of a compound still matches the passage.
- ``"bigram"``: every CJK character and every pair of adjacent characters. It
  needs no dictionary and never mis-segments a name, at the price of a larger
  vocabulary and noisier matches.

In both modes Latin letters and digits form plain word tokens, and the text is
NFKC-normalised and lower-cased first, so full-width ``ＡＢＣ１２３`` finds
``abc123``.
"""

from __future__ import annotations

import errno
import functools
import json
import logging
import os
import re
import unicodedata
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

import numpy as np

from lang.scripts import IDEOGRAPHS
from lang.segment import segmenter
from lang.stopwords import STOPWORDS
from rag.config import Tokenizer

if TYPE_CHECKING:
    import bm25s


# Bump whenever tokenize() would cut the same text differently (stopwords,
# regexes, jieba options): an index built by another version is then refused
# at load, since its terms would no longer match the queries' terms.
TOKENIZER_VERSION = 1

FORMAT_VERSION = 1
META_FILE = "lexical.json"


# Stop words (lang.stopwords) are dropped from every text and query; ideographs
# are lang.scripts' (changing either changes the terms: bump TOKENIZER_VERSION).
_HAN = IDEOGRAPHS
# A run of ideographs, or a run of other letters/digits (``\w`` minus ``_`` and
# ideographs). Everything else (punctuation, spaces, symbols) separates tokens.
_RUN = re.compile(rf"([{_HAN}]+)|([^\W_{_HAN}]+)")


class LexicalIndexError(ValueError):
    """A saved lexical index that cannot be used (corrupt, or built by an
    incompatible tokenizer); the message says why. Rebuild the index."""


@dataclass(frozen=True)
class LexicalMatch:
    """One BM25 result: ``index`` is the row of the text given to
    :meth:`LexicalIndex.build`, ``score`` its BM25 score (always > 0)."""

    index: int
    score: float


# --- tokenizer -----------------------------------------------------------

@functools.lru_cache(maxsize=1 << 16)
def _jieba_run(run: str) -> tuple[str, ...]:
    # Runs are clauses between punctuation; overlapping chunks and repeated
    # boilerplate (headers, footers) repeat them, so caching saves real time.
    # HMM off: its guesses at unknown words depend on the surrounding clause,
    # so a name could be cut one way in the passage and another in the
    # question; dictionary words plus search-mode sub-words match consistently.
    return tuple(segmenter().lcut_for_search(run, HMM=False))


def _bigram_run(run: str) -> tuple[str, ...]:
    return tuple(run) + tuple(run[i:i + 2] for i in range(len(run) - 1))


def tokenize(text: str, mode: Tokenizer | str) -> list[str]:
    """The BM25 terms of ``text``, in order (repeats kept: they are term counts).

    ``mode``: ``Tokenizer.JIEBA`` (jieba search mode on CJK runs) or
    ``Tokenizer.BIGRAM`` (CJK character unigrams and bigrams). Latin letters
    and digits become plain word tokens; punctuation, whitespace and
    :data:`STOPWORDS` are dropped.
    """
    cut_han = _jieba_run if _mode(mode) is Tokenizer.JIEBA else _bigram_run
    normal = unicodedata.normalize("NFKC", text).lower()
    tokens: list[str] = []
    for match in _RUN.finditer(normal):
        han, word = match.groups()
        if han:
            tokens.extend(t for t in cut_han(han) if t not in STOPWORDS)
        elif word not in STOPWORDS:
            tokens.append(word)
    return tokens


def tokenize_many(texts: Iterable[str], mode: Tokenizer | str) -> list[list[str]]:
    """:func:`tokenize` over many texts, for building an index.

    jieba's dictionary is loaded once up front and clauses seen before are
    served from cache, so ~10k passages take seconds.
    """
    if _mode(mode) is Tokenizer.JIEBA:
        segmenter()
    return [tokenize(text, mode) for text in texts]


def _mode(mode: Tokenizer | str) -> Tokenizer:
    try:
        return Tokenizer(mode)
    except ValueError:
        raise ValueError(f"unknown lexical tokenizer {mode!r}: use one of {', '.join(Tokenizer)}") from None


# --- index ---------------------------------------------------------------


def _bm25s():
    """The ``bm25s`` module, imported quietly.

    On import it sets its logger to DEBUG, so its chatter ("Building index from
    tokens") reaches any handler the application installed (``logging.basicConfig``
    in the command lines); only its warnings and errors should be heard.
    """
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


class _SavedScores:
    """A saved ``bm25s`` index as a query reads it, with numpy alone: the
    vocabulary and the per-term columns of precomputed scores (CSC arrays),
    summed for a query exactly as ``bm25s.BM25.get_scores_from_ids`` sums
    them (Lucene BM25 has no non-occurrence scores). Importing ``bm25s``
    imports ``scipy.sparse`` (and with it ``numpy.f2py`` and
    ``charset_normalizer``): 0.3-0.5 s of a cold ``python -m rag ask`` that
    only adds up stored numbers. Building an index still uses ``bm25s``."""

    def __init__(self, folder: Path) -> None:
        params = json.loads((folder / "params.index.json").read_text("utf-8"))
        if params.get("method") != "lucene":
            raise ValueError(f"BM25 method {params.get('method')!r}, this program reads 'lucene'")
        self.method, self.k1, self.b = params["method"], params["k1"], params["b"]
        self.dtype = np.dtype(params.get("dtype", "float32"))
        self.int_dtype = np.dtype(params.get("int_dtype", "int32"))
        self.vocab_dict: dict[str, int] = json.loads((folder / "vocab.index.json").read_text("utf-8"))
        self.scores = {name: np.load(folder / f"{name}.csc.index.npy", allow_pickle=False)
                       for name in ("data", "indices", "indptr")}
        self.scores["num_docs"] = params.get("num_docs")

    def get_scores_from_ids(self, query_tokens_ids: list[int]) -> np.ndarray:
        data, indices, indptr = self.scores["data"], self.scores["indices"], self.scores["indptr"]
        ids = np.asarray(query_tokens_ids, dtype=self.int_dtype)
        if int(ids.max(initial=0)) >= len(indptr) - 1:
            raise ValueError("a query term id is beyond the index's vocabulary")
        starts, ends = indptr[ids], indptr[ids + 1]
        scores = np.zeros(self.scores["num_docs"], dtype=self.dtype)
        for start, end in zip(starts, ends):
            np.add.at(scores, indices[start:end], data[start:end])
        return scores


class LexicalIndex:
    """A BM25 index over a fixed list of texts; rows are their positions."""

    def __init__(self, bm25: "bm25s.BM25 | _SavedScores", mode: Tokenizer, size: int) -> None:
        # Use build() or load(); this only wraps a ready bm25s.BM25.
        self._bm25 = bm25
        self._vocab: dict[str, int] = bm25.vocab_dict
        self.mode = mode
        self._size = size

    @classmethod
    def build(cls, texts: Sequence[str], mode: Tokenizer | str) -> "LexicalIndex":
        """Tokenize ``texts`` (in one batch) and build their BM25 index."""
        bm25s = _bm25s()
        corpus_tokens = tokenize_many(texts, mode)
        bm25 = bm25s.BM25(method="lucene", backend="numpy")
        with warnings.catch_warnings():
            # An empty corpus averages zero lengths; the index is still valid
            # (it finds nothing), so numpy's "mean of empty slice" is noise.
            warnings.simplefilter("ignore", RuntimeWarning)
            # No empty-token entry: we drop unknown query terms ourselves and
            # never call bm25s' retrieve(), which is what that entry is for.
            bm25.index(corpus_tokens, create_empty_token=False, show_progress=False)
        return cls(bm25, _mode(mode), len(texts))

    @classmethod
    def build_repeated(cls, texts: Sequence[str], text_rows: np.ndarray, mode: Tokenizer | str) -> "LexicalIndex":
        """The index :meth:`build` makes of ``[texts[j] for j in text_rows]``,
        tokenizing each of ``texts`` once: for a corpus of many copies of few
        texts (``bench.scale``'s 10^6 chunks cut from CMRC paragraphs), where
        a token list per row would not fit in memory.

        ``text_rows``: (n_rows,) int, row i's index into ``texts``. Scores are
        Lucene BM25 as ``bm25s`` computes them (idf, then the Robertson term
        frequency part), in the same matrix layout, so :meth:`search`,
        :meth:`save` and :meth:`load` treat the result as any other index.
        """
        import scipy.sparse as sp

        bm25s = _bm25s()
        bm25 = bm25s.BM25(method="lucene", backend="numpy")
        text_rows = np.asarray(text_rows, dtype=np.int64)
        vocab: dict[str, int] = {}
        text_terms, text_counts, lengths = [], [], np.zeros(len(texts), dtype=np.float64)
        for j, tokens in enumerate(tokenize_many(texts, mode)):
            ids = np.fromiter((vocab.setdefault(t, len(vocab)) for t in tokens), dtype=np.int64, count=len(tokens))
            terms, counts = np.unique(ids, return_counts=True)
            text_terms.append(terms)
            text_counts.append(counts)
            lengths[j] = len(tokens)
        n_rows = len(text_rows)
        copies = np.bincount(text_rows, minlength=len(texts)).astype(np.float64)
        flat_terms = np.concatenate(text_terms) if texts else np.zeros(0, dtype=np.int64)
        flat_counts = np.concatenate(text_counts) if texts else np.zeros(0, dtype=np.int64)
        per_text = np.array([len(t) for t in text_terms], dtype=np.int64)
        owner = np.repeat(np.arange(len(texts)), per_text)
        df = np.bincount(flat_terms, weights=copies[owner], minlength=len(vocab))
        idf = np.log(1.0 + (n_rows - df + 0.5) / (df + 0.5))
        avg_len = float(lengths @ copies / n_rows) if n_rows else 0.0
        norm = bm25.k1 * ((1.0 - bm25.b) + bm25.b * lengths[owner] / avg_len) if n_rows else 0.0
        flat_scores = (idf[flat_terms] * flat_counts / (norm + flat_counts)).astype(np.float32)
        # Row i's entries are its text's: gather them as one CSR matrix, then
        # turn it into bm25s's layout (per term, the rows holding it).
        starts = np.concatenate([[0], np.cumsum(per_text)])
        row_sizes = per_text[text_rows]
        indptr = np.concatenate([[0], np.cumsum(row_sizes)])
        gather = np.repeat(starts[text_rows] - indptr[:-1], row_sizes) + np.arange(indptr[-1])
        by_row = sp.csr_matrix((flat_scores[gather], flat_terms[gather].astype(np.int32), indptr),
                               shape=(n_rows, len(vocab)))
        del gather
        by_term = by_row.tocsc()
        bm25.scores = {"data": by_term.data.astype(np.float32), "indices": by_term.indices.astype(np.int32),
                       "indptr": by_term.indptr, "num_docs": n_rows}
        bm25.vocab_dict = vocab
        bm25.unique_token_ids_set = set(vocab.values())
        bm25.nonoccurrence_array = None   # Lucene BM25 has none (bm25s makes it for BM25L and BM25+ only)
        return cls(bm25, _mode(mode), n_rows)

    def __len__(self) -> int:
        return self._size

    @property
    def vocabulary_size(self) -> int:
        return len(self._vocab)

    def search(self, query: str, k: int) -> list[LexicalMatch]:
        """The ``k`` best rows for ``query``, best first.

        Only rows that share at least one term with the query are returned, so
        there may be fewer than ``k``; none at all when the query is empty or
        none of its terms occurs in the corpus. Ties keep row order.
        """
        if k <= 0 or self._size == 0:
            return []
        ids = [self._vocab[t] for t in tokenize(query, self.mode) if t in self._vocab]
        if not ids:
            return []
        scores = self._bm25.get_scores_from_ids(ids)
        rows = np.flatnonzero(scores > 0)
        if len(rows) > k:
            # Only rows scoring at least the k-th best can come out: a full
            # sort of every matching row costs tens of ms at 10^6 chunks.
            kth = np.partition(scores[rows], len(rows) - k)[len(rows) - k]
            rows = rows[scores[rows] >= kth]
        # A stable sort of the matching rows only: exact ties (the same terms
        # in passages of the same length) then come out in corpus order.
        order = rows[np.argsort(-scores[rows], kind="stable")][:k]
        return [LexicalMatch(int(i), float(scores[i])) for i in order]

    # --- persistence -------------------------------------------------------

    def save(self, folder: Path) -> None:
        """Write the index into ``folder`` (created if needed).

        The metadata file is written last, so a save that stops halfway
        leaves a folder that :meth:`load` refuses rather than misreads.
        """
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        meta_path = folder / META_FILE
        meta_path.unlink(missing_ok=True)
        self._bm25.save(folder, show_progress=False)
        meta = {
            "format": FORMAT_VERSION,
            "mode": self.mode,
            "tokenizer_version": TOKENIZER_VERSION,
            "jieba": _jieba_version() if self.mode is Tokenizer.JIEBA else None,
            "documents": self._size,
            "vocabulary": len(self._vocab),
            "bm25": {"method": self._bm25.method, "k1": self._bm25.k1, "b": self._bm25.b},
        }
        tmp = meta_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
        os.replace(tmp, meta_path)

    @classmethod
    def load(cls, folder: Path, mode: str | None = None) -> "LexicalIndex":
        """Load an index written by :meth:`save`.

        Raises ``FileNotFoundError`` when there is no (complete) index in
        ``folder``, and :class:`LexicalIndexError` when it is corrupt, was
        built with another tokenizer version, or (if ``mode`` is given) with
        another tokenizer mode. A loaded index is searched, not saved again.
        """
        folder = Path(folder)
        meta_path = folder / META_FILE
        if not meta_path.is_file():
            raise FileNotFoundError(errno.ENOENT, f"no lexical index in {folder} (or its save did not finish): "
                                    "build the index", str(meta_path))
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
            saved_mode = meta["mode"]
            size = int(meta["documents"])
            versions = (meta["format"], meta["tokenizer_version"])
        except (ValueError, KeyError, TypeError) as exc:
            raise LexicalIndexError(f"lexical index {folder}: unreadable {META_FILE} ({exc})") from exc
        if saved_mode not in set(Tokenizer):
            raise LexicalIndexError(f"lexical index {folder}: unknown tokenizer mode {saved_mode!r}")
        saved_mode = Tokenizer(saved_mode)
        if mode is not None and mode != saved_mode:
            raise LexicalIndexError(f"lexical index {folder} was built with tokenizer {saved_mode!r}, "
                                    f"not {mode!r}: rebuild the index")
        if versions != (FORMAT_VERSION, TOKENIZER_VERSION):
            raise LexicalIndexError(f"lexical index {folder} has format/tokenizer version {versions}, this code "
                                    f"{(FORMAT_VERSION, TOKENIZER_VERSION)}: rebuild the index")
        if saved_mode is Tokenizer.JIEBA and meta.get("jieba") != _jieba_version():
            raise LexicalIndexError(f"lexical index {folder} was cut with jieba {meta.get('jieba')}, "
                                    f"installed is {_jieba_version()}: rebuild the index")
        try:
            bm25 = _SavedScores(folder)
        except FileNotFoundError:
            raise
        except (ValueError, KeyError, TypeError, OSError) as exc:
            raise LexicalIndexError(f"lexical index {folder} is unreadable ({exc}): rebuild the index") from exc
        _check_consistent(folder, bm25, size)
        return cls(bm25, saved_mode, size)


def _check_consistent(folder: Path, bm25: "bm25s.BM25 | _SavedScores", size: int) -> None:
    """Cheap structural checks, so a damaged file fails at load and not as a
    wrong ranking or an IndexError in the middle of a query."""
    scores = bm25.scores
    data, indices, indptr = scores["data"], scores["indices"], scores["indptr"]
    vocab = bm25.vocab_dict
    problem = None
    if scores["num_docs"] != size:
        problem = f"{scores['num_docs']} documents in the BM25 files, {size} in {META_FILE}"
    elif len(indptr) != len(vocab) + 1 or (len(indptr) and indptr[-1] != len(data)):
        problem = f"term table does not match the vocabulary ({len(indptr)} offsets, {len(vocab)} terms)"
    elif len(indices) != len(data):
        problem = "score and document arrays differ in length"
    elif len(indices) and (indices.min() < 0 or indices.max() >= size):
        problem = "document numbers out of range"
    elif vocab and (min(vocab.values()) < 0 or max(vocab.values()) >= len(vocab)):
        problem = "term ids out of range"
    if problem:
        raise LexicalIndexError(f"lexical index {folder} is corrupt: {problem}: rebuild the index")


def _jieba_version() -> str:
    import jieba

    return str(jieba.__version__)
