"""rag.engine: the API the CLI and the UI share, and its handling of bad input."""

from __future__ import annotations

import copy
import io
import pickle
import shutil

import pytest

from support import ESSAY, make_config
from rag.engine import Engine, QuestionError, safe_filename
from rag.index.store import CURRENT, IndexMissing, IndexProblem, read_manifest


def test_search_returns_typed_hits_ranked_from_one(essay_engine):
    hits = essay_engine.search("党的代表大会提出了什么宏伟目标？", k=3)
    assert [h.rank for h in hits] == [1, 2, 3]
    assert all(h.chunk.doc == "innovating-organizational-work.txt" for h in hits)
    assert hits[0].score >= hits[1].score >= hits[2].score


def test_empty_question_is_refused_with_a_message(essay_engine):
    with pytest.raises(QuestionError, match="empty"):
        essay_engine.ask("   ")


def test_overlong_question_is_truncated_with_a_note(essay_engine):
    limit = essay_engine.config.max_question_chars
    answer = essay_engine.ask("组织工作" * limit)
    assert len(answer.question) == limit
    assert any(str(limit) in note for note in answer.notes)


def test_index_built_with_other_chunker_settings_is_refused_with_the_fix(essay_config):
    engine = Engine(essay_config.replace(chunk_size=120))
    status = engine.status()
    assert not status.ready
    assert "chunk" in status.message and "--rebuild" in status.message
    with pytest.raises(IndexProblem):
        engine.search("组织工作")


def test_missing_index_names_the_command_that_builds_it(tmp_path, essay_corpus):
    engine = Engine(make_config(essay_corpus, tmp_path / "index"))
    with pytest.raises(IndexMissing, match="python -m ingest"):
        engine.search("组织工作")


def test_last_good_index_keeps_serving_when_the_disk_copy_breaks(tmp_path, essay_config):
    index = tmp_path / "index"
    shutil.copytree(essay_config.index_dir, index)
    engine = Engine(essay_config.replace(index_dir=index))
    assert engine.search("组织工作", k=1)
    (index / CURRENT).write_text("v-gone\n", "utf-8")
    assert engine.reload() is False
    assert engine.search("组织工作", k=1), "the in-memory index stopped serving"
    assert "not an index folder" in engine.status().message


def test_ensure_index_builds_only_when_missing_or_stale(tmp_path, essay_config):
    # Current: a copy of the session's essay index is left as it is.
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(essay_config.corpus_dir, corpus)
    shutil.copytree(essay_config.index_dir, index)
    engine = Engine(essay_config.replace(corpus_dir=corpus, index_dir=index))
    assert engine.ensure_index() is None
    # Stale: only the new document is embedded; then current again.
    (corpus / "lake.txt").write_text("青松湖\n青松湖位于北岭县东侧。\n", "utf-8")
    report = engine.ensure_index()
    assert report.embedded_documents == ["lake.txt"] and report.reused_documents == [ESSAY.name]
    assert engine.ensure_index() is None
    # Missing: built from nothing.
    (tmp_path / "small").mkdir()
    (tmp_path / "small" / "lake.txt").write_text("青松湖\n青松湖位于北岭县东侧。\n", "utf-8")
    fresh = Engine(make_config(tmp_path / "small", tmp_path / "new-index"))
    assert fresh.ensure_index().embedded_documents == ["lake.txt"]
    assert fresh.ensure_index() is None


@pytest.mark.parametrize("name, expected", [
    ("../../etc/passwd.txt", "passwd.txt"),
    ("..\\..\\evil.md", "evil.md"),
    ("报告 2024.DOCX", "报告 2024.docx"),
    ("<script>.html", "_script_.html"),
    (".hidden.txt", "hidden.txt"),
])
def test_uploaded_file_names_stay_inside_the_corpus(name, expected):
    assert safe_filename(name) == expected


def test_add_file_refuses_unsupported_and_oversize_files(tmp_path, essay_config):
    engine = Engine(essay_config.replace(corpus_dir=tmp_path / "c", upload_max_mb=0))
    src = tmp_path / "x.exe"
    src.write_bytes(b"MZ")
    with pytest.raises(ValueError, match="unsupported"):
        engine.add_file(src)
    big = tmp_path / "big.txt"
    big.write_text("字" * 100, "utf-8")
    with pytest.raises(ValueError, match="upload limit"):
        engine.add_file(big)


def test_delete_document_refuses_paths_outside_the_corpus(tmp_path, essay_config):
    engine = Engine(essay_config.replace(corpus_dir=tmp_path / "c"))
    (tmp_path / "c").mkdir()
    with pytest.raises(ValueError, match="inside the corpus"):
        engine.delete_document("../outside.txt")


def test_delete_document_removes_only_a_document_of_the_corpus(tmp_path):
    corpus = tmp_path / "c"
    engine = Engine(make_config(corpus, tmp_path / "index"))
    (corpus / "sub").mkdir(parents=True)
    (corpus / "sub" / "a.txt").write_text("甲。", "utf-8")
    (corpus / "notes.rtf").write_text("x", "utf-8")
    (corpus / "link.txt").symlink_to(corpus / "sub" / "a.txt")
    for name in ("nothere.txt", "notes.rtf", "sub", "sub/../sub/a.txt"):
        with pytest.raises(ValueError, match="no such document"):
            engine.delete_document(name)
    engine.delete_document("link.txt")                  # the link goes, not the file it points to
    assert not (corpus / "link.txt").is_symlink() and (corpus / "sub" / "a.txt").exists()
    engine.delete_document("sub/a.txt")
    assert not (corpus / "sub" / "a.txt").exists() and (corpus / "notes.rtf").exists()


def test_per_request_overrides_share_the_loaded_index_and_embedder(essay_engine):
    view = essay_engine.with_overrides(top_k=2)
    assert view is not essay_engine and view.config.top_k == 2
    assert essay_engine.config.top_k == 5
    assert view.retriever().store is essay_engine.retriever().store
    assert view.retriever().embedder is essay_engine.retriever().embedder
    assert len(view.search("组织工作")) == 2
    assert essay_engine.with_overrides() is essay_engine
    with pytest.raises(ValueError, match="rebuild"):
        essay_engine.with_overrides(chunk_size=100)


def test_a_link_leading_outside_the_corpus_is_not_indexed_nor_served_and_is_shown_as_skipped(tmp_path, essay_config):
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(essay_config.corpus_dir, corpus)
    shutil.copytree(essay_config.index_dir, index, ignore=shutil.ignore_patterns(".build.lock", ".staging"))
    secret = tmp_path / "passwd"
    secret.write_text("root:x:0:0:超级用户口令文件:/root:/bin/bash\n", "utf-8")
    (corpus / "link.txt").symlink_to(secret)
    engine = Engine(essay_config.replace(corpus_dir=corpus, index_dir=index))
    report = engine.rebuild()
    assert [f.path for f in report.failed] == ["link.txt"], report.failed
    assert "outside the corpus folder" in report.failed[0].reason
    assert "link.txt" in report.summary()
    assert [f.path for f in read_manifest(index).failed] == ["link.txt"]   # recorded with the index
    assert all(h.chunk.doc != "link.txt" for h in engine.search("超级用户口令文件 root", k=20))
    row = next(d for d in engine.documents() if d.path == "link.txt")
    assert row.status == "failed" and "outside the corpus folder" in row.reason
    assert engine.status().changed == ()


def test_an_upload_never_replaces_a_document_of_the_same_name_but_is_kept_beside_it(tmp_path):
    """'../../evil.txt' and '..\\evil.txt' both come in as evil.txt: the second used to overwrite the first."""
    engine = Engine(make_config(tmp_path / "c", tmp_path / "index", upload_max_mb=1))
    sources = []
    for i, text in enumerate(["第一份。", "第二份。", "第三份。"]):
        sources.append(tmp_path / f"src-{i}.txt")
        sources[-1].write_text(text, "utf-8")
    assert engine.add_file(sources[0], "../../evil.txt") == "evil.txt"
    assert engine.add_file(sources[1], "..\\evil.txt") == "evil (2).txt"
    assert engine.add_file(sources[2], "EVIL.TXT") == "EVIL (3).txt"     # names differing in case only are one name
    corpus = tmp_path / "c"
    assert [(corpus / n).read_text("utf-8") for n in ("evil.txt", "evil (2).txt", "EVIL (3).txt")] == [
        "第一份。", "第二份。", "第三份。"]
    # An open file (the HTTP API's upload) is checked against the limit as it is read; nothing is left behind.
    with pytest.raises(ValueError, match="upload limit"):
        engine.add_file(io.BytesIO(b"x" * (1024 * 1024 + 1)), "big.txt")
    with io.BytesIO("第四份。".encode()) as stream:
        assert engine.add_file(stream, "evil.txt") == "evil (4).txt"
    assert sorted(p.name for p in corpus.iterdir()) == ["EVIL (3).txt", "evil (2).txt", "evil (4).txt", "evil.txt"]


def test_the_engines_notes_carry_a_key_a_shell_can_translate(tmp_path):
    engine = Engine(make_config(tmp_path / "c", tmp_path / "index", max_question_chars=10))
    question, notes = engine.clean_question("组织工作" * 5 + "\ud800")
    assert question == "组织工作组织工作组织"
    assert [(n.key, n.values) for n in notes] == [("question_cut", {"limit": 10})]
    assert notes[0] == "the question was cut to its first 10 characters"        # still the English text
    assert [n.key for n in engine.clean_question("组织\udcff工作")[1]] == ["invalid_characters"]
    assert copy.deepcopy(notes[0]).key == "question_cut" and pickle.loads(pickle.dumps(notes[0])).values == {"limit": 10}


def test_markup_around_a_question_is_removed_before_retrieval_with_a_note(essay_engine):
    wrapped = essay_engine.ask("<div><script>document.write('财政收入')</script>党的代表大会提出了什么宏伟目标？</div>")
    plain = essay_engine.ask("党的代表大会提出了什么宏伟目标？")
    assert wrapped.question == "党的代表大会提出了什么宏伟目标？"
    assert [h.chunk.id for h in wrapped.hits] == [h.chunk.id for h in plain.hits]
    assert wrapped.answer == plain.answer
    assert "question_cleaned" in [getattr(n, "key", "") for n in wrapped.notes]


@pytest.mark.parametrize("question", ["\x00\x01\x1b[31m\x07", "<script>alert(1)</script>", "是什么？"])
def test_a_question_with_no_content_words_left_abstains_without_searching(essay_engine, question):
    answer = essay_engine.ask(question)
    assert answer.abstained and not answer.hits and not answer.citations
    assert "no_content" in [getattr(n, "key", "") for n in answer.notes]
    # Nothing was searched, so the answer does not promise passages below it.
    assert answer.answer in ("文档中没有找到这个问题的答案。", "The documents do not answer this question.")


class PrimedGenerator:
    """A stand-in for a llama.cpp model: records what it was primed with and
    replies with a fixed cited statement."""

    compact_prompt = True

    def __init__(self) -> None:
        self.prime_seconds: float | None = None
        self.primed: list[list] = []
        self.prompts: list[list] = []

    def prime(self, messages) -> float:
        self.primed.append(messages)
        self.prime_seconds = 0.5
        return self.prime_seconds

    def stream(self, messages):
        self.prompts.append(messages)
        yield "全面建设小康社会的宏伟目标[1]。"


def test_a_local_llm_has_the_fixed_rules_evaluated_once_when_it_loads(essay_config, monkeypatch):
    import rag.engine

    fake = PrimedGenerator()
    monkeypatch.setattr(rag.engine, "make_generator", lambda config: fake)
    engine = Engine(essay_config.replace(llm="model.gguf"))
    assert engine.generator() is fake and engine.generator() is fake
    [primed] = fake.primed
    answer = engine.ask("党的代表大会提出了什么宏伟目标？")
    [prompt] = fake.prompts
    assert len(fake.primed) == 1 and not answer.abstained
    # What was evaluated at load is the head of the question's prompt: the same rules, then the sources.
    assert primed[0] == prompt[0] and prompt[1].content.startswith(primed[1].content)
