"""The chat tab's handlers: ask (streamed), clear, copy, pick an example.

The conversation lives in the browser's session as two states: ``turns``
(:class:`rag.records.Turn`, for follow-up questions and the export) and
``panel`` (``(turn number, question, sources HTML)``, what the sources panel
shows). Every handler returns a :class:`ChatUpdate`.
"""

from __future__ import annotations

import logging
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator, Sequence

from rag.engine import IndexProblem, QuestionError
from rag.records import Turn
from ui import render
from ui.i18n import t
from ui.page import Page
from ui.session import engine_for, overrides_for
from ui.updates import KEEP, Change, Toast

log = logging.getLogger(__name__)

EXPORT_DIR = Path(tempfile.gettempdir()) / "rag-ui-exports"


@dataclass
class ChatUpdate:
    """What a step of the chat changes; each field names a component or state."""

    chatbot: Any = KEEP        # the messages shown
    sources: Any = KEEP        # the sources panel (HTML)
    notice: Any = KEEP         # the warning line under the question box
    question: Any = KEEP       # the question box
    turns: Any = KEEP          # [Turn]
    panel: Any = KEEP          # [(turn, question, sources HTML)]
    answer_md: Any = KEEP      # the last answer as Markdown (for "copy")
    export: Any = KEEP         # the conversation's Markdown file (download button)


class Chat:
    """Answers questions with the page's engine and the session's settings."""

    def __init__(self, page: Page, export_dir: Path = EXPORT_DIR) -> None:
        self.page = page
        self.export_dir = export_dir

    def ask(self, text: str, messages: Sequence[dict] | None, settings: Any, turns: Sequence[Turn] | None,
            panel: Sequence[tuple[int, str, str]] | None) -> Iterator[ChatUpdate]:
        """Stream the answer to ``text``: the question and a placeholder at
        once, the answer as it grows, then the final answer with its sources,
        Markdown and export. An empty question asks nothing and says why."""
        s = self.page.settings(settings)
        lang = s["lang"]
        messages, turns, panel = list(messages or []), list(turns or []), list(panel or [])

        def shown(**fields: Any) -> ChatUpdate:
            """The conversation as it is now (copies: each update is a snapshot)."""
            return ChatUpdate(chatbot=list(messages), turns=list(turns), panel=list(panel), **fields)

        def reply(html: str) -> ChatUpdate:
            messages[-1] = {"role": "assistant", "content": html}
            return shown()

        try:
            self.page.engine.clean_question(text)
        except QuestionError:
            yield shown(notice=f'<div class="notice">⚠ {render.esc(t("empty_question", lang))}</div>', question=text)
            return
        # Numbered after the last answered turn (the chat shown may be
        # shorter: an API client need not send it back).
        turn = max([row[0] for row in panel] + [sum(1 for m in messages if m.get("role") == "user")]) + 1
        messages.append({"role": "user", "content": render.render_question(text)})
        messages.append({"role": "assistant",
                         "content": f'<div class="answer streaming">{render.esc(t("thinking", lang))}</div>'})
        yield shown(notice="", question="")

        final = None
        try:
            changes, session_notes = overrides_for(s, self.page.config, self.page.allow_custom_endpoint)
            view = engine_for(self.page.engine, changes)
            for update in view.ask_stream(text, turns):
                if update.answer is None:
                    yield reply(render.render_answer(update.text, None, turn, lang))
                else:
                    final = update.answer
        except IndexProblem as exc:
            yield reply(render.render_error(t("index_problem", lang, error=str(exc))))
            return
        except (QuestionError, ValueError, RuntimeError, OSError) as exc:
            log.exception("answering failed")
            yield reply(render.render_error(t("error", lang, error=str(exc))))
            return
        if final is None:
            return
        final.notes = list(final.notes) + session_notes
        messages[-1] = {"role": "assistant", "content": render.render_answer(final.answer, final, turn, lang)}
        panel.append((turn, text.strip(), render.render_turn_sources(final, turn, self.page.source_context(view),
                                                                     lang)))
        turns.append(Turn(text.strip(), final))
        yield shown(sources=render.render_sources_panel(panel, lang), notice="",
                    answer_md=render.answer_markdown(final, lang),
                    export=Change(value=self.write_export(turns, lang), interactive=True))

    def write_export(self, turns: Sequence[Turn], lang: str) -> str:
        """The conversation as a Markdown file in a folder of its own; its path."""
        self.export_dir.mkdir(parents=True, exist_ok=True)
        now = datetime.now()
        path = Path(tempfile.mkdtemp(dir=self.export_dir)) / f"conversation-{now.strftime('%Y%m%d-%H%M%S')}.md"
        path.write_text(render.conversation_markdown([(tu.question, tu.answer) for tu in turns], lang,
                                                     when=now.strftime("%Y-%m-%d %H:%M")), encoding="utf-8")
        return str(path)

    def clear(self, settings: Any) -> ChatUpdate:
        """An empty conversation: no messages, sources, answer or export."""
        lang = self.page.language(settings)
        return ChatUpdate(chatbot=[], sources=render.render_sources_panel([], lang), notice="", turns=[], panel=[],
                          answer_md="", export=Change(value=None, interactive=False))

    def copied(self, answer_md: str, settings: Any) -> Toast:
        """What to say once the page's script has copied the last answer."""
        lang = self.page.language(settings)
        return Toast(t("copied", lang)) if answer_md else Toast(t("nothing_to_copy", lang), warning=True)

    @staticmethod
    def pick_example(sample: Any) -> ChatUpdate:
        """An example question clicked: it goes into the question box (and is then asked)."""
        return ChatUpdate(question=sample[0] if isinstance(sample, (list, tuple)) else sample)
