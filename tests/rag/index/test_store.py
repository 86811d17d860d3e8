"""rag.index.store: what is derived from a loaded index lives with it; an
index of another format is refused."""

from __future__ import annotations

import json
import shutil

import pytest

from rag.index.store import FORMAT_VERSION, IndexMismatch, IndexStore, current_version


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


def test_an_index_of_an_older_format_is_refused_before_its_files_are_read(essay_config, tmp_path):
    index = tmp_path / "index"
    shutil.copytree(essay_config.index_dir, index)
    folder = current_version(index)
    manifest = json.loads((folder / "manifest.json").read_text("utf-8"))
    manifest["format_version"] = FORMAT_VERSION - 1
    (folder / "manifest.json").write_text(json.dumps(manifest), "utf-8")
    (folder / "clauses.npz").unlink()          # an older version has no clause table
    with pytest.raises(IndexMismatch, match=f"format {FORMAT_VERSION - 1}, this program reads {FORMAT_VERSION}"):
        IndexStore.load(index)
