"""What the handlers of every tab share: the engine, the server's settings,
and the views of the index that more than one tab refreshes (the status line,
the documents table, the example questions, the text around a cited passage).

Each view is returned as the fields of a named update (see :mod:`ui.updates`),
so a handler spreads it into its own: ``DocumentsUpdate(**page.status_fields(lang))``.
"""

from __future__ import annotations

import threading
from typing import Any

from rag.engine import Engine, IndexProblem
from ui import render
from ui.examples import example_questions
from ui.exposure import custom_endpoints_allowed
from ui.i18n import t
from ui.session import normalize_settings
from ui.updates import Change, Samples


class Page:
    """The engine behind the page and the views of its index."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.config = engine.config
        # A browser may point the answers at its own LLM endpoint only when
        # the app is for this machine alone, or the operator lists endpoints.
        self.allow_custom_endpoint = custom_endpoints_allowed(self.config)
        self._context_lock = threading.Lock()
        self._context: tuple[str, render.SourceContext] | None = None

    def settings(self, saved: Any, browser_language: str | None = None) -> dict[str, Any]:
        """The browser's saved settings made whole and valid."""
        return normalize_settings(saved, self.config, browser_language)

    def language(self, saved: Any) -> str:
        return self.settings(saved)["lang"]

    # --- views of the index ------------------------------------------------

    def status_fields(self, lang: str) -> dict[str, Any]:
        """The status line, and the "rebuild now" button shown when it is needed."""
        status = self.engine.status()
        return {"status": render.render_status(status, lang),
                "rebuild_top": Change(visible=render.needs_rebuild(status))}

    def documents_fields(self, lang: str) -> dict[str, Any]:
        """The documents table, and the files on disk offered for deletion."""
        docs = self.engine.documents()
        table = {"headers": [t(k, lang) for k in render.DOCUMENT_COLUMNS],
                 "data": render.document_rows(docs, lang) or [[""] * len(render.DOCUMENT_COLUMNS)]}
        on_disk = [d.path for d in docs if d.status != "removed"]
        return {"table": table, "delete_choice": Change(choices=on_disk, value=None)}

    def example_questions(self) -> list[str]:
        """Questions about the serving index's section headings; none without an index."""
        try:
            contents = self.engine.contents()
        except IndexProblem:
            return []
        titles = [(path, doc.title) for path, doc in contents.documents.items()]
        return example_questions(contents.chunks, titles)

    def examples(self) -> Samples:
        return Samples.of_questions(self.example_questions())

    def source_context(self, engine: Engine | None = None) -> render.SourceContext | None:
        """The text around passages of the index that ``engine`` (by default
        the page's) serves; made once per index version, since a version
        never changes. None when there is no index."""
        try:
            contents = (engine or self.engine).contents()
        except IndexProblem:
            return None
        with self._context_lock:
            if self._context is None or self._context[0] != contents.version:
                self._context = (contents.version, render.SourceContext.from_contents(contents))
            return self._context[1]
