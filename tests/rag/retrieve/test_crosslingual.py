"""rag.index.term_table: a foreign-script question's words translated into corpus terms."""

from __future__ import annotations

import numpy as np

from rag.index.term_table import TermTable, corpus_terms, embed_terms
from rag.retrieve.crosslingual import question_words, translate

# A toy embedder: each word is a fixed direction; translations share one.
DIRECTIONS = {"learn": 0, "学习": 0, "staff": 1, "人员": 1, "times": 2, "时代": 2, "组织": 3}


class ToyEmbedder:
    dim = 4

    def __init__(self) -> None:
        self.embedded: list[str] = []

    def embed_queries(self, texts, batch_size=None):
        self.embedded += list(texts)
        out = np.full((len(texts), self.dim), 0.01, dtype=np.float32)
        for i, t in enumerate(texts):
            out[i, DIRECTIONS.get(t, 3)] = 1.0
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def test_corpus_terms_are_distinct_multi_character_non_numeric_and_sorted():
    terms = corpus_terms(["组织部门要加强学习。", "学习 2017 年 AGG01"], "jieba")
    assert terms == sorted(set(terms))
    assert "学习" in terms and "agg01" in terms
    assert "2017" not in terms and all(len(t) >= 2 for t in terms)


def test_question_words_drop_stop_words_and_fillers():
    assert question_words("What should the staff learn to keep up with the times?", "jieba") == \
        ["staff", "learn", "keep", "times"]


def test_each_word_becomes_its_nearest_corpus_term():
    embedder = ToyEmbedder()
    table = embed_terms(["人员", "学习", "时代", "组织"], embedder)
    translation = translate("What should staff learn?", table, embedder, "jieba")
    assert translation.words == ("staff", "learn")
    assert translation.terms == ("人员", "学习")
    assert translation.query == "人员 学习"
    assert all(s > 0.9 for s in translation.similarities)


def test_an_empty_table_or_question_translates_to_nothing():
    embedder = ToyEmbedder()
    empty = TermTable([], np.zeros((0, 4), dtype=np.float32))
    assert translate("What should staff learn?", empty, embedder, "jieba").query == ""
    assert translate("???", embed_terms(["学习"], embedder), embedder, "jieba").query == ""


def test_known_terms_keep_their_vectors_and_only_new_ones_are_embedded():
    embedder = ToyEmbedder()
    known = embed_terms(["学习", "人员"], embedder)
    embedder.embedded.clear()
    done = []
    table = embed_terms(["人员", "时代", "学习"], embedder, known, progress=lambda d, t: done.append((d, t)))
    assert embedder.embedded == ["时代"] and done == [(1, 1)]
    assert np.allclose(table.vectors[0], known.vectors[1]) and np.allclose(table.vectors[2], known.vectors[0])
