"""bench.answers: the answer benchmark on the seed set (real embedder, real
index of the essay built in a temporary folder), and its scoring rules."""

from __future__ import annotations

import json

import pytest

from bench.answers import AnswerReport, check_known_gguf, evaluate, format_report, score_answer, sentence_hit
from bench.datasets import EvalQuestion, load_seed_dev
from rag.records import Answer, Citation, Statement

# Measured on the seed set (12 questions, 1 unanswerable): 10 of 11 answers
# quote a sentence with the evidence (the English question d09 is missed:
# e5-small cannot match it to its Chinese sentence). The floor leaves room
# for one more miss.
SENTENCE_HIT_FLOOR = 0.8


@pytest.fixture(scope="module")
def seed_report(essay_engine) -> AnswerReport:
    evalset = load_seed_dev()
    return evaluate("seed-dev", evalset.questions, essay_engine)


@pytest.mark.bench
def test_seed_answers_quote_a_sentence_holding_the_evidence(seed_report):
    s = seed_report.summary
    assert s.answerable == 11 and s.unanswerable == 1
    assert s.sentence_hit_rate >= SENTENCE_HIT_FLOOR, [(r.id, r.answer) for r in seed_report.results
                                                       if r.answerable and not r.sentence_hit]


@pytest.mark.bench
def test_extractive_seed_answers_have_every_citation_supporting_its_statement(seed_report):
    assert seed_report.summary.citation_precision == 1.0
    assert seed_report.summary.citation_coverage == 1.0
    assert all(r.citation_precision == 1.0 for r in seed_report.results if not r.abstained)


@pytest.mark.bench
def test_the_unanswerable_seed_question_abstains_and_answerable_ones_do_not(seed_report):
    assert seed_report.summary.missed_abstentions == 0
    assert all(r.abstained for r in seed_report.results if not r.answerable)
    assert seed_report.summary.wrong_abstentions <= 1


@pytest.mark.bench
def test_seed_report_has_no_span_scores_without_gold_answer_strings(seed_report):
    assert seed_report.summary.em is None and seed_report.summary.f1_fallback is None


@pytest.mark.bench
def test_report_prints_one_table_row_and_serialises_to_json(seed_report):
    text = format_report(seed_report)
    rows = [line for line in text.splitlines() if line.startswith("| seed-dev |")]
    assert len(rows) == 1 and "| extractive |" in rows[0]
    data = json.loads(json.dumps(seed_report.to_json(), ensure_ascii=False))
    assert len(data["results"]) == 12
    assert data["summary"]["citation_precision"] == 1.0


# --- scoring rules (no engine) ------------------------------------------------

CMRC_Q = EvalQuestion(id="q1", question="《战国无双3》是由哪两个公司合作开发的？", type="fact",
                      evidence=("光荣和ω-force",), answers=("光荣和ω-force", "光荣和ω-force"),
                      doc="cmrc2018-dev/p1.txt", answer_starts=(10, 10), keys=("光荣和ω-force",))


def _answer(citations: list[Citation], short: str | None = None, abstained: bool = False) -> Answer:
    statements = [Statement(c.text, (c.n,), supported=True, support=1.0, supporting=(c.n,)) for c in citations]
    return Answer(question=CMRC_Q.question, answer="".join(f"{c.text}[{c.n}]" for c in citations),
                  abstained=abstained, citations=citations, hits=[], statements=statements, short_answer=short)


def _citation(doc: str, text: str, n: int = 1) -> Citation:
    return Citation(n=n, doc=doc, title="", section="", start=0, end=len(text), text=text, chunk_id=0)


def test_cmrc_sentence_hit_needs_the_gold_answer_in_a_sentence_of_the_questions_paragraph():
    sentence = "《战国无双3》是由光荣和ω-force开发的战国无双系列的正统第三作。"
    assert sentence_hit(CMRC_Q, _answer([_citation("cmrc2018-dev/p1.txt", sentence)]), "cmrc2018-dev")
    assert not sentence_hit(CMRC_Q, _answer([_citation("cmrc2018-dev/p2.txt", sentence)]), "cmrc2018-dev")
    assert not sentence_hit(CMRC_Q, _answer([_citation("cmrc2018-dev/p1.txt", "本作以三大故事为主轴。")]),
                            "cmrc2018-dev")


def test_cmrc_span_scores_use_the_short_answer_and_fall_back_to_the_first_cited_sentence():
    sentence = "由光荣和ω-force开发"
    with_short = score_answer(CMRC_Q, _answer([_citation("cmrc2018-dev/p1.txt", sentence)], short="光荣和ω-force"),
                              "cmrc2018-dev", 1.0, 1.0)
    assert (with_short.em, with_short.f1, with_short.em_fallback) == (1.0, 1.0, 1.0)
    without = score_answer(CMRC_Q, _answer([_citation("cmrc2018-dev/p1.txt", sentence)]), "cmrc2018-dev", 1.0, 1.0)
    assert (without.em, without.f1) == (0.0, 0.0)
    assert without.em_fallback == 0.0 and 0.0 < without.f1_fallback < 1.0
    assert without.first_sentence == sentence


def test_an_abstention_scores_zero_and_has_no_citation_figures():
    row = score_answer(CMRC_Q, _answer([], abstained=True), "cmrc2018-dev", 1.0, 1.0)
    assert row.abstained and not row.sentence_hit
    assert (row.em, row.f1, row.em_fallback, row.f1_fallback) == (0.0, 0.0, 0.0, 0.0)
    assert row.citation_precision is None


def test_a_gguf_with_the_assembled_models_name_but_other_bytes_is_refused(tmp_path):
    from rag.models.gguf import MODEL_FILE

    fake = tmp_path / MODEL_FILE
    fake.write_bytes(b"GGUF not the recorded bytes")
    with pytest.raises(RuntimeError, match="python -m rag.models.gguf"):
        check_known_gguf(str(fake))
    check_known_gguf(str(tmp_path / "other-model.gguf"))    # other models are the user's own business
