"""Fixtures of the UI tests: a built index of the bundled essay (made once
with ``python -m ingest``), a private copy of it per test module with the
real app serving it, and the screenshots folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from uiharness import ESSAY, SCREENSHOTS, copy_essay, run_ingest, start_app, stop_app


@pytest.fixture(scope="session")
def essay_index_template(tmp_path_factory) -> tuple[Path, Path]:
    """(corpus, index) of the bundled essay, built once per test session by
    ``python -m ingest``. Copy before changing: see :func:`uiharness.copy_essay`."""
    root = tmp_path_factory.mktemp("ui-essay")
    corpus, index = root / "corpus", root / "index"
    corpus.mkdir()
    shutil.copy(ESSAY, corpus / ESSAY.name)
    run_ingest(corpus, index)
    return corpus, index


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
