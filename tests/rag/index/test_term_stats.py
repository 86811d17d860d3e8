"""rag.index.term_stats: the reranker's chunk frequencies, counted by the
build and stored with the index."""

from __future__ import annotations

import dataclasses
import math

from ingest.records import Chunk
from rag.index.store import IndexStore
from rag.index.term_stats import TermStats
from rag.retrieve.rerank import term_stats


def chunk(i: int, text: str, title: str = "", section: str = "") -> Chunk:
    return Chunk(i, "a.txt", title, section, 0, len(text), text)


def test_a_term_counts_once_per_chunk_that_holds_it_in_its_text_title_or_section():
    stats = TermStats.count([chunk(0, "组织工作，组织部门", title="组织"), chunk(1, "工作方法", section="组织工作"),
                             chunk(2, "别的话题")])
    assert stats.chunks == 3
    assert stats.frequency["组织"] == 2 and stats.frequency["工作"] == 2 and stats.frequency["方法"] == 1
    assert "组" not in stats.frequency      # runs of two or more characters give bigrams only


def test_a_repeated_chunk_counts_once_per_copy():
    stats = TermStats.count([chunk(0, "组织工作"), chunk(1, "组织工作"), chunk(2, "方法")])
    assert stats.chunks == 3 and stats.frequency["组织"] == 2 and stats.frequency["方法"] == 1


def test_an_unseen_term_weighs_most_and_a_term_in_every_chunk_least():
    stats = TermStats.count([chunk(0, "组织工作"), chunk(1, "组织方法")])
    assert stats.idf("没有") == math.log(1 + 2 / 1) > stats.idf("工作") > stats.idf("组织") > 0


def test_saved_statistics_load_back_equal(tmp_path):
    stats = TermStats.count([chunk(0, "组织工作 AGG01", title="标题")])
    stats.save(tmp_path)
    assert TermStats.load(tmp_path) == stats


def test_the_reranker_takes_the_statistics_the_build_stored(essay_config):
    store = IndexStore.load(essay_config.index_dir)
    assert store.term_stats is not None and term_stats(store) is store.term_stats
    assert store.term_stats == TermStats.count(store.chunks)
    # A store put together without them has them counted, to the same numbers.
    assert term_stats(dataclasses.replace(store, term_stats=None)) == store.term_stats
