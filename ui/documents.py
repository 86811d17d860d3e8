"""The documents tab's handlers: list, upload, delete, rebuild (incremental
or full) with progress, and the index status as JSON.

An upload or a delete that changed the corpus says so (``changed``), and the
page then rebuilds; chat keeps answering from the last good index meanwhile.
Every handler returns a :class:`DocumentsUpdate`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, Sequence

from rag.engine import BuildError, IndexProblem, safe_filename
from ui import render
from ui.i18n import t
from ui.page import Page
from ui.session import ProgressTracker
from ui.updates import KEEP

log = logging.getLogger(__name__)


class ProgressBar(Protocol):
    """Where a rebuild reports how far it is (Gradio's progress bar is one)."""

    def __call__(self, fraction: float, desc: str = "") -> Any: ...


def no_progress(fraction: float, desc: str = "") -> None:
    """A rebuild nobody watches."""


@dataclass
class DocumentsUpdate:
    """What a documents action changes; each field names a component or state."""

    build_msg: Any = KEEP        # the outcome of the last upload, delete or rebuild (HTML)
    status: Any = KEEP           # the index status line (HTML)
    rebuild_top: Any = KEEP      # the "rebuild now" button beside it
    table: Any = KEEP            # the documents table
    delete_choice: Any = KEEP    # the files offered for deletion
    examples: Any = KEEP         # the example questions (they follow the index)
    files: Any = KEEP            # the upload box
    changed: Any = KEEP          # did the action change the corpus? (a rebuild follows)


def _message(ok: bool, text: str, mark: str = "") -> str:
    return f'<div class="build-msg {"ok" if ok else "bad"}">{mark}{render.esc(text)}</div>'


class Documents:
    """Changes the corpus and rebuilds the index through the page's engine."""

    def __init__(self, page: Page) -> None:
        self.page = page

    def refresh(self, settings: Any) -> DocumentsUpdate:
        """The status line and the table as they are now (the tab was opened)."""
        lang = self.page.language(settings)
        return DocumentsUpdate(**self.page.status_fields(lang), **self.page.documents_fields(lang))

    def rebuild(self, settings: Any, progress: ProgressBar = no_progress) -> DocumentsUpdate:
        """Bring the index up to date with the corpus (changed files only)."""
        return self._build(False, settings, progress)

    def full_rebuild(self, settings: Any, progress: ProgressBar = no_progress) -> DocumentsUpdate:
        """Rebuild the index from every file of the corpus."""
        return self._build(True, settings, progress)

    def rebuild_if_changed(self, changed: bool, settings: Any,
                           progress: ProgressBar = no_progress) -> DocumentsUpdate:
        """The rebuild that follows an upload or delete, when it changed the corpus."""
        return self._build(False, settings, progress) if changed else DocumentsUpdate()

    def _build(self, full: bool, settings: Any, progress: ProgressBar) -> DocumentsUpdate:
        lang = self.page.language(settings)
        tracker = ProgressTracker(lang=lang)
        progress(0, desc=t("status_building", lang))

        def on_progress(p) -> None:
            fraction, label = tracker.step(p)
            progress(fraction, desc=label)

        try:
            report = self.page.engine.rebuild(full=full, progress=on_progress)
        except (BuildError, IndexProblem, RuntimeError, ValueError, OSError) as exc:
            log.warning("rebuild failed: %s", exc)
            message = _message(False, t("build_failed", lang, error=str(exc)), "✗ ")
        else:
            text = t("build_done", lang, documents=report.documents, chunks=report.chunks,
                     embedded=len(report.embedded_documents), reused=len(report.reused_documents),
                     seconds=report.seconds)
            if report.failed:
                text += " " + t("build_skipped", lang, n=len(report.failed),
                                reasons="; ".join(f"{f.path}: {f.reason}" for f in report.failed))
            message = _message(True, text, "✓ ")
        return DocumentsUpdate(build_msg=message, **self.page.status_fields(lang),
                               **self.page.documents_fields(lang), examples=self.page.examples())

    def upload(self, paths: Sequence[str] | None, settings: Any) -> DocumentsUpdate:
        """Copy the uploaded files into the corpus; say which were added, which
        were kept beside a document of the same name (never over it) and why
        any were refused. The upload box is emptied."""
        lang = self.page.language(settings)
        added, renamed, problems = [], [], []
        for p in paths or []:
            path = Path(p)
            try:
                stored = self.page.engine.add_file(path, path.name)
            except (ValueError, OSError) as exc:
                problems.append(str(exc))
                continue
            added.append(stored)
            if stored != safe_filename(path.name):
                renamed.append(t("uploaded_renamed", lang, name=safe_filename(path.name), stored=stored))
        lines = [_message(True, t("uploaded", lang, names=", ".join(added)), "✓ ")] if added else []
        lines += [_message(True, text, "⚠ ") for text in renamed]
        lines += [_message(False, t("upload_failed", lang, reason=problem), "✗ ") for problem in problems]
        return DocumentsUpdate(build_msg="".join(lines), files=None, changed=bool(added))

    def delete(self, rel: str | None, settings: Any) -> DocumentsUpdate:
        """Remove the chosen file from the corpus."""
        lang = self.page.language(settings)
        if not rel:
            return DocumentsUpdate(build_msg=_message(False, t("delete_none", lang)), changed=False)
        try:
            self.page.engine.delete_document(rel)
        except (ValueError, OSError) as exc:
            return DocumentsUpdate(build_msg=_message(False, str(exc), "✗ "), changed=False)
        return DocumentsUpdate(build_msg=_message(True, t("deleted", lang, name=rel), "✓ "), changed=True)

    def index_status(self) -> dict:
        """The index status as JSON (what `python -m rag status --json` prints)."""
        return self.page.engine.status().to_json()
