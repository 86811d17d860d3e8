"""rag.answer.generated over a local model's excerpts: a reply is verified
against the very sentences the model was shown, and cites them verbatim; a
fact question's answer opens with a short span of them."""

from __future__ import annotations

import pytest

from ingest.records import Chunk
from rag.answer.generated import answer_from_generated
from rag.answer.prompt import Source, excerpt_sources
from rag.records import Hit

QUESTION = "党的代表大会提出了什么宏伟目标？"


@pytest.fixture(scope="module")
def excerpts(essay_engine):
    retriever = essay_engine.retriever()
    hits = retriever.search(QUESTION)
    return hits, excerpt_sources(QUESTION, hits, retriever.embedder, essay_engine.config, store=retriever.store)


@pytest.fixture(scope="module")
def copying_reply(essay_engine, excerpts):
    """A reply that copies the best excerpt and cites it: the excerpt and the answer made of it."""
    hits, sources = excerpts
    best = sources[0]
    reply = f"{best.text.rstrip('。')}[1]。"
    answer = answer_from_generated(QUESTION, reply, hits, essay_engine.retriever().embedder, essay_engine.config,
                                   sources=sources)
    return best, answer


def test_a_statement_copying_its_excerpt_is_supported_and_cites_that_sentence(essay_engine, copying_reply):
    best, answer = copying_reply
    retriever = essay_engine.retriever()
    assert not answer.abstained
    assert [s.text for s in answer.statements][-1] == best.text.rstrip("。") + "。"   # after the short answer
    assert all(s.supported for s in answer.statements)
    [citation] = answer.citations
    assert (citation.doc, citation.start, citation.end, citation.text) == (best.hit.chunk.doc, best.start, best.end,
                                                                         best.text)
    document = retriever.store.documents[citation.doc].text
    assert document[citation.start:citation.end] == citation.text


def test_a_statement_citing_the_wrong_excerpt_is_flagged_and_numbers_follow_the_reply(essay_engine, excerpts):
    hits, sources = excerpts
    assert len(sources) >= 2
    retriever = essay_engine.retriever()
    reply = f"{sources[0].text.rstrip('。')}[2]。{sources[1].text.rstrip('。')}[2]。见[9]。"
    answer = answer_from_generated(QUESTION, reply, hits, retriever.embedder, essay_engine.config, sources=sources)
    said = answer.statements[1:] if answer.short_answer else answer.statements   # after the short answer, if any
    assert [s.supported for s in said[:2]] == [False, True]
    assert answer.answer.count("[1]") == 2 + bool(answer.short_answer)
    assert "[2]" not in answer.answer and "[9]" not in answer.answer
    assert [c.text for c in answer.citations] == [sources[1].text]
    assert any("not supported" in note for note in answer.notes)
    assert any("[9]" in note for note in answer.notes)


def test_declining_in_the_prompts_words_is_an_abstention(essay_engine, excerpts):
    hits, sources = excerpts
    retriever = essay_engine.retriever()
    answer = answer_from_generated(QUESTION, "文档中没有找到这个问题的答案。", hits, retriever.embedder,
                                   essay_engine.config, sources=sources)
    assert answer.abstained and not answer.citations


# --- the short answer of a fact question ------------------------------------

def river_source() -> tuple[list[Hit], list[Source]]:
    text = "黄河全长约5464公里，是中国第二长河。"
    hit = Hit(Chunk(id=1, doc="rivers.txt", title="中国的河流", section="", start=0, end=len(text), text=text),
              score=1.0, rank=1)
    return [hit], [Source(1, hit, text, 0, len(text), excerpt=True, evidence=1.2, lexical=1.0)]


def test_a_reply_copying_its_excerpt_opens_with_a_short_span_of_it_like_an_extractive_answer(copying_reply):
    best, answer = copying_reply
    assert answer.short_answer and answer.short_answer in best.text and len(answer.short_answer) < len(best.text)
    assert answer.answer.startswith(f"{answer.short_answer}[1]\n\n")
    assert answer.statements[0].text == answer.short_answer and answer.statements[0].supported is True
    assert [c.text for c in answer.citations] == [best.text]


def test_a_reply_that_is_only_the_span_is_the_short_answer_and_is_not_repeated(essay_engine):
    hits, sources = river_source()
    answer = answer_from_generated("黄河有多长？", "5464公里[1]", hits, essay_engine.embedder, essay_engine.config,
                                   sources=sources)
    assert not answer.abstained and answer.short_answer == "5464公里"
    assert answer.answer == "5464公里[1]"
    assert [(s.text, s.supported) for s in answer.statements] == [("5464公里", True)]


def test_the_short_answer_is_the_part_of_the_sentence_the_reply_repeats(essay_engine):
    hits, sources = river_source()
    answer = answer_from_generated("黄河有多长？", "黄河长约5464公里[1]。", hits, essay_engine.embedder,
                                   essay_engine.config, sources=sources)
    assert answer.short_answer is not None and "5464" in answer.short_answer and "第二" not in answer.short_answer
    assert answer.answer.startswith(f"{answer.short_answer}[1]\n\n黄河长约5464公里[1]。")


def test_no_short_answer_for_an_open_question_or_an_unsupported_reply(essay_engine):
    hits, sources = river_source()
    open_question = answer_from_generated("怎样保护黄河？", "黄河全长约5464公里[1]。", hits, essay_engine.embedder,
                                          essay_engine.config, sources=sources)
    unsupported = answer_from_generated("黄河有多长？", "6300公里[1]", hits, essay_engine.embedder,
                                        essay_engine.config, sources=sources)
    assert open_question.short_answer is None and unsupported.short_answer is None
    assert unsupported.answer == "6300公里[1]"
