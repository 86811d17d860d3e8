"""ui.documents: the documents tab's handlers as plain Python, over a scripted engine."""

from __future__ import annotations

import pytest
from fake_engine import BuildError, FakeEngine, config_for

from ui.documents import Documents, DocumentsUpdate
from ui.page import Page
from ui.updates import KEEP, Change, Samples


@pytest.fixture
def engine(tmp_path) -> FakeEngine:
    return FakeEngine(config_for(tmp_path, upload_max_mb=1))


@pytest.fixture
def documents(engine) -> Documents:
    return Documents(Page(engine))


def test_rebuild_reports_counts_and_skipped_files_and_refreshes_status_table_and_examples(documents, engine):
    seen = []
    update = documents.rebuild({"lang": "zh"}, progress=lambda fraction, desc="": seen.append((fraction, desc)))
    assert engine.rebuilds == [False]
    assert update.build_msg.startswith('<div class="build-msg ok">✓ ') and "已索引 1 个文档" in update.build_msg
    assert "broken.pdf: no text" in update.build_msg
    assert "索引：1 个文档" in update.status and update.rebuild_top == Change(visible=False)
    assert update.table["data"][0][0] == "essay.txt"
    assert isinstance(update.examples, Samples) and update.examples.rows
    assert update.files is KEEP and update.changed is KEEP


def test_rebuild_progress_rises_and_names_the_stage_and_file(documents):
    seen = []
    documents.full_rebuild({"lang": "en"}, progress=lambda fraction, desc="": seen.append((fraction, desc)))
    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any("essay.txt" in desc for _, desc in seen)
    assert seen[0][1].startswith("Rebuilding the index")


def test_full_rebuild_asks_the_engine_for_a_full_build(documents, engine):
    documents.full_rebuild({"lang": "zh"})
    assert engine.rebuilds == [True]


def test_failed_rebuild_says_why_and_keeps_showing_the_index(documents, engine):
    engine.build_error = BuildError("the corpus folder is empty")
    update = documents.rebuild({"lang": "en"})
    assert update.build_msg.startswith('<div class="build-msg bad">✗ ')
    assert "the corpus folder is empty" in update.build_msg
    assert "Index: 1 documents" in update.status


def test_rebuild_after_an_upload_or_delete_runs_only_when_the_corpus_changed(documents, engine):
    assert documents.rebuild_if_changed(False, {}) == DocumentsUpdate(), "an unchanged corpus changed the page"
    assert engine.rebuilds == []
    documents.rebuild_if_changed(True, {})
    assert engine.rebuilds == [False]


def test_upload_copies_supported_files_refuses_others_and_empties_the_box(documents, engine, tmp_path):
    (tmp_path / "湖区笔记.md").write_text("# 湖\n\n青松湖。", "utf-8")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    (tmp_path / "big.txt").write_text("字" * 600_000, "utf-8")
    update = documents.upload([str(tmp_path / n) for n in ("湖区笔记.md", "image.png", "big.txt")], {"lang": "zh"})
    assert (engine.config.corpus_dir / "湖区笔记.md").exists()
    assert "已加入语料库：湖区笔记.md" in update.build_msg
    assert "unsupported file type" in update.build_msg and "over the upload limit" in update.build_msg
    assert update.build_msg.count('class="build-msg bad"') == 2
    assert update.files is None and update.changed is True


def test_upload_of_a_name_already_in_the_corpus_keeps_both_and_says_so(documents, engine, tmp_path):
    (engine.config.corpus_dir / "evil.txt").write_text("原有的文档。", "utf-8")
    (tmp_path / "evil.txt").write_text("新上传的文档。", "utf-8")
    update = documents.upload([str(tmp_path / "evil.txt")], {"lang": "zh"})
    assert (engine.config.corpus_dir / "evil.txt").read_text("utf-8") == "原有的文档。"
    assert (engine.config.corpus_dir / "evil (2).txt").read_text("utf-8") == "新上传的文档。"
    assert "已加入语料库：evil (2).txt" in update.build_msg
    assert "已有同名文档 evil.txt，新文件另存为 evil (2).txt" in update.build_msg and update.changed is True


def test_upload_of_nothing_usable_does_not_ask_for_a_rebuild(documents, tmp_path):
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    assert documents.upload([str(tmp_path / "image.png")], {}).changed is False
    assert documents.upload(None, {}).changed is False


def test_delete_removes_the_chosen_file_and_refuses_none_or_outside_paths(documents, engine):
    (engine.config.corpus_dir / "old.txt").write_text("旧文字。", "utf-8")
    update = documents.delete("old.txt", {"lang": "en"})
    assert not (engine.config.corpus_dir / "old.txt").exists()
    assert update.changed is True and "old.txt" in update.build_msg and "build-msg ok" in update.build_msg
    none = documents.delete(None, {"lang": "zh"})
    assert none.changed is False and "build-msg bad" in none.build_msg
    outside = documents.delete("../escape.txt", {"lang": "zh"})
    assert outside.changed is False and "not a path inside the corpus folder" in outside.build_msg


def test_refresh_offers_only_files_still_on_disk_for_deletion(documents, engine):
    (engine.config.corpus_dir / "new.txt").write_text("新。", "utf-8")
    update = documents.refresh({"lang": "zh"})
    assert update.delete_choice == Change(choices=["essay.txt", "new.txt"], value=None)
    assert [row[0] for row in update.table["data"]] == ["essay.txt", "new.txt", "gone.txt"]


def test_status_endpoint_is_the_engines_status_as_json(documents):
    status = documents.index_status()
    assert status["ready"] is True and status["documents"] == 1 and status["chunks"] == 2
