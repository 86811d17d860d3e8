"""rag.retrieve.retriever: fusion of dense and lexical rankings, and the full search."""

from __future__ import annotations

import pytest

from support import make_config
from rag.retrieve.fusion import Candidate, fuse
from rag.retrieve.retriever import corpus_is_cjk, is_cjk_text, same_script

CONFIG = make_config("corpus", "index")


def test_rrf_puts_a_row_both_retrievers_found_above_rows_only_one_found():
    dense = [Candidate(1, 0.9), Candidate(2, 0.8), Candidate(3, 0.7)]
    lexical = [Candidate(4, 12.0), Candidate(3, 9.0), Candidate(1, 1.0)]
    order = [c.row for c in fuse(dense, lexical, "rrf", CONFIG)]
    # 1: 1/61 + 1/63; 3: 1/63 + 1/62; 4: 1/61; 2: 1/62
    assert order == [1, 3, 4, 2]


def test_weighted_fusion_uses_min_max_normalised_scores():
    dense = [Candidate(1, 0.90), Candidate(2, 0.85), Candidate(3, 0.80)]
    lexical = [Candidate(3, 10.0), Candidate(2, 9.0), Candidate(1, 0.0)]
    fused = fuse(dense, lexical, "weighted", CONFIG)
    # 1: 1.0 + 0.0; 2: 0.5 + 0.9; 3: 0.0 + 1.0
    assert [c.row for c in fused] == [2, 1, 3]
    assert fused[0].score == pytest.approx(1.4)
    assert (fused[0].dense_rank, fused[0].lexical_rank) == (2, 2)


def test_a_scaled_down_lexical_weight_lets_dense_decide():
    # Normalised: dense 1: 1.0, 2: 0.25, 3: 0.0; lexical 2: 1.0, 3: 0.5, 1: 0.0.
    dense = [Candidate(1, 0.9), Candidate(2, 0.6), Candidate(3, 0.5)]
    lexical = [Candidate(2, 10.0), Candidate(3, 5.0), Candidate(1, 0.0)]
    # Full lexical weight: 2 (0.25 + 1.0) beats dense's first, 1 (1.0 + 0.0).
    full = fuse(dense, lexical, "weighted", CONFIG)
    assert [c.row for c in full] == [2, 1, 3] and full[0].score == pytest.approx(1.25)
    # A quarter of it: 1 (1.0) > 2 (0.25 + 0.25) > 3 (0.125): the dense order.
    scaled = fuse(dense, lexical, "weighted", CONFIG, lexical_scale=0.25)
    assert [c.row for c in scaled] == [1, 2, 3]
    assert [c.score for c in scaled] == pytest.approx([1.0, 0.5, 0.125])


def test_single_retriever_modes_keep_only_that_retrievers_rows():
    dense = [Candidate(1, 0.9)]
    lexical = [Candidate(2, 3.0)]
    assert [c.row for c in fuse(dense, lexical, "dense", CONFIG)] == [1]
    assert [c.row for c in fuse(dense, lexical, "lexical", CONFIG)] == [2]


def test_unknown_fusion_is_refused():
    with pytest.raises(ValueError, match="unknown fusion"):
        fuse([], [], "max", CONFIG)


def test_rerank_lifts_the_chunk_whose_sentence_answers(essay_engine):
    question = "对已经成熟的做法应当怎么处理？"
    plain = [h.chunk for h in essay_engine.with_overrides(rerank=False).search(question, k=10)]
    reranked = [h.chunk for h in essay_engine.search(question, k=10)]
    answer = next(c.id for c in reranked if "对已经成熟的做法要尽快形成制度" in c.text)
    # Fusion alone ranks another chunk above it (measured: second); the
    # sentence-level rerank is what puts it first.
    assert reranked[0].id == answer
    assert [c.id for c in plain].index(answer) > 0, "fusion alone already ranks it first: the test no longer shows rerank"


def test_english_question_finds_the_chinese_passage(essay_engine):
    hits = essay_engine.search("What should organization department staff learn to keep up with the times?", k=5)
    assert any("大政方针" in h.chunk.text for h in hits)


def test_a_lexical_search_that_found_nothing_leaves_the_dense_order():
    dense = [Candidate(3, 0.9), Candidate(1, 0.8), Candidate(2, 0.7)]
    for method in ("rrf", "weighted"):
        assert [c.row for c in fuse(dense, [], method, CONFIG)] == [3, 1, 2]


def test_rrf_weights_and_k_come_from_the_config():
    dense = [Candidate(1, 0.9), Candidate(2, 0.8)]
    lexical = [Candidate(2, 5.0), Candidate(1, 1.0)]
    # Equal weights tie 1 and 2 (1/61 + 1/62 each): the dense rank decides.
    assert [c.row for c in fuse(dense, lexical, "rrf", CONFIG)] == [1, 2]
    leaning = CONFIG.replace(lexical_weight=2.0)
    assert [c.row for c in fuse(dense, lexical, "rrf", leaning)] == [2, 1]
    fused = fuse(dense, lexical, "rrf", CONFIG.replace(rrf_k=0))
    assert fused[0].score == pytest.approx(1 / 1 + 1 / 2)


@pytest.mark.parametrize("question, script", [
    ("组织部门的职能是什么？", True),
    ("What is the DQ 冰淇淋 rule?", True),     # one ideograph makes it Chinese
    ("What should staff learn?", False),
    ("2017", None),                            # no letters: any script
])
def test_question_script(question, script):
    assert is_cjk_text(question) is script


def test_same_script_compares_the_question_with_the_corpus(essay_engine):
    store = essay_engine.retriever().store
    assert corpus_is_cjk(store)
    assert same_script("组织工作", store) and same_script("2017", store)
    assert not same_script("organization work", store)
