"""The settings tab's handlers: restore the browser's settings when the page
opens, save each change, switch the interface language.

Settings live in the browser (see :mod:`ui.session`); the handlers write
them to both the browser's store and the session's live copy, which the
other tabs read. Every handler returns a :class:`SettingsUpdate`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from rag.config import AnswerMode
from ui import render
from ui.i18n import Labels, t
from ui.page import Page
from ui.updates import KEEP


def mode_choices(lang: str) -> list[tuple[str, str]]:
    """The answer modes as (label, value) pairs for the mode radio."""
    return [(t(f"mode_{mode}", lang), mode.value) for mode in AnswerMode]


@dataclass
class SettingsUpdate:
    """What a settings action changes; each field names a component or state."""

    settings_store: Any = KEEP     # the settings kept in the browser
    session_settings: Any = KEEP   # the live copy the handlers read
    top_k: Any = KEEP
    mode: Any = KEEP
    llm: Any = KEEP                # the LLM endpoint box
    llm_model: Any = KEEP
    language: Any = KEEP           # the interface language radio
    status: Any = KEEP             # the index status line
    rebuild_top: Any = KEEP
    table: Any = KEEP              # the documents table (its headers follow the language)
    delete_choice: Any = KEEP
    examples: Any = KEEP
    sources: Any = KEEP            # the (empty) sources panel
    labels: Any = KEEP             # every text that follows the language (see ui.i18n.Labels)


class Settings:
    """Keeps the controls, the browser's store and the page's language in step."""

    def __init__(self, page: Page, labels: Labels) -> None:
        self.page = page
        self.labels = labels

    def restore(self, saved: Any, browser_language: str | None) -> SettingsUpdate:
        """The page opened: the saved settings (or the defaults, in the
        browser's language) on the controls, and everything the index shows."""
        s = self.page.settings(saved, browser_language)
        lang = s["lang"]
        endpoint = s["llm"] if self.page.allow_custom_endpoint else self.page.config.llm
        return SettingsUpdate(settings_store=s, session_settings=s, top_k=s["top_k"], mode=s["mode"], llm=endpoint,
                              llm_model=s["llm_model"], language=lang, **self.page.status_fields(lang),
                              **self.page.documents_fields(lang), examples=self.page.examples(),
                              sources=render.render_sources_panel([], lang), labels=self.labels.changes(lang))

    def save(self, top_k: Any, mode: Any, endpoint: Any, model: Any, lang: Any) -> SettingsUpdate:
        """Settings made from the controls' current values alone (not the
        previous state), so quick successive edits cannot undo one another."""
        s = self.page.settings({"top_k": top_k, "mode": mode,
                                "llm": endpoint if self.page.allow_custom_endpoint else "",
                                "llm_model": model, "lang": lang})
        return SettingsUpdate(settings_store=s, session_settings=s)

    def change_language(self, top_k: Any, mode: Any, endpoint: Any, model: Any, lang: Any) -> SettingsUpdate:
        """Save, then show every text, the status line and the table in the new language."""
        return replace(self.save(top_k, mode, endpoint, model, lang), **self.page.status_fields(lang),
                       table=self.page.documents_fields(lang)["table"], labels=self.labels.changes(lang))
