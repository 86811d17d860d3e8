"""rag.retrieve.rerank: terms, the match signal, and re-ordering on a hand-built index."""

from __future__ import annotations

import numpy as np
import pytest

from support import make_config
from rag.index.term_table import TermTable
from ingest.records import Chunk, Document
from rag.retrieve.rerank import match, rerank, signals, terms
from rag.retrieve.fusion import FusedCandidate
from rag.index.store import IndexStore, Manifest, SentenceTable

CONFIG = make_config("corpus", "index")
TEXT = "罗保铭，天津人。曾任海南省省长。1992年4月，任大港区委副书记。1994年任书记。"


def unit(*xs: float) -> np.ndarray:
    v = np.array(xs, dtype=np.float32)
    return v / np.linalg.norm(v)


def span(needle: str) -> tuple[int, int]:
    start = TEXT.index(needle)
    return start, start + len(needle)


@pytest.fixture()
def store(tmp_path) -> IndexStore:
    """Two chunks of one biography. The lead chunk's vector is closest to the
    question (it names the subject); the second chunk holds the sentence
    that answers it, and that sentence's vector is closest of all."""
    doc = Document("bio.txt", "罗保铭", TEXT, "txt", "0" * 64, len(TEXT.encode()))
    lead, second = span("罗保铭，天津人。曾任海南省省长。"), span("1992年4月，任大港区委副书记。1994年任书记。")
    chunks = [Chunk(0, doc.path, doc.title, "", *lead, TEXT[slice(*lead)]),
              Chunk(1, doc.path, doc.title, "", *second, TEXT[slice(*second)])]
    vectors = np.stack([unit(0.95, 0.31, 0), unit(0.85, 0, 0.53)])
    sentence_spans = [[span("罗保铭，天津人。"), span("曾任海南省省长。")],
                      [span("1992年4月，任大港区委副书记。"), span("1994年任书记。")]]
    sentence_vectors = np.stack([unit(0.6, 0.8, 0), unit(0.6, 0, 0.8), unit(0.9, 0, 0.44), unit(0.5, 0.87, 0)])
    manifest = Manifest("test", 3, {}, "jieba", "", [])
    return IndexStore(tmp_path / "v-test", manifest, {doc.path: doc}, chunks, vectors, None, None,
                      SentenceTable.from_parts(sentence_spans, sentence_vectors),
                      TermTable([], np.zeros((0, 3), dtype=np.float32)))


QUESTION = "1992年4月，罗保铭担任什么职务？"
QUERY = unit(1, 0, 0)


def fused(*rows: int) -> list[FusedCandidate]:
    return [FusedCandidate(row, 1.0 / (i + 1), None, None, i + 1, None) for i, row in enumerate(rows)]


# --- terms and match -----------------------------------------------------------


def test_terms_are_character_bigrams_across_digits_and_ideographs():
    assert terms("1992年4月") == {"19", "99", "92", "2年", "年4", "4月"}


def test_question_words_are_cut_out_before_bigrams_are_taken():
    assert terms("罗保铭担任什么职务？", question=True) == {"罗保", "保铭", "铭担", "担任", "职务"}


def test_latin_words_are_whole_words_and_question_stop_words_go():
    assert terms("What is Dairy Queen?", question=True) == {"dairy", "queen"}
    assert terms("DQ 的") == {"dq", "的"}


def test_match_is_the_share_of_the_question_weight_found():
    asked = frozenset({"a", "b", "c"})
    weights = {"a": 2.0, "b": 1.0, "c": 1.0}
    assert match(asked, weights, frozenset({"a", "x"})) == pytest.approx(0.5)
    assert match(asked, weights, frozenset()) == 0.0
    assert match(frozenset(), {}, frozenset({"a"})) == 0.0


# --- re-ordering -----------------------------------------------------------------


def test_the_chunk_whose_sentence_answers_goes_first(store):
    assert store.vectors[0] @ QUERY > store.vectors[1] @ QUERY   # fused order and chunk cosine favour the lead
    order = rerank(QUESTION, QUERY, fused(0, 1), store, None, CONFIG)
    assert [c.row for c in order] == [1, 0]
    assert order[0].score > order[1].score


def test_signals_are_on_their_fixed_scales_and_add_up(store):
    lead, answer = signals(QUESTION, QUERY, [0, 1], store, CONFIG, [2.0, 1.0])
    assert lead.sentence_cosine == pytest.approx(0.6, abs=1e-3)
    assert answer.sentence_cosine == pytest.approx(unit(0.9, 0, 0.44)[0], abs=1e-3)
    # The title counts for every sentence: 罗保铭 is matched in both chunks,
    # so only the date decides, and it is in the answer's sentence.
    assert answer.match > lead.match > 0
    assert (lead.fused, answer.fused) == (1.0, 0.5)
    expected = (answer.chunk_cosine + CONFIG.rerank_sentence_weight * answer.sentence_cosine
                + CONFIG.rerank_match_weight * answer.match + CONFIG.rerank_fused_weight * answer.fused)
    assert answer.score == pytest.approx(expected)


def test_only_the_window_is_reordered_and_the_rest_keeps_its_fused_order(store):
    config = CONFIG.replace(rerank_depth=1)
    assert [c.row for c in rerank(QUESTION, QUERY, fused(0, 1), store, None, config)] == [0, 1]
    tail = fused(0, 1) + [FusedCandidate(7, 0.01, None, None, None, 3)]
    out = rerank(QUESTION, QUERY, tail, store, None, CONFIG.replace(rerank_depth=2))
    assert [c.row for c in out] == [1, 0, 7] and out[2].score == 0.01


def test_a_missing_query_vector_is_embedded(store):
    class Embedder:
        calls = 0

        def embed_queries(self, texts):
            Embedder.calls += 1
            return np.stack([QUERY for _ in texts])

    assert [c.row for c in rerank(QUESTION, None, fused(0, 1), store, Embedder(), CONFIG)] == [1, 0]
    assert Embedder.calls == 1


def test_match_text_replaces_the_question_for_term_matching(store):
    # An English question matches no Chinese term; its translation does.
    english = signals("What post did he hold in April 1992?", QUERY, [1], store, CONFIG)[0]
    translated = signals("1992年4月 职务", QUERY, [1], store, CONFIG)[0]
    assert translated.match > english.match
