"""Resumable builds: each newly embedded document's vectors are saved to
``index/.staging/`` as soon as they exist, so a build that is interrupted
re-embeds only what it had not finished."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np


class Staging:
    """Per-document vectors of an unfinished build, keyed by settings + sha:
    the document's chunk vectors, then its distinct sentences' vectors."""

    def __init__(self, folder: Path, settings_key: str) -> None:
        self.folder = folder / settings_key

    def get(self, sha256: str) -> np.ndarray | None:
        path = self.folder / f"{sha256}.npy"
        try:
            return np.load(path) if path.exists() else None
        except (OSError, ValueError):
            return None  # a half-written cache file is just re-embedded

    def put(self, sha256: str, vectors: np.ndarray) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f"{sha256}.tmp.npy"
        np.save(tmp, vectors)
        tmp.replace(self.folder / f"{sha256}.npy")

    def clear(self) -> None:
        shutil.rmtree(self.folder.parent, ignore_errors=True)
