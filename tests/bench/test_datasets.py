"""Evaluation data loaders and the official CMRC 2018 scoring."""

from __future__ import annotations

import hashlib
import json

import pytest

from bench.datasets import (EvalSet, answer_offset, cmrc_em, cmrc_f1, evidence_match, load_cmrc, load_seed_dev,
                            shared_data_dir)


@pytest.fixture(scope="module")
def cmrc_dev() -> EvalSet:
    return load_cmrc("dev")


@pytest.fixture(scope="module")
def cmrc_trial() -> EvalSet:
    return load_cmrc("trial")


def _raw(split: str) -> dict:
    return json.loads((shared_data_dir() / "cmrc2018" / f"cmrc2018_{split}.json").read_text("utf-8"))


# --- CMRC 2018 -----------------------------------------------------------


@pytest.mark.parametrize("split, paragraphs, questions", [("dev", 848, 3219), ("trial", 256, 1002)])
def test_cmrc_counts(split, paragraphs, questions, request):
    evalset = request.getfixturevalue(f"cmrc_{split}")
    assert evalset.name == f"cmrc2018-{split}"
    assert len(evalset.documents) == paragraphs
    assert len(evalset.questions) == questions


@pytest.mark.parametrize("split", ["dev", "trial"])
def test_cmrc_documents_are_the_paragraphs_unchanged(split, request):
    evalset = request.getfixturevalue(f"cmrc_{split}")
    contexts = {p["id"]: (a.get("title"), p["context"]) for a in _raw(split)["data"] for p in a["paragraphs"]}
    paths = [d.path for d in evalset.documents]
    assert len(set(paths)) == len(paths)
    for doc in evalset.documents:
        pid = doc.path.removeprefix(f"cmrc2018-{split}/").removesuffix(".txt")
        title, context = contexts[pid]
        assert doc.text == context
        assert doc.title == (title or pid)
        assert doc.format == "txt"
        assert doc.sha256 == hashlib.sha256(context.encode("utf-8")).hexdigest()
        assert doc.size == len(context.encode("utf-8"))


@pytest.mark.parametrize("split", ["dev", "trial"])
def test_every_cmrc_question_names_an_existing_paragraph(split, request):
    evalset = request.getfixturevalue(f"cmrc_{split}")
    paths = {d.path for d in evalset.documents}
    assert all(q.doc in paths for q in evalset.questions)
    assert len({q.id for q in evalset.questions}) == len(evalset.questions)
    assert {q.type for q in evalset.questions} == {"fact"}


@pytest.mark.parametrize("split", ["dev", "trial"])
def test_cmrc_answer_offsets_point_at_the_answers(split, request):
    evalset = request.getfixturevalue(f"cmrc_{split}")
    texts = {d.path: d.text for d in evalset.documents}
    for q in evalset.questions:
        text = texts[q.doc]
        assert len(q.answers) == len(q.answer_starts)
        for answer, start in zip(q.answers, q.answer_starts):
            if start >= 0:
                assert text[start:start + len(answer)] == answer
            else:
                assert answer not in text
        # Every question has at least one verbatim answer, and its evidence
        # is exactly those.
        assert q.evidence
        assert set(q.evidence) == {a for a, s in zip(q.answers, q.answer_starts) if s >= 0}


@pytest.mark.parametrize("split, wrong, not_verbatim", [("dev", 200, 193), ("trial", 5, 0)])
def test_wrong_offsets_in_the_files_are_re_anchored(split, wrong, not_verbatim, request):
    # The files' own answer_start misses its answer this many times; all but
    # the answers that are nowhere in the paragraph are found nearby.
    raw_wrong = sum(p["context"][a["answer_start"]:a["answer_start"] + len(a["text"])] != a["text"]
                    for art in _raw(split)["data"] for p in art["paragraphs"]
                    for q in p["qas"] for a in q["answers"])
    assert raw_wrong == wrong
    evalset = request.getfixturevalue(f"cmrc_{split}")
    assert sum(s == -1 for q in evalset.questions for s in q.answer_starts) == not_verbatim


def test_answer_offset():
    context = "本鱼体呈银灰色，本鱼分布于印度。"
    assert answer_offset(context, "本鱼", 8) == 8
    assert answer_offset(context, "鱼分布", 8) == 9      # off by one in the file
    assert answer_offset(context, "本鱼", 1) == 0        # the nearest occurrence
    assert answer_offset(context, "鲨鱼", 0) == -1
    assert answer_offset(context, "", 0) == -1


def test_cmrc_unknown_split_is_refused():
    with pytest.raises(ValueError, match="dev"):
        load_cmrc("test")


def test_shared_data_folder_can_be_moved(tmp_path, monkeypatch):
    data = {"version": "v1.0", "data": [{"id": "T_1", "title": "", "paragraphs": [{
        "id": "T_1", "context": "熊猫以竹子为食。",
        "qas": [{"id": "T_1_Q0", "question": "熊猫吃什么？",
                 "answers": [{"text": "竹子", "answer_start": 2}, {"text": "竹", "answer_start": 9}]}]}]}]}
    (tmp_path / "cmrc2018").mkdir()
    (tmp_path / "cmrc2018" / "cmrc2018_trial.json").write_text(json.dumps(data, ensure_ascii=False), "utf-8")
    monkeypatch.setenv("RAG_SHARED_DATA", str(tmp_path))
    evalset = load_cmrc("trial")
    [doc], [q] = evalset.documents, evalset.questions
    assert doc.path == "cmrc2018-trial/T_1.txt"
    assert doc.title == "T_1"                     # no article title: the paragraph id
    assert q.doc == doc.path
    assert q.answers == ("竹子", "竹")
    assert q.answer_starts == (3, 3)
    assert q.evidence == ("竹子", "竹")


# --- seed questions ------------------------------------------------------


def test_seed_dev_questions_point_at_the_essay():
    pytest.importorskip("ingest.loaders")
    evalset = load_seed_dev()
    assert len(evalset.questions) == 12
    docs = {d.path: d for d in evalset.documents}
    for q in evalset.questions:
        if q.type == "unanswerable":
            assert q.doc is None and not q.evidence
        else:
            assert q.doc in docs
            assert evidence_match(docs[q.doc].text, q.evidence)
            assert q.keys


# --- evidence rule -------------------------------------------------------


def test_evidence_match_ignores_punctuation_width_and_whitespace():
    passage = "组工干部既要政治素质过得硬，又要业务能力强，\n还要作风过硬。"
    assert evidence_match(passage, ["既要政治素质过得硬,又要业务能力强"])
    assert evidence_match(passage, ["业务能力强 还要作风过硬"])
    assert evidence_match("凭主观定指标、下任务，甚至搞“一刀切”", ['下任务,甚至搞"一刀切"'])
    assert evidence_match("ＡＢＣ１２３模型", ["ABC123"])


def test_evidence_match_any_of_several():
    assert evidence_match("全面建设小康社会的宏伟目标", ["不在文中", "小康社会"])


def test_evidence_match_negative_and_empty():
    passage = "组工干部既要政治素质过得硬，又要业务能力强。"
    assert not evidence_match(passage, ["作风过硬"])
    assert not evidence_match(passage, [])
    assert not evidence_match(passage, ["", "，。 "])      # nothing left to compare


# --- official CMRC 2018 scoring ------------------------------------------


def test_em_exact_and_after_punctuation():
    assert cmrc_em("光荣和ω-force", ["光荣和ω-force"]) == 1.0
    assert cmrc_em("光荣和ω－Force。", ["光荣和ω-force"]) == 1.0     # case, －, 。 removed
    assert cmrc_em("《战国无双3》", ["战国无双3"]) == 1.0
    assert cmrc_em(" 村雨城 ", ["任天堂游戏谜之村雨城", "村雨城"]) == 1.0
    assert cmrc_em("村雨城", ["任天堂游戏谜之村雨城"]) == 0.0


def test_em_follows_the_official_punctuation_list():
    # ASCII , . ( ) and … are not in the official list: they stay.
    assert cmrc_em("北京,", ["北京"]) == 0.0
    assert cmrc_em("等等…", ["等等"]) == 0.0
    assert cmrc_em("", ["北京"]) == 0.0


def test_f1_partial_and_best_over_answers():
    assert cmrc_f1("村雨城", ["任天堂游戏谜之村雨城"]) == pytest.approx(2 * 0.3 / 1.3)
    assert cmrc_f1("村雨城", ["任天堂游戏谜之村雨城", "村雨城"]) == 1.0
    assert cmrc_f1("北京,", ["北京"]) == pytest.approx(0.8)            # "," is a token
    assert cmrc_f1("", ["北京"]) == 0.0
    assert cmrc_f1("上海", ["北京"]) == 0.0


def test_f1_is_over_the_longest_common_run_not_a_bag_of_tokens():
    # Same four characters, but the longest run they share is one character.
    assert cmrc_f1("甲丙乙丁", ["甲乙丙丁"]) == pytest.approx(0.25)


def test_f1_on_mixed_chinese_and_english():
    # gold: 苹 果 iphone 6 ; prediction: iphone 6 plus ; common run: iphone 6
    assert cmrc_f1("iPhone 6 Plus", ["苹果iPhone 6"]) == pytest.approx(4 / 7)
    # Punctuation is dropped before words are split, so ω-force is one word.
    assert cmrc_f1("光荣和ω-force", ["光荣和ωforce"]) == 1.0
    assert cmrc_f1("ω force", ["ω-force"]) == 0.0
    assert cmrc_f1("the 1,000 yen note", ["1,000 yen"]) == pytest.approx(2 * (2 / 4) * 1 / (2 / 4 + 1))


def test_f1_english_contraction_split_like_nltk():
    # do|n't: the shared "do" counts, the rest does not.
    assert cmrc_f1("don't", ["do"]) == pytest.approx(2 * 0.5 * 1 / 1.5)
