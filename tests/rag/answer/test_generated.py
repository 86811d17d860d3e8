"""rag.answer.generated over a local model's excerpts: a reply is verified
against the very sentences the model was shown, and cites them verbatim."""

from __future__ import annotations

import pytest

from rag.answer.generated import answer_from_generated
from rag.answer.prompt import excerpt_sources

QUESTION = "党的代表大会提出了什么宏伟目标？"


@pytest.fixture(scope="module")
def excerpts(essay_engine):
    retriever = essay_engine.retriever()
    hits = retriever.search(QUESTION)
    return hits, excerpt_sources(QUESTION, hits, retriever.embedder, essay_engine.config, store=retriever.store)


def test_a_statement_copying_its_excerpt_is_supported_and_cites_that_sentence(essay_engine, excerpts):
    hits, sources = excerpts
    retriever = essay_engine.retriever()
    best = sources[0]
    reply = f"{best.text.rstrip('。')}[1]。"
    answer = answer_from_generated(QUESTION, reply, hits, retriever.embedder, essay_engine.config, sources=sources)
    assert not answer.abstained
    assert [s.supported for s in answer.statements] == [True]
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
    assert [s.supported for s in answer.statements[:2]] == [False, True]
    assert answer.answer.count("[1]") == 2 and "[2]" not in answer.answer and "[9]" not in answer.answer
    assert [c.text for c in answer.citations] == [sources[1].text]
    assert any("not supported" in note for note in answer.notes)
    assert any("[9]" in note for note in answer.notes)


def test_declining_in_the_prompts_words_is_an_abstention(essay_engine, excerpts):
    hits, sources = excerpts
    retriever = essay_engine.retriever()
    answer = answer_from_generated(QUESTION, "文档中没有找到这个问题的答案。", hits, retriever.embedder,
                                   essay_engine.config, sources=sources)
    assert answer.abstained and not answer.citations
