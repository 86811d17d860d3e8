"""rag.index.store: what is derived from a loaded index lives with it."""

from __future__ import annotations

from rag.index.store import IndexStore


def test_derived_data_is_computed_once_per_loaded_index_and_not_shared_between_loads(essay_config):
    calls = []

    def count_chunks(store: IndexStore) -> int:
        calls.append(store)
        return len(store.chunks)

    first = IndexStore.load(essay_config.index_dir)
    assert first.derived(count_chunks) == first.derived(count_chunks) == len(first.chunks)
    assert calls == [first]
    second = IndexStore.load(essay_config.index_dir)
    second.derived(count_chunks)
    assert len(calls) == 2 and calls[1] is second
