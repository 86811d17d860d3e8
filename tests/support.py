"""Paths and helpers the tests share. Test modules import them from here, not
from ``conftest``: with several ``conftest.py`` files (``tests/ui`` has its
own), ``from conftest import`` finds whichever was imported first."""

from __future__ import annotations

import os
from pathlib import Path

from rag.config import Config

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = Path(os.environ.get("RAG_SHARED_DATA", PROJECT_ROOT.parent / "shared" / "data"))
ESSAY = PROJECT_ROOT / "corpus" / "innovating-organizational-work.txt"


def make_config(corpus: Path, index: Path, **overrides) -> Config:
    """A Config for a test's own corpus and index folders, defaults otherwise
    (RAG_* variables of the developer's shell are deliberately ignored)."""
    return Config.from_env({}, corpus_dir=corpus, index_dir=index, **overrides)
