"""The ONNX export's layout: the graph is small and its weights sit beside it
as external data (so ONNX Runtime memory-maps them instead of parsing a
470 MB protobuf on every start), and an export missing any file is redone."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.config import Config
from rag.models import onnx_export
from rag.models.onnx_export import MODEL_FILE, RECORD_FILE, REFERENCE_FILE, WEIGHTS_FILE, is_current, onnx_folder

pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def model_dir() -> Path:
    path = Config().embedder_path
    assert path is not None
    onnx_export.export_onnx(path)           # a no-op when `make setup` made it
    return path


def test_the_graph_is_small_and_its_weights_are_external_data(model_dir):
    folder = onnx_folder(model_dir)
    assert (folder / MODEL_FILE).stat().st_size < 1_000_000
    assert (folder / WEIGHTS_FILE).stat().st_size > 100_000_000


def test_an_export_without_its_weights_file_is_not_current(model_dir, tmp_path):
    # A copy of the model folder made of links, so the real export is never touched.
    copy = tmp_path / model_dir.name
    (copy / onnx_export.ONNX_DIR).mkdir(parents=True)
    for name in onnx_export._SOURCE_FILES:
        (copy / name).symlink_to(model_dir / name)
    for name in (RECORD_FILE, MODEL_FILE, REFERENCE_FILE):
        (onnx_folder(copy) / name).symlink_to(onnx_folder(model_dir) / name)
    assert not is_current(copy)
    (onnx_folder(copy) / WEIGHTS_FILE).symlink_to(onnx_folder(model_dir) / WEIGHTS_FILE)
    assert is_current(copy)
