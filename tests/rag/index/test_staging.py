"""rag.index.staging: the build's embedding stream, longest texts first,
staged batch by batch so an interrupted build resumes where it stopped."""

from __future__ import annotations

import numpy as np
import pytest

from rag.index.staging import Staging, embed_stream, text_key

DIM = 4


def encoder(calls: list[list[str]]):
    """A stand-in encoder: vector i is (len(text), i-th char code, 0, 1), normalised."""
    def encode(texts, within):
        calls.append(list(texts))
        within(len(texts) // 2, len(texts))
        rows = np.array([[len(t), ord(t[0]), 0.0, 1.0] for t in texts], dtype=np.float32)
        return rows / np.linalg.norm(rows, axis=1, keepdims=True)
    return encode


def test_texts_go_longest_first_in_staged_batches_and_repeats_are_embedded_once(tmp_path):
    texts = ["a", "bbbb", "cc", "bbbb", "ddd", "eeeee"]
    staging = Staging(tmp_path, "settings")
    calls, steps = [], []
    result = embed_stream(texts, "passage: ", encoder(calls), DIM, staging, {}, checkpoint=2, progress=steps.append)
    assert calls == [["eeeee", "bbbb"], ["ddd", "cc"], ["a"]]
    assert np.array_equal(result.vectors[1], result.vectors[3]) and result.staged == frozenset()
    assert len(list((tmp_path / "settings").glob("batch-*.npz"))) == 3
    # Progress counts distinct texts, with a rate and, once started, the time left.
    assert (steps[0].done, steps[0].total, steps[0].eta) == (0, 5, None)
    assert steps[-1].done == 5 and steps[-1].eta == 0
    assert [s.done for s in steps] == sorted(s.done for s in steps)


def test_a_rerun_takes_staged_vectors_and_embeds_only_the_rest(tmp_path):
    texts = ["一二三四", "五六七", "八九", "十"]
    staging = Staging(tmp_path, "settings")
    first_calls: list[list[str]] = []

    def crash_after_one_batch(batch, within):
        if first_calls:
            raise RuntimeError("crash")
        return encoder(first_calls)(batch, within)

    with pytest.raises(RuntimeError):
        embed_stream(texts, "passage: ", crash_after_one_batch, DIM, staging, {}, checkpoint=2)
    known = Staging(tmp_path, "settings").load()
    assert set(known) == {text_key("passage: ", t) for t in ("一二三四", "五六七")}
    calls: list[list[str]] = []
    result = embed_stream(texts, "passage: ", encoder(calls), DIM, staging, known, checkpoint=2)
    assert calls == [["八九", "十"]] and len(result.staged) == 2
    fresh = embed_stream(texts, "passage: ", encoder([]), DIM, Staging(tmp_path / "other", "s"), {}, checkpoint=2)
    assert np.array_equal(result.vectors, fresh.vectors)


def test_the_prefix_is_part_of_the_key(tmp_path):
    assert text_key("query: ", "学习") != text_key("passage: ", "学习")


def test_batches_shrink_to_the_seconds_checkpoint_when_texts_embed_slowly(tmp_path, monkeypatch):
    # A clock the encoder moves: every text takes one second.
    import rag.index.staging as staging_module

    now = [0.0]
    monkeypatch.setattr(staging_module.time, "perf_counter", lambda: now[0])
    calls: list[list[str]] = []
    plain = encoder(calls)

    def slow(texts, within):
        now[0] += len(texts)
        return plain(texts, within)

    texts = [f"{i:03d}" for i in range(100)]
    embed_stream(texts, "passage: ", slow, DIM, Staging(tmp_path, "s"), {}, checkpoint=1000, checkpoint_seconds=10)
    sizes = [len(c) for c in calls]
    # The first batch holds FIRST_BATCH texts (the pace is unknown), then ten seconds' worth each.
    assert sizes[0] == staging_module.FIRST_BATCH and set(sizes[1:-1]) == {10} and sum(sizes) == 100
    assert len(list((tmp_path / "s").glob("batch-*.npz"))) == len(calls)


def test_a_streams_vectors_live_in_an_unnamed_file_not_in_the_processs_memory(tmp_path):
    texts = ["一二三四", "五六七", "八九", "五六七"]
    staging = Staging(tmp_path, "settings")
    result = embed_stream(texts, "passage: ", encoder([]), DIM, staging, {}, checkpoint=2)
    expected = encoder([])(texts, lambda done, total: None)
    # Memory-mapped (page cache), equal to what the encoder returned, repeats included.
    assert isinstance(result.vectors, np.memmap)
    assert np.allclose(result.vectors, expected)
    # The file has no name: nothing but the staged batches is left beside them.
    assert {p.suffix for p in (tmp_path / "settings").iterdir()} == {".npz"}
    staging.clear()
    assert np.allclose(result.vectors, expected)   # the map outlives the folder


def test_an_empty_stream_gives_no_vectors(tmp_path):
    result = embed_stream([], "passage: ", encoder([]), DIM, Staging(tmp_path, "s"), {}, checkpoint=2)
    assert result.vectors.shape == (0, DIM)


def test_staged_vectors_are_read_back_memory_mapped_one_batch_file_at_a_time(tmp_path):
    texts = ["一二三四", "五六七", "八九", "十"]
    staging = Staging(tmp_path, "settings")
    embedded = embed_stream(texts, "passage: ", encoder([]), DIM, staging, {}, checkpoint=2)
    (tmp_path / "settings" / "batch-999999-0.npz").write_bytes(b"not a zip")    # skipped, with a warning
    known = Staging(tmp_path, "settings").load()
    assert len(known) == 4
    for text, vector in zip(texts, embedded.vectors):
        row = known[text_key("passage: ", text)]
        assert isinstance(row.base, np.memmap) and np.array_equal(row, vector)
