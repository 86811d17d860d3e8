"""Fixtures of the UI tests: the session's index of the bundled essay (the
one ``essay_config`` of tests/conftest.py builds, shared with the other
tests), a private copy of it per test module with the real app serving it,
and the screenshots folder. (``python -m ingest`` itself is run by
tests/rag/test_cli.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest
from uiharness import SCREENSHOTS, copy_essay, start_app, stop_app


@pytest.fixture(scope="session")
def essay_index_template(essay_config) -> tuple[Path, Path]:
    """(corpus, index) of the bundled essay, built once per test session.
    Never change them: copy first, see :func:`uiharness.copy_essay`."""
    return essay_config.corpus_dir, essay_config.index_dir


@pytest.fixture(scope="module")
def essay_app(request, essay_index_template, tmp_path_factory):
    """The app over a private copy of the essay's corpus and index (one
    process per test module; a module's ``APP_ARGS`` are added to its
    command line)."""
    dest = tmp_path_factory.mktemp("ui-app")
    corpus, index = copy_essay(essay_index_template, dest)
    app = start_app(corpus, index, dest / "app.log", *getattr(request.module, "APP_ARGS", ()))
    yield app
    stop_app(app)


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
