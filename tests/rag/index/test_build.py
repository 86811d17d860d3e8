"""rag.index.build: incremental, resumable, atomic index builds with FAISS
and BM25. What the real embedder made is checked on the session's essay index
(tests/conftest.py); the build mechanics (reuse, staging, counts, the atomic
swap, resuming, bad input) run with the deterministic fake embedder of
tests/fakes.py, as they do not depend on what the vectors mean."""

from __future__ import annotations

import json
import shutil
import time

import numpy as np
import pytest

from support import ESSAY, make_config
from fakes import FakeEmbedder
from rag.index.build import BuildError, build_index
from rag.index.changes import FileHashes, corpus_changes
from rag.index.store import IndexCorrupt, IndexMissing, IndexStore, current_version, read_manifest
from rag.index.texts import sentence_text

ESSAY_TEXT = ESSAY.read_text("utf-8")
# Two small documents cut from the essay keep these builds quick.
PART_A = ESSAY_TEXT[:1500]
PART_B = ESSAY_TEXT[6000:7500]


def build(config, embedder=None, **options):
    """build_index with a fake embedder (a fresh one unless given)."""
    return build_index(config, embedder=embedder or FakeEmbedder(), **options)


@pytest.fixture()
def small(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(PART_A, "utf-8")
    (corpus / "b.txt").write_text(PART_B, "utf-8")
    return make_config(corpus, tmp_path / "index")


def test_every_chunk_is_verbatim_at_its_offsets_in_the_built_index(essay_config):
    store = IndexStore.load(essay_config.index_dir)
    assert store.chunks, "the essay produced no chunks"
    for chunk in store.chunks:
        assert store.documents[chunk.doc].text[chunk.start:chunk.end] == chunk.text
    assert store.documents["innovating-organizational-work.txt"].text == ESSAY_TEXT


def test_manifest_records_embedder_chunker_and_document_hashes(essay_config):
    import hashlib

    manifest = read_manifest(essay_config.index_dir)
    assert manifest.embedder == "multilingual-e5-small" and manifest.dim == 384
    assert manifest.chunker == essay_config.chunker_settings()
    (entry,) = manifest.documents
    assert entry.sha256 == hashlib.sha256(ESSAY.read_bytes()).hexdigest()
    assert entry.metadata.get("date", "").startswith("2022-11-18")


def test_a_build_too_small_to_repay_the_bulk_runtime_embeds_with_the_question_runtime(essay_config, tmp_path,
                                                                                        monkeypatch):
    from rag.models import embedder as embedder_module
    from rag.models.embedder import Embedder

    config = essay_config.replace(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    shutil.copytree(essay_config.corpus_dir, config.corpus_dir)
    question = Embedder.from_config(config)
    # only the question embedder loaded: the build must decide about the bulk one (bf16 on AMX) itself
    monkeypatch.setattr(embedder_module, "_CACHE", {k: v for k, v in embedder_module._CACHE.items() if v is question})
    report = build_index(config)
    # the essay is ~23,000 tokens to embed: under BULK_MIN_TOKENS on every machine
    assert report.runtime == question.runtime and report.runtime in report.summary()
    assert list(embedder_module._CACHE.values()) == [question]
    assert IndexStore.load(config.index_dir).manifest.embedder == question.name


def test_second_build_reuses_every_unchanged_document(small):
    first = build(small)
    assert sorted(first.embedded_documents) == ["a.txt", "b.txt"]
    second = build(small)
    assert second.embedded_documents == [] and sorted(second.reused_documents) == ["a.txt", "b.txt"]
    assert second.chunks == first.chunks


def test_changed_added_and_removed_documents_are_seen_and_only_new_text_embedded(small):
    build(small)
    (small.corpus_dir / "b.txt").write_text(PART_B + "\n新增的一句话。", "utf-8")
    (small.corpus_dir / "c.md").write_text("# 新文件\n\n青松湖位于北岭县东侧。", "utf-8")
    (small.corpus_dir / "a.txt").unlink()
    assert sorted(corpus_changes(small, read_manifest(small.index_dir))) == ["a.txt", "b.txt", "c.md"]

    report = build(small)
    assert sorted(report.embedded_documents) == ["b.txt", "c.md"] and report.reused_documents == []
    store = IndexStore.load(small.index_dir)
    assert {c.doc for c in store.chunks} == {"b.txt", "c.md"}
    assert [c.id for c in store.chunks] == list(range(len(store.chunks)))
    assert corpus_changes(small, store.manifest) == []


def test_status_checks_do_not_reread_unchanged_files_but_see_a_same_size_rewrite(small, monkeypatch):
    import os
    from pathlib import Path

    build(small)
    manifest = read_manifest(small.index_dir)
    old = 1_600_000_000  # files last touched long ago, as a real corpus's are
    for path in small.corpus_dir.iterdir():
        os.utime(path, (old, old))
    hashes = FileHashes()
    assert corpus_changes(small, manifest, hashes) == []  # hashes and remembers them

    opened = []
    real_open = Path.open
    monkeypatch.setattr(Path, "open", lambda self, *a, **k: opened.append(self.name) or real_open(self, *a, **k))
    assert corpus_changes(small, manifest, hashes) == [] and opened == []

    # Same length, new bytes, just written: a timestamp that could collide is
    # not trusted, so the file is read again and the change seen.
    a = small.corpus_dir / "a.txt"
    a.write_text(PART_A[:-1] + ("。" if PART_A[-1] != "。" else "，"), "utf-8")
    assert a.stat().st_size == len(PART_A.encode("utf-8"))
    opened.clear()  # write_text opened it too
    assert corpus_changes(small, manifest, hashes) == ["a.txt"] and opened == ["a.txt"]


def test_interrupted_build_keeps_the_old_index_serving_and_resumes_from_its_last_batch(small, monkeypatch):
    build(small)
    serving = current_version(small.index_dir)
    before = IndexStore.load(small.index_dir).chunks

    (small.corpus_dir / "a.txt").write_text(PART_A + "\n第一处修改。", "utf-8")
    (small.corpus_dir / "b.txt").write_text(PART_B + "\n第二处修改。", "utf-8")
    config = small.replace(embed_checkpoint=8)
    embedder = FakeEmbedder()
    real = embedder.embed_passages
    batches: list[list[str]] = []
    crash = [True]

    def crash_on_the_third_batch(texts, progress=None):
        if crash[0] and len(batches) == 2:
            raise RuntimeError("simulated crash while embedding")
        batches.append(list(texts))
        return real(texts, progress)

    monkeypatch.setattr(embedder, "embed_passages", crash_on_the_third_batch)
    with pytest.raises(RuntimeError, match="simulated crash"):
        build(config, embedder)
    assert current_version(small.index_dir) == serving
    assert IndexStore.load(small.index_dir).chunks == before

    # The rerun embeds only what the two finished batches did not.
    finished = {t for batch in batches for t in batch}
    batches.clear()
    crash[0] = False
    report = build(config, embedder)
    again = {t for batch in batches for t in batch}
    assert len(finished) == 16 and not finished & again
    stats = report.stats
    assert stats.chunks_staged + stats.sentences_staged + stats.clauses_staged == 16
    assert sorted(report.embedded_documents) == ["a.txt", "b.txt"]
    assert not (small.index_dir / ".staging").exists()
    # ... and builds exactly the index an uninterrupted build makes.
    clean = small.replace(index_dir=small.index_dir.parent / "clean")
    build(clean)
    resumed, fresh = IndexStore.load(small.index_dir), IndexStore.load(clean.index_dir)
    assert resumed.chunks == fresh.chunks
    assert np.array_equal(resumed.vectors, fresh.vectors)
    assert np.array_equal(resumed.sentences.vectors, fresh.sentences.vectors)
    assert np.array_equal(resumed.clauses.vectors, fresh.clauses.vectors)


def test_a_corrupt_staged_batch_is_embedded_again(small, monkeypatch):
    config = small.replace(embed_checkpoint=8)
    embedder = FakeEmbedder()
    real = embedder.embed_passages
    calls = []

    def crash_on_the_second_batch(texts, progress=None):
        calls.append(len(texts))
        if len(calls) == 2:
            raise RuntimeError("simulated crash")
        return real(texts, progress)

    monkeypatch.setattr(embedder, "embed_passages", crash_on_the_second_batch)
    with pytest.raises(RuntimeError):
        build(config, embedder)
    (staged,) = (small.index_dir / ".staging").rglob("batch-*.npz")
    staged.write_bytes(b"half-written")
    calls.append("rerun")   # from here on no call is the second
    report = build(config, embedder)
    assert report.stats.chunks_staged + report.stats.sentences_staged == 0
    assert IndexStore.load(small.index_dir).chunks


def test_empty_corpus_is_a_clear_error_and_keeps_the_old_index(small):
    build(small)
    serving = current_version(small.index_dir)
    for f in small.corpus_dir.iterdir():
        f.unlink()
    with pytest.raises(BuildError, match="no indexable documents"):
        build(small)
    assert current_version(small.index_dir) == serving


def test_missing_corpus_folder_is_a_clear_error(tmp_path):
    config = make_config(tmp_path / "nowhere", tmp_path / "index")
    with pytest.raises(BuildError, match="does not exist"):
        build(config)


def test_undecodable_file_is_skipped_with_its_reason_and_the_rest_built(small):
    (small.corpus_dir / "broken.txt").write_bytes(b"\x00\x01\x02binary\xff\xfe" * 50)
    report = build(small)
    assert [f.path for f in report.failed] == ["broken.txt"]
    assert sorted(IndexStore.load(small.index_dir).manifest.documents[i].path for i in range(2)) == ["a.txt", "b.txt"]
    assert read_manifest(small.index_dir).failed[0].path == "broken.txt"


def test_full_rebuild_embeds_everything_again(small):
    build(small)
    report = build(small, full=True)
    assert sorted(report.embedded_documents) == ["a.txt", "b.txt"]


def test_old_versions_are_removed_after_publishing(small):
    build(small)
    build(small, full=True)
    assert len(list(small.index_dir.glob("v-*"))) == 1


def test_missing_or_corrupt_index_files_are_named_in_the_error(small):
    with pytest.raises(IndexMissing, match="python -m ingest"):
        IndexStore.load(small.index_dir)
    build(small)
    folder = current_version(small.index_dir)
    (folder / "dense.faiss").unlink()
    with pytest.raises(IndexCorrupt, match="dense.faiss"):
        IndexStore.load(small.index_dir)
    shutil.rmtree(folder)
    with pytest.raises(IndexCorrupt, match="not an index folder"):
        IndexStore.load(small.index_dir)


def test_chunk_table_rows_match_vectors(small):
    build(small)
    folder = current_version(small.index_dir)
    rows = (folder / "chunks.jsonl").read_text("utf-8").splitlines()
    store = IndexStore.load(small.index_dir)
    assert len(rows) == store.vectors.shape[0] == store.dense.ntotal
    first = json.loads(rows[0])
    assert set(first) >= {"id", "doc", "title", "section", "start", "end", "text"}


class _TickingClock:
    """The ``time`` module with a ``perf_counter`` that advances one second
    per reading: a stage's seconds are then positive exactly when its timer
    ran, whatever the machine's speed."""

    def __init__(self) -> None:
        self.now = 0.0

    def perf_counter(self) -> float:
        self.now += 1.0
        return self.now

    def __getattr__(self, name):
        return getattr(time, name)


def test_stats_time_every_stage_and_count_what_was_embedded_or_reused(small, monkeypatch):
    import rag.index.build as build_module
    import rag.index.progress as progress_module
    from rag.index.progress import Stage, Step

    clock = _TickingClock()   # one clock for the build's total and its stages' timers
    monkeypatch.setattr(build_module, "time", clock)
    monkeypatch.setattr(progress_module, "time", clock)
    steps = []
    first = build(small, progress=steps.append)
    stats = first.stats
    # A first build runs every stage but reuse; each stage's time lies within the build's.
    assert list(stats.seconds) == list(Step)
    assert {s for s, t in stats.seconds.items() if t > 0} == set(Step) - {Step.REUSE}
    assert sum(stats.seconds.values()) < first.seconds
    assert (stats.chunks_embedded, stats.chunks_reused, stats.chunks_staged) == (first.chunks, 0, 0)
    store = IndexStore.load(small.index_dir)
    assert stats.terms_embedded == len(store.terms) and stats.terms_reused == 0
    distinct = len({sentence_text(c, store.documents[c.doc].text[a:b]) for i, c in enumerate(store.chunks)
                    for a, b in store.sentences.spans_of(i)})
    assert stats.sentences_embedded == distinct
    clauses = {sentence_text(c, store.documents[c.doc].text[a:b]) for i, c in enumerate(store.chunks)
               for a, b in store.clauses.spans_of(i)}
    assert stats.clauses_embedded == len(clauses) > 0

    # Both documents' chunks, sentences and clauses are embedded as one stream, then the new terms.
    embeds = [p for p in steps if p.stage is Stage.EMBED]
    terms = [p for p in steps if p.stage is Stage.TERMS]
    assert embeds[-1].done == embeds[-1].total == (stats.chunks_embedded + stats.sentences_embedded
                                                   + stats.clauses_embedded)
    assert terms[-1].done == terms[-1].total == stats.terms_embedded
    assert all(p.rate > 0 and p.eta is not None for p in embeds[1:])

    again = build(small)
    second = again.stats
    # Nothing changed: the documents are reused, none chunked or embedded.
    assert {s for s, t in second.seconds.items() if t > 0} == set(Step) - {Step.CHUNK, Step.EMBED}
    assert sum(second.seconds.values()) < again.seconds
    assert (second.chunks_embedded, second.sentences_embedded, second.terms_embedded) == (0, 0, 0)
    assert (second.chunks_reused, second.sentences_reused) == (first.chunks, stats.sentences_embedded)
    assert (second.clauses_embedded, second.clauses_reused) == (0, stats.clauses_embedded)
    assert second.terms_reused == stats.terms_embedded


def test_consecutive_slices_of_the_streams_vectors_are_stacked_without_a_copy():
    from rag.index.build import _stacked

    stream = np.arange(40, dtype=np.float32).reshape(10, 4).copy()     # owns its rows, as the stream's map does
    parts = [stream[2:5], stream[5:5], stream[5:9]]      # a document with no sentences in between
    stacked = _stacked(parts)
    assert np.shares_memory(stacked, stream) and np.array_equal(stacked, np.vstack(parts))
    # A gap, or a part from elsewhere (a reused document), is copied as np.vstack would.
    for other in ([stream[0:2], stream[3:4]], [stream[0:2], np.ones((1, 4), np.float32)]):
        stacked = _stacked(other)
        assert not np.shares_memory(stacked, stream) and np.array_equal(stacked, np.vstack(other))
