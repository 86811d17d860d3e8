"""ui.chat: the chat tab's handlers as plain Python, over a scripted engine."""

from __future__ import annotations

import pytest
from fake_engine import FakeEngine, config_for

from rag.index.store import IndexMissing
from ui.chat import Chat, ChatUpdate
from ui.page import Page
from ui.updates import KEEP, Change, Toast


@pytest.fixture
def engine(tmp_path) -> FakeEngine:
    return FakeEngine(config_for(tmp_path))


@pytest.fixture
def chat(engine, tmp_path) -> Chat:
    return Chat(Page(engine), export_dir=tmp_path / "exports")


def ask(chat: Chat, text: str, messages=None, turns=None, panel=None, settings=None) -> list[ChatUpdate]:
    return list(chat.ask(text, messages, settings or {"lang": "zh"}, turns, panel))


def test_question_is_shown_at_once_then_streamed_then_answered_with_sources_markdown_and_export(chat):
    first, *streamed, final = ask(chat, "组织部门的职能是什么？")
    assert first.chatbot[0] == {"role": "user", "content": "组织部门的职能是什么？"}
    assert 'class="answer streaming"' in first.chatbot[-1]["content"]
    assert first.question == "" and first.notice == ""
    assert first.sources is KEEP and first.export is KEEP
    assert streamed and all(u.sources is KEEP and u.question is KEEP for u in streamed)
    reply = final.chatbot[-1]["content"]
    assert 'class="answer done' in reply and '<a class="cite" href="#src-1-1"' in reply
    assert 'id="src-1-1"' in final.sources and "essay.txt" in final.sources
    assert "[1]" in final.answer_md
    assert final.question is KEEP
    assert isinstance(final.export, Change) and final.export.props["interactive"] is True
    text = open(final.export.props["value"], encoding="utf-8").read()
    assert text.startswith("# 对话导出") and "组织部门的职能是什么？" in text


def test_answered_turn_is_kept_for_follow_ups_and_numbers_the_next_one(chat, engine):
    *_, final = ask(chat, "组织部门的职能是什么？")
    assert [t.question for t in final.turns] == ["组织部门的职能是什么？"]
    assert [row[:2] for row in final.panel] == [(1, "组织部门的职能是什么？")]
    *_, second = ask(chat, "它负责什么？", final.chatbot, final.turns, final.panel)
    assert engine.asked[-1][1] == final.turns, "the earlier turn was not passed for the follow-up"
    assert [row[0] for row in second.panel] == [1, 2]
    assert 'href="#src-2-1"' in second.chatbot[-1]["content"]


def test_turns_are_numbered_after_the_panel_even_when_the_client_sends_no_chat(chat):
    """An API client need not send the chat back; the numbers must not repeat."""
    *_, final = ask(chat, "组织部门的职能是什么？", panel=[(4, "earlier", "<div></div>")])
    assert final.panel[-1][0] == 5


def test_empty_question_shows_a_notice_and_asks_nothing(chat, engine):
    (only,) = ask(chat, "   ")
    assert "请先输入问题" in only.notice
    assert only.chatbot == [] and only.question == "   "
    assert engine.asked == [] and engine.overrides == []


def test_missing_index_is_answered_with_the_engines_message(chat, engine):
    engine.problem = IndexMissing("no index in /x: build it with `python -m ingest`")
    *_, last = ask(chat, "组织部门的职能是什么？")
    reply = last.chatbot[-1]["content"]
    assert 'class="answer done error"' in reply and "python -m ingest" in reply
    assert last.sources is KEEP and last.turns == []


def test_session_settings_become_the_requests_overrides_and_their_notes(chat, engine):
    *_, final = ask(chat, "组织部门的职能是什么？", settings={"lang": "en", "top_k": 3, "mode": "llm"})
    assert engine.overrides[-1] == {"top_k": 3}
    assert 'class="note"' in final.chatbot[-1]["content"], "no note that no LLM is configured"


def test_clear_empties_the_conversation_and_disables_export(chat):
    update = chat.clear({"lang": "en"})
    assert update.chatbot == [] and update.turns == [] and update.panel == [] and update.answer_md == ""
    assert "sources-empty" in update.sources
    assert update.export == Change(value=None, interactive=False)
    assert update.question is KEEP


def test_copy_confirms_or_warns_when_there_is_nothing_to_copy(chat):
    assert chat.copied("答案[1]", {"lang": "zh"}) == Toast("已复制最近一个答案（含引用）。")
    assert chat.copied("", {"lang": "en"}).warning is True


def test_clicked_example_goes_into_the_question_box(chat):
    assert chat.pick_example(["组织部门的职能是什么？"]).question == "组织部门的职能是什么？"
    assert chat.pick_example("直接的问题").question == "直接的问题"


@pytest.mark.parametrize("lang, shown, hidden", [("zh", "说明：问题过长，只使用了前 500 个字", "the question was cut"),
                                                 ("en", "Note: the question was cut to its first 500 characters",
                                                  "问题过长")])
def test_the_engines_notes_are_shown_in_the_interface_language(chat, lang, shown, hidden):
    """The engine's note used to be English inside the Chinese page ("说明：the question was cut ...")."""
    *_, final = ask(chat, "组织部门的职能是什么？" * 60, settings={"lang": lang})
    reply = final.chatbot[-1]["content"]
    assert shown in reply and hidden not in reply
