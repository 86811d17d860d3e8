"""Shared fixtures: the real embedder and a real index of the bundled essay.

The essay's index is built once per session (``essay_config``) and shared:
a test that changes an index or a corpus copies them into its own temporary
folder first (the UI tests, the engine and CLI tests, the benchmark's seed
run all do). Tests of build mechanics that do not depend on meaning use the
fake embedder of ``tests/fakes.py``. Tests write only to temporary folders:
the project's own ``index/`` and ``bench/indexes/`` are never touched.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.config import Config  # noqa: E402
from support import ESSAY, SHARED_DATA, make_config  # noqa: E402


@pytest.fixture(scope="session")
def essay_corpus(tmp_path_factory) -> Path:
    """A copy of the bundled corpus folder."""
    folder = tmp_path_factory.mktemp("essay-corpus")
    shutil.copy(ESSAY, folder / ESSAY.name)
    return folder


@pytest.fixture(scope="session")
def essay_config(essay_corpus, tmp_path_factory) -> Config:
    """A Config whose index of the essay is built (once per test session,
    with the real embedder). Never change its folders: copy them."""
    from rag.index.build import build_index

    config = make_config(essay_corpus, tmp_path_factory.mktemp("essay-index"))
    build_index(config)
    return config


@pytest.fixture(scope="session")
def essay_engine(essay_config):
    from rag.engine import Engine

    return Engine(essay_config)


@pytest.fixture(scope="session")
def seed_questions() -> list[dict]:
    path = SHARED_DATA / "seed_dev_qa.jsonl"
    return [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
