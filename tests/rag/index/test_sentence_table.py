"""The index's sentence, clause and term tables (rag.index.store, built by rag.index.build)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from rag.answer.units import units
from rag.index.texts import chunk_sentence_spans, passage_text, sentence_text
from rag.index.store import IndexCorrupt, IndexStore, SentenceTable, current_version


@pytest.fixture(scope="module")
def store(essay_config) -> IndexStore:
    return IndexStore.load(essay_config.index_dir)


def test_every_chunk_is_tiled_by_its_sentences_in_order(store):
    for row, chunk in enumerate(store.chunks):
        spans = store.sentences.spans_of(row)
        sentences, vectors = store.sentences_of(row)
        assert spans and len(sentences) == len(spans) == len(vectors)
        text = store.documents[chunk.doc].text
        # The sentences are this chunk's (not a neighbour's), in order, each
        # stripped and non-empty, and between them only whitespace: together
        # they hold every character of the chunk's text.
        edges = [chunk.start, *(x for span in spans for x in span), chunk.end]
        assert edges == sorted(edges), f"chunk {row}: spans {spans} out of order or outside the chunk"
        assert all(text[a:b].strip() == text[a:b] != "" for a, b in spans)
        gaps = [text[b:a] for b, a in zip(edges[::2], edges[1::2])]
        assert all(not gap.strip() for gap in gaps), f"chunk {row}: text outside its sentences: {gaps}"
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-3)


def test_sentence_vectors_are_the_embedded_sentences_with_their_title(store, essay_engine):
    sentences, vectors = store.sentences_of(3)
    chunk = store.chunks[3]
    again = essay_engine.embedder.embed_passages([sentence_text(chunk, sentences[0].text)])[0]
    assert float(again @ vectors[0]) > 0.999
    assert passage_text(chunk).startswith(chunk.title)


def test_a_repeated_overlap_sentence_has_one_vector(store):
    doc = store.documents[store.chunks[0].doc]
    spans = [chunk_sentence_spans(doc, c) for c in store.chunks]
    shared = [(i, a) for i in range(len(spans) - 1) for a in spans[i] if a in spans[i + 1]]
    assert shared, "the essay's chunks overlap by a sentence"
    i, (start, end) = shared[0]
    first = dict(zip(store.sentences.spans_of(i), store.sentences_of(i)[1]))
    second = dict(zip(store.sentences.spans_of(i + 1), store.sentences_of(i + 1)[1]))
    assert np.array_equal(first[(start, end)], second[(start, end)])


def test_every_answer_unit_of_a_chunk_is_a_stored_sentence_or_clause(store):
    clauses = 0
    for row, chunk in enumerate(store.chunks):
        sentences, clause_spans = set(store.sentences.spans_of(row)), store.clauses.spans_of(row)
        found = [(u.start, u.end) for u in units(chunk.text, chunk.start)]
        assert clause_spans == [span for span in found if span not in sentences]
        clauses += len(clause_spans)
    assert clauses > 10, "the essay cuts many sentences at semicolons"
    assert store.clauses.vectors.shape == (clauses, store.vectors.shape[1])


def test_clause_vectors_are_the_embedded_clauses_with_their_title(store, essay_engine):
    row = next(r for r in range(len(store.chunks)) if store.clauses.spans_of(r))
    chunk, (start, end) = store.chunks[row], store.clauses.spans_of(row)[0]
    text = store.documents[chunk.doc].text[start:end]
    again = essay_engine.embedder.embed_passages([sentence_text(chunk, text)])[0]
    assert float(again @ store.clauses.vectors[store.clauses.rows_of(row).start]) > 0.999


def test_the_term_table_holds_the_corpus_terms_with_unit_vectors(store):
    assert len(store.terms) > 100 and "组织" in store.terms.terms
    assert store.terms.vectors.shape == (len(store.terms), store.vectors.shape[1])
    assert np.allclose(np.linalg.norm(store.terms.vectors, axis=1), 1.0, atol=1e-3)


def test_table_offsets_split_rows_by_chunk():
    table = SentenceTable.from_parts([[(0, 2), (2, 5)], [(5, 9)]], np.eye(3, dtype=np.float32))
    assert list(table.rows_of(0)) == [0, 1] and list(table.rows_of(1)) == [2]
    assert table.spans_of(1) == [(5, 9)] and len(table) == 3


@pytest.mark.parametrize("damage, message", [
    (lambda f: (f / "sentence_vectors.npy").unlink(), "sentence_vectors.npy"),
    (lambda f: np.save(f / "sentence_vectors.npy", np.zeros((2, 384), dtype=np.float32)), "sentence table"),
    (lambda f: (f / "sentences.npz").write_bytes(b"PK\x03\x04 truncated"), "unreadable"),
    (lambda f: np.save(f / "term_vectors.npy", np.zeros((1, 384), dtype=np.float32)), "term table"),
    (lambda f: (f / "clause_vectors.npy").unlink(), "clause_vectors.npy"),
    (lambda f: np.save(f / "clause_vectors.npy", np.zeros((1, 384), dtype=np.float32)), "clause table"),
    (lambda f: (f / "term_stats.json").write_text("[]"), "unreadable"),
])
def test_a_damaged_table_is_refused_with_the_command_that_fixes_it(tmp_path, essay_config, damage, message):
    index = tmp_path / "index"
    shutil.copytree(essay_config.index_dir, index)
    damage(current_version(index))
    with pytest.raises(IndexCorrupt, match=message) as caught:
        IndexStore.load(index)
    assert "--rebuild" in str(caught.value)
