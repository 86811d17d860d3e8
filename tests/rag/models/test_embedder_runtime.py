"""The embedder's runtimes: ONNX reproduces torch fp32, a runtime that does
not is refused, a missing one falls back to torch, and concurrent callers
get the vectors sequential ones get."""

from __future__ import annotations

import logging
import sys
import threading

import numpy as np
import pytest

from rag.config import Config, EmbedRuntime
from rag.models import embedder as embedder_module
from rag.models import probe_cache
from rag.models.cpu import CpuInfo
from rag.models.embedder import (MIN_COSINE, Embedder, TorchBackend, candidates, shape_width, token_batches,
                                 verify)

pytest.importorskip("onnxruntime")

QUERIES = ["如何申请年假？", "“创新组织工作”的核心观点是什么？", "how much protein should an adult eat per day", "人员",
           "臺灣大學創校於哪一年？"]
PASSAGES = [
    "员工每年享有带薪年假，具体天数根据工龄确定。申请时，需要提前一周在系统中提交，并由直属主管审批。",
    "创新组织工作：组织工作必须与时俱进，既要坚持原则，又要勇于创新；否则，就会脱离群众。" * 6,
    "The recommended protein intake for adult women is about 46 grams per day.",
    "混合 text：中文、English 和 full-width 标点【】《》「」……——！？  还有两个空格\n和换行。",
    "报销流程如下：第一，填写报销单；第二，附上发票原件（电子发票需打印）；第三，交财务部门审核。",
    "短",
]
AVX2 = CpuInfo(model="test", logical_cores=2, physical_cores=2, usable_cores=2, avx2=True, fma=True)
AMX = CpuInfo(model="test", logical_cores=2, physical_cores=1, usable_cores=2, avx2=True, fma=True, avx512f=True,
              avx512_bf16=True, amx_tile=True, amx_bf16=True, amx_int8=True)


@pytest.fixture(scope="session")
def torch_embedder() -> Embedder:
    return Embedder.from_config(Config.from_env({}, embed_runtime=EmbedRuntime.TORCH))


@pytest.fixture(scope="session")
def onnx_embedder() -> Embedder:
    emb = Embedder.from_config(Config.from_env({}, embed_runtime=EmbedRuntime.ONNX))
    assert emb.runtime == "onnx-fp32", emb.choice      # the export exists or was made, and passed verification
    return emb


def test_onnx_vectors_equal_torch_fp32(onnx_embedder, torch_embedder):
    assert onnx_embedder.name == torch_embedder.name     # one index serves both
    for method in ("embed_queries", "embed_passages"):
        texts = QUERIES if method == "embed_queries" else PASSAGES
        ours = getattr(onnx_embedder, method)(texts)
        ref = getattr(torch_embedder, method)(texts)
        assert ours.shape == ref.shape == (len(texts), 384) and ours.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
        assert (ours * ref).sum(axis=1).min() >= MIN_COSINE
    assert onnx_embedder.embed_queries([]).shape == (0, 384)


def test_torch_fp32_vectors_are_sentence_transformers_encode(torch_embedder):
    # the backend runs the model's modules itself; the reference is still encode()
    model = torch_embedder.backend.model
    for texts, prefix, method in ((QUERIES, torch_embedder.query_prefix, "embed_queries"),
                                  (PASSAGES, torch_embedder.passage_prefix, "embed_passages")):
        ref = model.encode([prefix + t for t in texts], normalize_embeddings=True, convert_to_numpy=True)
        np.testing.assert_allclose(getattr(torch_embedder, method)(texts), ref, atol=2e-5)


def test_auto_picks_bf16_first_only_for_bulk_work_on_amx():
    # questions: ONNX everywhere (torch takes seconds to load for one question)
    assert candidates(EmbedRuntime.AUTO, AVX2) == [EmbedRuntime.ONNX, EmbedRuntime.TORCH]
    assert candidates(EmbedRuntime.AUTO, AMX) == [EmbedRuntime.ONNX, EmbedRuntime.TORCH]
    # an index build: bf16 only where AMX runs it (5.9x slower than fp32 on AVX2)
    assert candidates(EmbedRuntime.AUTO, AVX2, bulk=True) == [EmbedRuntime.ONNX, EmbedRuntime.TORCH]
    assert candidates(EmbedRuntime.AUTO, AMX, bulk=True) == [EmbedRuntime.TORCH_BF16, EmbedRuntime.ONNX,
                                                             EmbedRuntime.TORCH]
    # a configured runtime is what it says, bulk or not
    assert candidates(EmbedRuntime.TORCH, AMX, bulk=True) == [EmbedRuntime.TORCH]
    assert candidates(EmbedRuntime.ONNX, AVX2) == [EmbedRuntime.ONNX, EmbedRuntime.TORCH]
    assert candidates(EmbedRuntime.TORCH_BF16, AVX2) == [EmbedRuntime.TORCH_BF16, EmbedRuntime.TORCH]


def test_token_counts_match_the_tokenizer_and_stop_once_the_limit_is_reached(onnx_embedder, torch_embedder):
    texts = [onnx_embedder.passage_prefix + t for t in PASSAGES] * 200        # 1,200 texts: five slices
    lengths = [len(e.ids) for e in onnx_embedder.backend.tokenizer.encode_batch(texts[:len(PASSAGES)])]
    assert onnx_embedder.count_tokens(texts) == sum(lengths) * 200
    assert onnx_embedder.count_tokens(PASSAGES * 200, prefix=onnx_embedder.passage_prefix) == sum(lengths) * 200
    assert torch_embedder.count_tokens(texts[:len(PASSAGES)]) == sum(lengths)    # the same tokenizer either way
    # a slice at a time: counting stops at the first slice that reaches the limit
    per_slice = sum(lengths) * embedder_module.COUNT_SLICE // len(PASSAGES)
    assert per_slice <= onnx_embedder.count_tokens(texts, stop_at=10) < 2 * per_slice


def test_a_build_loads_the_bulk_runtime_only_when_its_work_repays_the_load(onnx_embedder, monkeypatch):
    config = Config.from_env({})
    bulk_embedder = object()      # stands for the bf16 embedder: loading it is what is being decided
    loads: list[bool] = []

    def from_config(cfg: Config, bulk: bool = False):
        loads.append(bulk)
        return bulk_embedder if bulk else onnx_embedder

    monkeypatch.setattr(Embedder, "from_config", staticmethod(from_config))
    monkeypatch.setattr(embedder_module, "_CACHE", {})
    monkeypatch.setattr(embedder_module, "_machine_cpu", lambda: AMX)
    tokens = onnx_embedder.count_tokens([onnx_embedder.passage_prefix + t for t in PASSAGES])

    # the essay's size and less: the question runtime (ONNX) embeds it, no bf16 load
    assert Embedder.for_texts(config, PASSAGES) is onnx_embedder and loads == [False]
    monkeypatch.setattr(embedder_module, "BULK_MIN_TOKENS", tokens + 1)
    assert Embedder.for_texts(config, PASSAGES) is onnx_embedder
    # enough tokens to repay the load: the bulk runtime
    monkeypatch.setattr(embedder_module, "BULK_MIN_TOKENS", tokens)
    assert Embedder.for_texts(config, PASSAGES) is bulk_embedder and loads[-1] is True
    # once loaded, the bulk embedder takes any work: it is the faster one
    key = Embedder._cache_key(config, candidates(config.embed_runtime, AMX, bulk=True))
    embedder_module._CACHE[key] = bulk_embedder
    monkeypatch.setattr(embedder_module, "BULK_MIN_TOKENS", 10**9)
    assert Embedder.for_texts(config, PASSAGES[:1]) is bulk_embedder
    # without AMX the bulk runtime is the questions' own: nothing to decide, nothing counted
    monkeypatch.setattr(embedder_module, "_machine_cpu", lambda: AVX2)
    monkeypatch.setattr(embedder_module, "BULK_MIN_TOKENS", 0)
    loads.clear()
    assert Embedder.for_texts(config, PASSAGES) is onnx_embedder and loads == [False]


def test_bf16_vectors_keep_the_cosine_floor_to_fp32(torch_embedder):
    # bf16 weights, rows padded to shape_width: padding must not leak into the
    # mean, or the short texts among long ones would drift far off fp32
    bf16 = TorchBackend.load(str(Config.from_env({}).embedder_path), bf16=True)
    assert bf16.runtime == "torch-bf16"
    emb = Embedder(bf16, name=torch_embedder.name, query_prefix=torch_embedder.query_prefix,
                   passage_prefix=torch_embedder.passage_prefix, batch_size=32)
    ours = emb.embed_passages(PASSAGES + QUERIES)
    ref = torch_embedder.embed_passages(PASSAGES + QUERIES)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(ours, axis=1), 1.0, atol=1e-5)
    assert (ours * ref).sum(axis=1).min() >= MIN_COSINE


def test_shape_width_gives_few_widths_and_wastes_at_most_a_quarter():
    widths = [shape_width(n) for n in range(1, 513)]
    assert all(w >= n for n, w in zip(range(1, 513), widths))
    assert all(w - n < max(8, n / 4) for n, w in zip(range(1, 513), widths))
    assert sorted(set(widths))[:9] == [8, 16, 24, 32, 40, 48, 56, 64, 80]
    assert len(set(widths)) == 20 and widths[-1] == 512


def test_token_batches_respect_rows_and_budget_and_cover_every_row():
    lengths = [3, 500, 40, 41, 7, 7, 600, 12, 39, 5] * 3
    batches = token_batches(lengths, max_rows=4, token_budget=128)
    assert sorted(i for b in batches for i in b) == list(range(len(lengths)))
    for b in batches:
        longest = max(lengths[i] for i in b)
        assert len(b) <= 4
        assert len(b) * longest <= 128 or len(b) == 1          # a row over the budget goes alone
        assert [lengths[i] for i in b] == sorted(lengths[i] for i in b)


class _Perturbed:
    """A backend whose vectors are pushed off the real ones (cosine ~0.99)."""

    def __init__(self, inner, scale: float = 0.15) -> None:
        self.inner, self.scale = inner, scale
        self.runtime, self.concurrent, self.dim = "onnx-fp32", inner.concurrent, inner.dim

    def plan(self, texts, batch_size):
        return self.inner.plan(texts, batch_size)

    def run(self, batch):
        vectors = self.inner.run(batch)
        noise = np.random.default_rng(0).standard_normal(vectors.shape).astype(np.float32)
        vectors = vectors + self.scale * noise / np.linalg.norm(noise, axis=1, keepdims=True)
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_a_runtime_below_the_cosine_floor_is_refused(onnx_embedder, torch_embedder, monkeypatch, caplog):
    from rag.models.onnx_export import PROBE_TEXTS

    reference = np.concatenate([torch_embedder.backend.run(p) for _, p in
                                torch_embedder.backend.plan(list(PROBE_TEXTS), 1)])
    order = [i for rows, _ in torch_embedder.backend.plan(list(PROBE_TEXTS), 1) for i in rows]
    reference = reference[np.argsort(order)]
    assert verify(onnx_embedder.backend, reference) >= MIN_COSINE
    bad = _Perturbed(onnx_embedder.backend)
    assert verify(bad, reference) < MIN_COSINE

    monkeypatch.setattr(embedder_module, "_load_candidate",
                        lambda runtime, source, path, fp32, threads=1: (bad, reference))
    monkeypatch.setattr(TorchBackend, "load", classmethod(lambda cls, source, bf16=False: torch_embedder.backend))
    # No earlier verification to lean on, and a record of each one remembered.
    remembered = []
    monkeypatch.setattr(probe_cache, "remembered", lambda folder, wanted: None)
    monkeypatch.setattr(probe_cache, "remember", lambda folder, wanted, lowest: remembered.append(lowest))
    config = Config.from_env({}, embed_runtime=EmbedRuntime.ONNX)
    with caplog.at_level(logging.WARNING, logger="rag.models.embedder"):
        backend, why = embedder_module._choose_backend(config, config.embedder_path, AVX2, 2)
    assert backend is torch_embedder.backend and backend.runtime == "torch-fp32"
    assert "probe cosine to torch fp32" in why and "refused" in caplog.text
    assert remembered == []          # a failed verification is not remembered


def test_auto_falls_back_to_torch_when_onnxruntime_is_missing(torch_embedder, monkeypatch, caplog):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)        # import onnxruntime -> ImportError
    monkeypatch.setattr(TorchBackend, "load", classmethod(lambda cls, source, bf16=False: torch_embedder.backend))
    config = Config.from_env({}, embed_runtime=EmbedRuntime.AUTO)
    with caplog.at_level(logging.WARNING, logger="rag.models.embedder"):
        backend, why = embedder_module._choose_backend(config, config.embedder_path, AVX2, 2)
    assert backend.runtime == "torch-fp32"
    assert "onnx unavailable (onnxruntime is not installed)" in why and "refused" in caplog.text


def test_concurrent_calls_give_the_sequential_vectors(onnx_embedder):
    jobs = [("embed_passages", PASSAGES), ("embed_queries", QUERIES)] * 4 + [("embed_passages", PASSAGES[::-1])]
    expected = [getattr(onnx_embedder, m)(texts) for m, texts in jobs]
    got: list = [None] * len(jobs)
    start = threading.Barrier(len(jobs))

    def call(i: int) -> None:
        start.wait()
        got[i] = getattr(onnx_embedder, jobs[i][0])(jobs[i][1])

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for want, have in zip(expected, got):
        np.testing.assert_allclose(have, want, atol=1e-6)


def test_the_wide_session_gives_the_one_core_sessions_vectors(onnx_embedder):
    backend = onnx_embedder.backend
    if not backend.wait_for_wide(60):
        pytest.skip("one usable core: no session spreads a pass over several")
    for texts in (QUERIES[:1], QUERIES, PASSAGES):
        for _, batch in backend.plan([onnx_embedder.query_prefix + t for t in texts], 64):
            np.testing.assert_allclose(backend.run(batch, wide=True), backend.run(batch), atol=1e-6)


class _WideBackend:
    """Records whether each pass ran wide; a pass of the text "hold" waits for ``release``."""

    runtime, concurrent, dim = "wide", True, 4

    def __init__(self) -> None:
        self.passes: list[tuple[object, bool]] = []
        self.holding = threading.Event()
        self.release = threading.Event()

    def plan(self, texts, batch_size):
        return [([i], texts[i]) for i in range(len(texts))]

    def wide_ready(self):
        return True

    def run(self, batch, wide=False):
        self.passes.append((batch, wide))
        if batch == "hold":
            self.holding.set()
            self.release.wait(10)
            self.passes.append(("held until released", wide))
        return np.ones((1, self.dim), dtype=np.float32)


def test_a_lone_question_runs_on_every_core_and_one_beside_another_pass_on_one():
    backend = _WideBackend()
    emb = Embedder(backend, name="wide", query_prefix="", passage_prefix="", batch_size=1, threads=2)
    emb.embed_queries(["alone"])
    assert backend.passes == [("alone", True)]
    emb.embed_queries(["two", "terms"], batch_size=8)     # not a question: the passes as always
    emb.embed_passages(["one passage"])
    assert sorted(backend.passes[1:3]) == [("terms", False), ("two", False)]
    assert backend.passes[3:] == [("one passage", False)]
    backend.passes.clear()
    # a call of several batches spreads them over the passes, never wide: "hold" keeps one core
    busy = threading.Thread(target=emb.embed_passages, args=(["hold", "next"],))
    busy.start()
    assert backend.holding.wait(10)
    emb.embed_queries(["beside"])        # one core is taken: a pass on the other, without waiting
    backend.release.set()
    busy.join()
    assert ("hold", False) in backend.passes and ("next", False) in backend.passes
    assert backend.passes.index(("beside", False)) < backend.passes.index(("held until released", False))


class _CountingBackend:
    """Batches of one text; each pass counts itself and takes a moment."""

    runtime, concurrent, dim = "counting", True, 4

    def __init__(self) -> None:
        self.passes = 0
        self._lock = threading.Lock()

    def plan(self, texts, batch_size):
        return [([i], i) for i in range(len(texts))]

    def run(self, batch):
        with self._lock:
            self.passes += 1
        threading.Event().wait(0.02)
        return np.ones((1, self.dim), dtype=np.float32)


def test_an_interrupted_embedding_leaves_no_passes_queued():
    backend = _CountingBackend()
    emb = Embedder(backend, name="counting", query_prefix="", passage_prefix="", batch_size=1, threads=2)

    def interrupt(done, total):
        raise KeyboardInterrupt          # as Ctrl-C during a build

    with pytest.raises(KeyboardInterrupt):
        emb.embed_passages([f"text {i}" for i in range(60)], progress=interrupt)
    emb._pool.submit(lambda: None).result()     # the pool has drained what it still had
    assert backend.passes <= 4                  # the first, and the ones already running; not all 60
