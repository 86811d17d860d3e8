"""python -m rag and python -m ingest, run as a user runs them."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys

import pytest

from support import PROJECT_ROOT

from bench.datasets import evidence_match, load_seed_dev

# Floors a little under what retrieval measures (README: seed-dev, hit@1 0.82, hit@5 1.0), so that noise
# cannot break them but a real regression does.
SEED_HIT_AT_1_FLOOR = 0.7
SEED_HIT_AT_5_FLOOR = 1.0


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, *args], input=stdin, capture_output=True, text=True,
                          cwd=PROJECT_ROOT, timeout=600)


def index_args(config) -> list[str]:
    return ["--corpus", str(config.corpus_dir), "--index", str(config.index_dir)]


@pytest.fixture(scope="module")
def seed():
    return load_seed_dev()


@pytest.fixture(scope="module")
def seed_search(essay_config, seed):
    """rag search over stdin: one JSON line per seed question."""
    answerable = [q for q in seed.questions if q.evidence]
    out = run("-m", "rag", "search", "--json", "--k", "5", *index_args(essay_config),
              stdin="\n".join(q.question for q in answerable) + "\n")
    assert out.returncode == 0, out.stderr
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(lines) == len(answerable)
    return list(zip(answerable, lines))


def test_search_json_lines_have_the_hit_fields(seed_search):
    _, result = seed_search[0]
    hit = result["hits"][0]
    assert set(hit) >= {"rank", "score", "doc", "title", "section", "start", "end", "text"}
    assert hit["rank"] == 1 and hit["doc"] == "innovating-organizational-work.txt"


def shown(hit: dict) -> str:
    """A hit as the user sees it: title, section path, passage (the title
    answers "what is this article called?"), as bench.retrieval counts it."""
    return "\n".join((hit["title"], hit["section"], hit["text"]))


def test_seed_questions_find_their_evidence(seed_search):
    at1 = sum(evidence_match(shown(r["hits"][0]), q.evidence) for q, r in seed_search) / len(seed_search)
    at5 = sum(any(evidence_match(shown(h), q.evidence) for h in r["hits"]) for q, r in seed_search) / len(seed_search)
    assert at1 >= SEED_HIT_AT_1_FLOOR, f"hit@1 {at1:.2f}"
    assert at5 >= SEED_HIT_AT_5_FLOOR, f"hit@5 {at5:.2f}"


def test_ask_json_cites_verbatim_spans_and_abstains_when_unanswerable(essay_config, seed):
    answerable = next(q for q in seed.questions if q.type == "fact")
    unanswerable = next(q for q in seed.questions if q.type == "unanswerable")
    out = run("-m", "rag", "ask", "--json", *index_args(essay_config),
              stdin=f"{answerable.question}\n{unanswerable.question}\n")
    assert out.returncode == 0, out.stderr
    good, bad = (json.loads(line) for line in out.stdout.splitlines())
    text = (essay_config.corpus_dir / "innovating-organizational-work.txt").read_text("utf-8")

    assert good["abstained"] is False and good["citations"]
    assert set(good) >= {"question", "answer", "abstained", "citations", "hits"}
    for c in good["citations"]:
        assert text[c["start"]:c["end"]] == c["text"]
        assert f"[{c['n']}]" in good["answer"]
    assert any(k in good["answer"] for k in answerable.keys)

    assert bad["abstained"] is True and bad["citations"] == []
    assert bad["hits"], "an abstaining answer still shows the nearest passages"


def test_empty_question_exits_non_zero_with_a_message(essay_config):
    out = run("-m", "rag", "ask", "", *index_args(essay_config))
    assert out.returncode == 2 and "empty" in out.stderr


def test_missing_index_exits_non_zero_naming_the_fix(tmp_path, essay_config):
    out = run("-m", "rag", "search", "组织", "--corpus", str(essay_config.corpus_dir), "--index", str(tmp_path))
    assert out.returncode == 2 and "python -m ingest" in out.stderr


def test_ingest_embeds_only_a_new_document_then_finds_the_index_current(tmp_path, essay_config):
    # A copy of the session's essay index, plus one short new document.
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(essay_config.corpus_dir, corpus)
    shutil.copytree(essay_config.index_dir, index, ignore=shutil.ignore_patterns(".build.lock", ".staging"))
    before = (index / "CURRENT").read_text("utf-8")
    (corpus / "lake.txt").write_text("青松湖\n青松湖位于北岭县东侧。湖边有一座古老的石桥。\n", "utf-8")
    out = run("-m", "ingest", "--corpus", str(corpus), "--index", str(index), "--quiet")
    assert out.returncode == 0, out.stderr
    assert "indexed 2 documents" in out.stdout and "(1 embedded, 1 reused)" in out.stdout, out.stdout
    assert (index / "CURRENT").read_text("utf-8") != before
    out = run("-m", "ingest", "--if-stale", "--corpus", str(corpus), "--index", str(index), "--quiet")
    assert out.returncode == 0 and "is current" in out.stdout, out.stdout + out.stderr


def test_ingest_of_an_empty_corpus_exits_non_zero_with_a_message(tmp_path):
    (tmp_path / "empty").mkdir()
    out = run("-m", "ingest", "--corpus", str(tmp_path / "empty"), "--index", str(tmp_path / "index"))
    assert out.returncode == 2 and "no indexable documents" in out.stderr
    assert not (tmp_path / "index" / "CURRENT").exists()


def test_invalid_utf8_on_stdin_is_answered_line_by_line_and_the_batch_goes_on(essay_config, monkeypatch, capsys):
    """Bytes that are not UTF-8 (read as the C locale reads them, surrogate-escaped) ended the batch with a
    TypeError from the tokenizer; each line is now answered or reports its error, and the next is asked."""
    from rag.__main__ import main

    data = "组织部门".encode() + b"\xff\xfe" + "的职能是什么？\n".encode() + b"\xc3\n" + "组织部门的职能是什么？\r\n".encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="surrogateescape"))
    assert main(["search", "--json", "--k", "1", *index_args(essay_config)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["question"] for line in lines] == ["组织部门\ufffd\ufffd的职能是什么？", "\ufffd", "组织部门的职能是什么？"]
    assert all("hits" in line or "error" in line for line in lines)
    assert lines[0]["hits"] and lines[2]["hits"][0]["doc"] == "innovating-organizational-work.txt"


def test_undecodable_argv_and_lone_surrogates_are_answered_with_a_note(essay_config, capsys):
    """Python hands undecodable argv bytes over as lone surrogates (os.fsdecode); so does JSON's "\\ud800"."""
    from rag.__main__ import main

    question = os.fsdecode(b"\xff") + "组织部门的职能是什么？\ud800"
    assert main(["ask", "--json", question, *index_args(essay_config)]) == 0
    answer = json.loads(capsys.readouterr().out)
    assert answer["question"] == "\ufffd组织部门的职能是什么？\ufffd"
    assert answer["citations"] and any("\ufffd" in note for note in answer["notes"])
