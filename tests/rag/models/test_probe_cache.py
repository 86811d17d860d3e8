"""rag.models.probe_cache: a passing probe verification is remembered beside
the ONNX export and used while the export, the runtime and the CPU stay the
same; anything else verifies again."""

from __future__ import annotations

import numpy as np
import pytest

from rag.config import Config, EmbedRuntime
from rag.models import embedder as embedder_module
from rag.models import probe_cache
from rag.models.cpu import CpuInfo
from rag.models.onnx_export import MODEL_FILE, PROBE_TEXTS, RECORD_FILE, REFERENCE_FILE, WEIGHTS_FILE, onnx_folder

pytest.importorskip("onnxruntime")

AVX2 = CpuInfo(model="test", logical_cores=2, physical_cores=2, usable_cores=2, avx2=True, fma=True)
AVX512 = CpuInfo(model="test", logical_cores=2, physical_cores=2, usable_cores=2, avx2=True, fma=True, avx512f=True)


@pytest.fixture()
def model_dir(tmp_path):
    """The bundled model folder, linked file by file into a temporary one
    (so the test's verification record is written there)."""
    real = Config.from_env({}).embedder_path
    if not (onnx_folder(real) / MODEL_FILE).is_file():
        pytest.skip("no ONNX export of the bundled model")
    folder = tmp_path / real.name
    (folder / "onnx").mkdir(parents=True)
    for path in real.iterdir():
        if path.is_file():
            (folder / path.name).symlink_to(path)
        elif path.name != "onnx":
            (folder / path.name).symlink_to(path, target_is_directory=True)
    for name in (MODEL_FILE, WEIGHTS_FILE, REFERENCE_FILE, RECORD_FILE):
        (onnx_folder(folder) / name).symlink_to(onnx_folder(real) / name)
    return folder


@pytest.fixture()
def verified(monkeypatch) -> list:
    """One entry per real probe verification from here on."""
    calls: list = []
    real_verify = embedder_module.verify
    monkeypatch.setattr(embedder_module, "verify",
                        lambda backend, reference, texts=None: calls.append(1) or real_verify(backend, reference))
    return calls


def choose(model_dir, cpu):
    """_choose_backend for ONNX over ``model_dir``."""
    config = Config.from_env({}, embed_runtime=EmbedRuntime.ONNX).replace(embedder=str(model_dir))
    return embedder_module._choose_backend(config, model_dir, cpu, 2)


def test_the_first_load_verifies_and_the_next_uses_the_record(model_dir, verified):
    backend, why = choose(model_dir, AVX2)
    assert backend.runtime == "onnx-fp32" and verified == [1] and "verified before" not in why
    assert (onnx_folder(model_dir) / probe_cache.FILE).is_file()
    backend, why = choose(model_dir, AVX2)
    assert backend.runtime == "onnx-fp32" and verified == [1] and "verified before" in why


def test_another_cpu_or_runtime_version_verifies_again(model_dir, verified, monkeypatch):
    choose(model_dir, AVX2)
    choose(model_dir, AVX512)                  # other instruction sets
    assert verified == [1, 1]
    real_version = probe_cache.md.version
    monkeypatch.setattr(probe_cache.md, "version",
                        lambda name: "0.0.1" if name == "onnxruntime" else real_version(name))
    choose(model_dir, AVX512)
    assert verified == [1, 1, 1]


def test_a_new_export_verifies_again(model_dir, verified):
    choose(model_dir, AVX2)
    reference = onnx_folder(model_dir) / REFERENCE_FILE
    data = np.load(reference)
    reference.unlink()
    np.save(reference, data)             # the same vectors, written again: a new file all the same
    choose(model_dir, AVX2)
    assert verified == [1, 1]


def test_only_a_readable_passing_record_of_the_same_facts_counts(tmp_path):
    wanted = probe_cache.facts("onnx-fp32", tmp_path, tmp_path, AVX2, PROBE_TEXTS, 0.999)
    assert probe_cache.remembered(tmp_path, wanted) is None
    probe_cache.remember(tmp_path, wanted, 0.9995)
    assert probe_cache.remembered(tmp_path, wanted) == 0.9995
    other = probe_cache.facts("onnx-fp32", tmp_path, tmp_path, AVX2, PROBE_TEXTS[1:], 0.999)
    assert probe_cache.remembered(tmp_path, other) is None            # other probe texts
    probe_cache.remember(tmp_path, wanted, 0.99)
    assert probe_cache.remembered(tmp_path, wanted) is None           # below the floor
    (tmp_path / probe_cache.FILE).write_text('{"facts": 1}')
    assert probe_cache.remembered(tmp_path, wanted) is None           # unreadable


def test_a_folder_that_cannot_be_written_only_costs_the_verification(tmp_path):
    missing = tmp_path / "gone"
    wanted = probe_cache.facts("onnx-fp32", missing, missing, AVX2, PROBE_TEXTS, 0.999)
    probe_cache.remember(missing, wanted, 1.0)                       # logged, not raised
    assert probe_cache.remembered(missing, wanted) is None
