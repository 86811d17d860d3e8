"""A runtime's probe verification, remembered beside the ONNX export.

Every runtime but torch fp32 is verified when it is loaded: it embeds the
probe texts and each vector must keep cosine >= ``MIN_COSINE`` to torch
fp32's (:func:`rag.models.embedder.verify`). That took ~0.5 s of every cold
``python -m rag ask``, and its answer changes only when something it
depends on does: the exported graph and its reference vectors, the
tokenizer, the runtime's version, or the CPU (its model and instruction
sets pick the kernels). So a passing verification is written to
``<model>/onnx/verified.json`` with those facts, and a later load whose
facts are the same uses it instead of verifying again; when any differs
(a new export, an upgraded onnxruntime, another machine sharing the
folder) the runtime is verified again and the file rewritten. A failed
verification is never remembered, and a folder that cannot be written only
costs the verification.
"""

from __future__ import annotations

import hashlib
import importlib.metadata as md
import json
import logging
import os
import tempfile
from pathlib import Path

from rag.models.cpu import CpuInfo

log = logging.getLogger(__name__)

FILE = "verified.json"
# The files whose change must trigger a new verification (in the model folder, then its onnx/ folder).
_MODEL_FILES = ("tokenizer.json", "sentence_bert_config.json", "config.json")
_EXPORT_FILES = ("model.onnx", "model.onnx.data", "reference.npy", "export.json")
_PACKAGES = ("onnxruntime", "tokenizers", "numpy")


def facts(runtime: str, model_dir: Path, onnx_dir: Path, cpu: CpuInfo, probes: tuple[str, ...],
          min_cosine: float) -> dict:
    """What a verification of ``runtime`` over ``onnx_dir`` depends on."""
    files = {}
    for path in [model_dir / n for n in _MODEL_FILES] + [onnx_dir / n for n in _EXPORT_FILES]:
        try:
            stat = path.stat()
            files[path.name] = [stat.st_size, stat.st_mtime_ns]
        except OSError:
            files[path.name] = None
    versions = {}
    for package in _PACKAGES:
        try:
            versions[package] = md.version(package)
        except md.PackageNotFoundError:
            versions[package] = None
    return {"runtime": runtime, "files": files, "versions": versions, "cpu": cpu.model, "flags": list(cpu.flags),
            "probes": hashlib.sha256("\0".join(probes).encode("utf-8")).hexdigest(), "min_cosine": min_cosine}


def remembered(onnx_dir: Path, wanted: dict) -> float | None:
    """The lowest probe cosine of an earlier passing verification with the
    same ``wanted`` facts, or None (none, other facts, unreadable)."""
    try:
        saved = json.loads((onnx_dir / FILE).read_text("utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(saved, dict) or saved.get("facts") != wanted:
        return None
    lowest = saved.get("lowest_cosine")
    return float(lowest) if isinstance(lowest, (int, float)) and lowest >= wanted["min_cosine"] else None


def remember(onnx_dir: Path, wanted: dict, lowest: float) -> None:
    """Write a passing verification (replacing the file atomically; a
    folder that cannot be written is logged and left alone)."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{FILE}.", dir=onnx_dir)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"facts": wanted, "lowest_cosine": lowest}, fh, ensure_ascii=False, indent=1)
        os.chmod(tmp, 0o644)
        os.replace(tmp, onnx_dir / FILE)
    except OSError as exc:
        log.info("could not remember the probe verification in %s: %s", onnx_dir, exc)
