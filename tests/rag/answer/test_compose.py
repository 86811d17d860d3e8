"""rag.answer.compose: extractive answers whose every statement is a verbatim,
exactly located quote — or a plain "the documents do not answer this"."""

from __future__ import annotations

import dataclasses
import json

import pytest

from support import ESSAY, SHARED_DATA
from ingest.chunking import chunk_document
from ingest.loaders import load_document
from rag.answer.compose import MISSING_ZH, NO_ANSWER_EN, NO_ANSWER_ZH, assess, compose_answer
from rag.answer.evidence import SentenceVectors, candidates, evidence_score, score_units
from rag.answer.generated import answer_from_generated
from rag.answer.expected import ExpectedAnswer
from rag.index.texts import sentence_text
from rag.records import Hit

SEED = [json.loads(line) for line in (SHARED_DATA / "seed_dev_qa.jsonl").read_text("utf-8").splitlines()
        if line.strip()]
ANSWERABLE = [q for q in SEED if q["type"] != "unanswerable"]
UNANSWERABLE = [q for q in SEED if q["type"] == "unanswerable"]

# Questions the essay does not answer, beyond the seed set's one: they check
# the abstention margin (some share words with the essay: 组织部, 工作).
MORE_UNANSWERABLE = ["量子计算机的工作原理是什么？", "组织部今年招聘了多少名公务员？", "作者毕业于哪所大学？",
                     "今年的高考分数线是多少？", "如何治疗感冒？"]
# The least distance the best-evidence score keeps from the threshold on
# the monolingual seed questions (measured: 0.055 above, 0.044 below).
MARGIN = 0.02

# e5-small cannot match this English question to its Chinese answer: the
# retriever does not find the passage, and within it the answering sentence
# scores below its neighbours (cosine 0.780 against 0.796).
CROSSLINGUAL_LIMIT = pytest.mark.xfail(reason="e5-small English-Chinese similarity is too weak to pick the "
                                              "answering sentence", strict=False)


# Sentence vectors shared by this module's calls, as the engine shares its own.
VECTORS = SentenceVectors(capacity=20000)


@pytest.fixture(scope="module")
def retriever(essay_engine):
    return essay_engine.retriever()


@pytest.fixture(scope="module")
def documents_text(retriever):
    return lambda path: retriever.store.documents[path].text


def ask(question, retriever, documents_text):
    hits = retriever.search(question)
    return compose_answer(question, hits, retriever.embedder, retriever.config, documents_text=documents_text,
                          vectors=VECTORS, store=retriever.store)


class _CountingEmbedder:
    """The real embedder, recording the passages it is asked to embed."""

    def __init__(self, inner) -> None:
        self.inner = inner
        self.passages: list[str] = []

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def embed_passages(self, texts, progress=None):
        self.passages += list(texts)
        return self.inner.embed_passages(texts, progress)


def test_answering_embeds_nothing_but_the_question_when_the_index_has_its_clauses(retriever):
    store = retriever.store
    counting = _CountingEmbedder(retriever.embedder)
    question = "当前组织工作方式方法上存在哪几方面的不足和问题？"
    hits = retriever.search(question)
    pool = candidates(hits)
    scored = score_units(question, hits, counting, retriever.config, store=store)
    clauses = [c for c in pool if (c.unit.start, c.unit.end) in store.clauses.spans_of(c.hit.chunk.id)]
    assert len(scored) == len(pool) and clauses, "the question's passages hold clauses cut at semicolons"
    assert counting.passages == []
    # A stored vector is what embedding the unit now would give (title, then sentence or clause).
    for table, found in ((store.sentences, [c for c in pool if c not in clauses][:2]), (store.clauses, clauses[:2])):
        for c in found:
            spans = table.spans_of(c.hit.chunk.id)
            row = table.rows_of(c.hit.chunk.id)[spans.index((c.unit.start, c.unit.end))]
            fresh = retriever.embedder.embed_passages([sentence_text(c.hit.chunk, c.unit.text)])[0]
            assert float(fresh @ table.vectors[row]) > 0.999


def test_without_a_clause_table_the_units_the_sentence_table_lacks_are_embedded(retriever):
    store = dataclasses.replace(retriever.store, clauses=None)
    counting = _CountingEmbedder(retriever.embedder)
    question = "当前组织工作方式方法上存在哪几方面的不足和问题？"
    hits = retriever.search(question)
    pool = candidates(hits)
    with_table = score_units(question, hits, retriever.embedder, retriever.config, store=retriever.store)
    without = score_units(question, hits, counting, retriever.config, store=store, vectors=SentenceVectors(100))
    stored = [c for c in pool if (c.unit.start, c.unit.end) in store.sentences.spans_of(c.hit.chunk.id)]
    assert len(counting.passages) == len(pool) - len(stored) > 0
    # The same scores either way: the clause table holds what would be embedded. (Within a few
    # thousandths: on an AMX machine the build embeds in bf16 and the question's units in fp32,
    # vectors within MIN_COSINE; a wrong unit's text would move its score by tenths.)
    key = lambda s: (s.candidate.hit.chunk.id, s.candidate.unit.start, s.candidate.unit.end)  # noqa: E731
    assert sorted(map(key, without)) == sorted(map(key, with_table))
    by_key = {key(s): s.score for s in with_table}
    assert max(abs(s.score - by_key[key(s)]) for s in without) < 0.005


def assert_citations_exact(answer, documents_text):
    for c in answer.citations:
        assert documents_text(c.doc)[c.start:c.end] == c.text, f"citation [{c.n}] is not the document's text"
    assert [c.n for c in answer.citations] == list(range(1, len(answer.citations) + 1))
    positions = [answer.answer.index(f"[{c.n}]") for c in answer.citations]
    assert positions == sorted(positions), "citations are not numbered in order of appearance"
    for c in answer.citations:
        assert f"{c.text}[{c.n}]" in answer.answer, "a quote is not followed by its own marker"


@pytest.mark.parametrize("seed", [pytest.param(q, id=q["id"], marks=CROSSLINGUAL_LIMIT if q["type"] == "crosslingual"
                                               else ()) for q in ANSWERABLE])
def test_answerable_seed_question_is_answered_with_its_keys_and_exact_citations(seed, retriever, documents_text):
    answer = ask(seed["q"], retriever, documents_text)
    assert not answer.abstained, f"abstained (confidence {answer.confidence:.3f})"
    assert answer.citations
    assert_citations_exact(answer, documents_text)
    for key in seed["keys"]:
        assert key in answer.answer, f"{key!r} missing from {answer.answer!r}"
    assert all(s.supported for s in answer.statements)


@pytest.mark.parametrize("seed", UNANSWERABLE, ids=[q["id"] for q in UNANSWERABLE])
def test_unanswerable_seed_question_abstains_and_keeps_the_nearest_passages(seed, retriever, documents_text):
    answer = ask(seed["q"], retriever, documents_text)
    assert answer.abstained
    assert answer.answer == NO_ANSWER_ZH
    assert answer.citations == []
    assert answer.hits, "the nearest passages must still be shown"


def test_abstention_threshold_keeps_a_margin_on_both_sides(retriever, documents_text):
    config = retriever.config

    def score(question):
        return evidence_score(question, retriever.search(question), retriever.embedder, config,
                              documents_text=documents_text, vectors=VECTORS, store=retriever.store)

    def lacks_the_form_asked_for(question):
        return assess(question, retriever.search(question), retriever.embedder, config, documents_text=documents_text,
                      vectors=VECTORS, store=retriever.store).missing is not None

    answerable = {q["id"]: score(q["q"]) for q in ANSWERABLE if q["type"] != "crosslingual"}
    unanswerable = {q: score(q) for q in [s["q"] for s in UNANSWERABLE] + MORE_UNANSWERABLE}
    assert min(answerable.values()) >= config.abstain_threshold + MARGIN, answerable
    # An unanswerable question abstains by a margin, or because it asks for a number the passages lack.
    above = {q: s for q, s in unanswerable.items() if s > config.abstain_threshold - MARGIN}
    assert all(lacks_the_form_asked_for(q) for q in above), above


# On-topic questions the essay does not answer, asking for a number: their
# words are all in it (evidence 1.06-1.18, above the threshold), the number
# is not (bench/data/essay_unanswerable.jsonl).
ASKS_FOR_A_NUMBER = ["非公有制经济组织中有多少个党支部？", "干部教育培训每年的经费是多少？",
                     "公开选拔的干部中女性占多少比例？", "组工干部的平均年龄是多少岁？", "今年提拔了多少名年轻干部？",
                     "社区党组织书记的工资是多少？"]


@pytest.mark.parametrize("question", ASKS_FOR_A_NUMBER)
def test_question_asking_for_a_number_the_passages_lack_abstains(question, retriever, documents_text):
    answer = ask(question, retriever, documents_text)
    assert answer.abstained and answer.answer == NO_ANSWER_ZH and answer.citations == []
    assert answer.hits, "the nearest passages must still be shown"


def test_the_answer_type_check_is_what_abstains_on_the_party_branch_question(retriever, documents_text):
    question = "非公有制经济组织中有多少个党支部？"
    hits = retriever.search(question)
    evidence = assess(question, hits, retriever.embedder, retriever.config, documents_text=documents_text,
                      vectors=VECTORS, store=retriever.store)
    assert evidence.score >= retriever.config.abstain_threshold, "the score alone would answer it"
    assert evidence.missing is ExpectedAnswer.NUMBER
    answer = compose_answer(question, hits, retriever.embedder, retriever.config, documents_text=documents_text,
                            vectors=VECTORS, store=retriever.store)
    assert answer.abstained and answer.notes == [MISSING_ZH[ExpectedAnswer.NUMBER]]
    unchecked = retriever.config.replace(answer_type_check=False)
    answer = compose_answer(question, hits, retriever.embedder, unchecked, documents_text=documents_text,
                            vectors=VECTORS, store=retriever.store)
    assert not answer.abstained and answer.citations


def test_seed_questions_ask_for_nothing_the_check_finds_missing(retriever, documents_text):
    for seed in ANSWERABLE:
        evidence = assess(seed["q"], retriever.search(seed["q"]), retriever.embedder, retriever.config,
                          documents_text=documents_text, vectors=VECTORS, store=retriever.store)
        assert evidence.missing is None, seed["q"]


def test_english_question_abstains_in_english(retriever, documents_text):
    answer = ask("What is the capital of France?", retriever, documents_text)
    assert answer.abstained and answer.answer == NO_ANSWER_EN


def test_list_question_gathers_the_parallel_items_of_the_passage(retriever, documents_text):
    answer = ask("组工干部要树立哪些作风？", retriever, documents_text)
    for item in ["敬业爱岗", "求实高效", "正直规范", "勤于调研"]:
        assert item in answer.answer
    assert len(answer.citations) >= 4
    assert_citations_exact(answer, documents_text)


def test_list_question_gathers_numbered_items_in_document_order(retriever, documents_text):
    answer = ask("要提倡哪三种工作法？", retriever, documents_text)
    found = [answer.answer.index(m) for m in ["透明工作法", "亲切工作法", "创造性工作法"]]
    assert found == sorted(found)
    assert_citations_exact(answer, documents_text)


def test_question_naming_a_list_item_gets_what_the_document_says_under_it(retriever, documents_text):
    answer = ask("行政命令式的工作方法有什么表现？", retriever, documents_text)
    assert "一刀切" in answer.answer
    assert "二是盲目机械式" not in answer.answer, "the answer ran into the next item"


def test_fact_questions_get_a_short_answer_span(retriever, documents_text):
    cases = {"党的代表大会提出了什么宏伟目标？": "全面建设小康社会的宏伟目标",
             "这篇文章的标题是什么？": "创新组织工作经验交流",
             "这篇文章是什么时候发布的？": "2022-11-18"}
    for question, expected in cases.items():
        answer = ask(question, retriever, documents_text)
        assert answer.short_answer.startswith(expected), question
        assert answer.answer.startswith(answer.short_answer + "["), "the answer opens with its short answer"
        assert any(expected in c.text for c in answer.citations)


# --- hits built straight from the chunker (no index) -------------------------

@pytest.fixture(scope="module")
def essay_chunks(essay_config):
    doc = load_document(ESSAY, ESSAY.parent)
    return doc, chunk_document(doc, essay_config.chunk_size, essay_config.chunk_overlap)


def test_sentence_shared_by_overlapping_chunks_is_quoted_once(essay_chunks, retriever):
    doc, chunks = essay_chunks
    # Two neighbouring chunks that repeat a sentence (the chunk overlap).
    first, second = next((a, b) for a, b in zip(chunks, chunks[1:]) if a.end > b.start)
    shared = doc.text[second.start:first.end]
    hits = [Hit(first, 1.0, 1), Hit(second, 0.9, 2)]
    keys = [c.key for c in candidates(hits)]
    assert len(keys) == len(set(keys))
    answer = compose_answer(shared, hits, retriever.embedder, retriever.config, documents_text=lambda p: doc.text,
                            vectors=VECTORS)
    assert answer.answer.count(shared.rstrip("。;；")) == 1
    assert len({(c.doc, c.start) for c in answer.citations}) == len(answer.citations)


@pytest.mark.parametrize("seed", [q for q in ANSWERABLE if q["type"] not in {"crosslingual", "metadata"}],
                         ids=lambda q: q["id"])
def test_answer_from_the_chunks_that_hold_the_evidence(seed, essay_chunks, retriever):
    doc, chunks = essay_chunks
    def holds(c):
        return any(e.replace(",", "") in c.text.replace(",", "").replace("，", "") for e in seed["evidence"])
    evidence = [c for c in chunks if holds(c)][:1]
    others = [c for c in chunks if c not in evidence][:4]
    hits = [Hit(c, 1.0 - 0.1 * i, i + 1) for i, c in enumerate(evidence + others)]
    answer = compose_answer(seed["q"], hits, retriever.embedder, retriever.config)   # no document text
    assert not answer.abstained
    for key in seed["keys"]:
        assert key in answer.answer
    for c in answer.citations:
        assert doc.text[c.start:c.end] == c.text


# --- an LLM's reply ----------------------------------------------------------

def test_generated_reply_is_renumbered_verified_and_cleaned(essay_chunks, retriever):
    _, chunks = essay_chunks
    by_words = lambda w: next(c for c in chunks if w in c.text)   # noqa: E731
    hits = [Hit(by_words("大政方针"), 0.9, 1), Hit(by_words("小康社会"), 0.8, 2)]
    reply = "党的代表大会提出了全面建设小康社会的宏伟目标[2]。该市去年的财政收入达到了五十亿元[1]。见[9]。"
    answer = answer_from_generated("党的代表大会提出了什么宏伟目标？", reply, hits, retriever.embedder, retriever.config)
    # A fact question: the answer opens with a short span of the supported statement's sentence.
    assert answer.short_answer and answer.answer.startswith(f"{answer.short_answer}[1]\n\n")
    assert "党的代表大会提出了全面建设小康社会的宏伟目标[1]。该市去年的财政收入达到了五十亿元[2]。" in answer.answer
    assert "[9]" not in answer.answer
    assert [c.chunk_id for c in answer.citations] == [hits[1].chunk.id, hits[0].chunk.id]
    assert "小康社会" in answer.citations[0].text
    assert [s.supported for s in answer.statements[:3]] == [True, True, False]
    assert any("[9]" in note for note in answer.notes)
    assert any("not supported" in note for note in answer.notes)
