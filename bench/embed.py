"""Embedding speed and fidelity: each runtime against a plain fp32
``SentenceTransformer.encode`` of the same texts, in the same run.

    python -m bench.embed                                   # 1,500 CMRC 2018 trial texts
    python -m bench.embed --dataset essay                   # the bundled essay (181 texts)
    python -m bench.embed --texts 3000 --candidates auto,onnx@2048,onnx-2t,onnx-int8,onnx-int8-ffn
    python -m bench.embed --texts 0 --retrieval seed-dev,cmrc2018-trial   # R@1/MRR, torch vs auto

The texts are what an index build embeds (``rag.index.texts``): every chunk
(title + section + text) and every distinct sentence ("title：sentence") of
the dataset's documents, ``passage:``-prefixed, ``--texts`` of them taken
evenly across the set. The baseline is a fresh ``SentenceTransformer`` of
the same folder: fp32, sorted by length, batches of 64,
``normalize_embeddings=True``.

The CPU is shared, so the runs are interleaved: the texts, sorted by
length, are cut into groups of 64, and every group is embedded by the
baseline and by each candidate in turn (the order rotating), so a burst of
other work lands on all of them alike. A row gives texts/s, tokens/s (the
model's tokens, special ones included), the ratio of tokens/s to the
baseline's, and the least and mean cosine of its vectors to the baseline's.
The CPU line (:mod:`rag.models.cpu`), the thread settings and the load
average at start and end are printed with the table.

Candidates (``--candidates``): ``auto`` (what ``Embedder.from_config``
picks here, verified), ``onnx`` (ONNX Runtime fp32, one core per pass, a
pass per core at once), ``onnx-2t`` (one pass at a time on all cores),
``onnx-int8`` / ``onnx-int8-ffn`` (dynamic int8 of every MatMul and the
attention, or of the feed-forward MatMuls only; quantised into a temporary
folder), ``torch`` (this project's torch path), ``torch-bf16`` (bf16
weights; default only where the CPU has fast bf16). ``NAME@T`` sets a
candidate's token budget per batch (``onnx@2048``, ``torch-bf16@8192``).
``auto`` is what an index build picks (``Embedder.from_config(config,
bulk=True)``); questions are embedded by ONNX wherever it loads.

``--retrieval`` runs :func:`bench.retrieval.run` on each dataset twice, with
torch fp32 and with the runtime ``auto`` picks, each building its own index
in a temporary folder with a fresh vector cache there (the shared cache,
``bench/indexes/.cache``, is keyed by the embedder's name, which every
runtime shares), and prints R@1 and MRR@20 side by side.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from rag.config import PROJECT_ROOT, Config, EmbedRuntime

log = logging.getLogger(__name__)

GROUP = 64                  # texts per interleaving round (one baseline batch)
BASELINE_BATCH = 64
DEFAULT_CANDIDATES = ("auto", "onnx-2t")
ALL_CANDIDATES = ("auto", "onnx", "onnx-2t", "onnx-int8", "onnx-int8-ffn", "torch", "torch-bf16")
ESSAY = PROJECT_ROOT / "corpus" / "innovating-organizational-work.txt"


@dataclass
class Row:
    """One runtime's totals over the run."""

    name: str
    runtime: str
    precision: str
    passes: str
    seconds: float = 0.0
    vectors: np.ndarray | None = None
    note: str = ""

    def rates(self, texts: int, tokens: int) -> tuple[float, float]:
        return texts / self.seconds, tokens / self.seconds


@dataclass
class Report:
    dataset: str
    texts: int
    tokens: int
    cpu: str
    threads: str
    load_start: tuple[float, float, float]
    load_end: tuple[float, float, float]
    auto: str
    rows: list[Row] = field(default_factory=list)


# --- texts ---------------------------------------------------------------------------


def build_texts(dataset: str, config: Config) -> list[str]:
    """Every chunk and distinct sentence text an index build of ``dataset``
    embeds, in document order, without the prefix."""
    from ingest.chunking import chunk_document
    from rag.index.texts import chunk_sentence_spans, passage_text, sentence_text

    if dataset == "essay":
        from ingest.loaders import load_document

        documents = [load_document(ESSAY, ESSAY.parent)]
    else:
        from bench.retrieval import load_dataset

        documents = load_dataset(dataset)[0].documents
    texts: list[str] = []
    first_id = 0
    for doc in documents:
        chunks = chunk_document(doc, config.chunk_size, config.chunk_overlap, first_id=first_id)
        first_id += len(chunks)
        sentences = [sentence_text(c, doc.text[a:b]) for c in chunks for a, b in chunk_sentence_spans(doc, c)]
        texts += [passage_text(c) for c in chunks] + list(dict.fromkeys(sentences))
    return texts


def evenly(texts: Sequence[str], n: int) -> list[str]:
    """``n`` texts spread evenly over ``texts`` (all when ``n`` is 0 or more)."""
    if n <= 0 or n >= len(texts):
        return list(texts)
    return [texts[i * len(texts) // n] for i in range(n)]


# --- candidates ------------------------------------------------------------------------


def _quantized(model_file: Path, out_dir: Path, ffn_only: bool) -> Path:
    """Dynamic int8 (per-channel weights, activations quantised per call) of
    the exported graph's MatMuls (and attention), or of the feed-forward
    MatMuls alone."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    target = out_dir / ("int8-ffn.onnx" if ffn_only else "int8.onnx")
    exclude = None
    ops = ["MatMul"] if ffn_only else ["MatMul", "Attention"]
    if ffn_only:
        graph = onnx.load(str(model_file), load_external_data=False).graph
        exclude = [n.name for n in graph.node if n.op_type == "MatMul"
                   and not ("/intermediate/" in n.name or ("/output/" in n.name and "/attention/" not in n.name))]
    logging.getLogger().setLevel(logging.ERROR)     # the quantiser warns about pre-processing at WARNING
    quantize_dynamic(str(model_file), str(target), op_types_to_quantize=ops, per_channel=True,
                     weight_type=QuantType.QInt8, nodes_to_exclude=exclude,
                     extra_options={"DefaultTensorType": 1})   # fused ops have no inferred types: float
    logging.getLogger().setLevel(logging.WARNING)
    return target


def make_candidate(name: str, config: Config, scratch: Path) -> tuple[Row, Callable[[list[str]], np.ndarray]]:
    """A row and the function that embeds a list of (prefixed) texts with it."""
    from rag.models import onnx_export
    from rag.models.cpu import read_cpu_info
    from rag.models.embedder import Embedder, OnnxBackend, TorchBackend

    model_dir = config.embedder_path
    cores = config.embed_threads or read_cpu_info().usable_cores
    base_name, _, budget = name.partition("@")
    budget_kw = {"token_budget": int(budget)} if budget else {}

    def wrap(backend, threads: int) -> Embedder:
        return Embedder(backend, name="bench", query_prefix="", passage_prefix="",
                        batch_size=config.embed_batch_size, threads=threads)

    if name == "auto":
        emb = Embedder.from_config(config.replace(embed_runtime=EmbedRuntime.AUTO), bulk=True)
        emb = wrap(emb.backend, emb.threads)
    elif base_name in {"onnx", "onnx-2t", "onnx-int8", "onnx-int8-ffn"}:
        if model_dir is None:
            raise SystemExit("the ONNX candidates need a local model folder")
        onnx_export.export_onnx(model_dir)
        model_file = onnx_export.onnx_folder(model_dir) / onnx_export.MODEL_FILE
        if base_name.startswith("onnx-int8"):
            model_file = _quantized(model_file, scratch, ffn_only=base_name.endswith("ffn"))
        intra = cores if base_name == "onnx-2t" else 1
        emb = wrap(OnnxBackend(model_dir, model_file, intra_threads=intra, **budget_kw), cores)
    elif base_name in {"torch", "torch-bf16"}:
        emb = wrap(TorchBackend.load(str(model_dir or config.embedder), bf16=base_name == "torch-bf16",
                                     **budget_kw), 1)
    else:
        raise SystemExit(f"unknown candidate {name!r}: use some of {', '.join(ALL_CANDIDATES)}")
    backend = emb.backend
    intra = getattr(getattr(backend, "session", None), "get_session_options", lambda: None)()
    per_pass = intra.intra_op_num_threads if intra is not None else "torch"
    runtime, _, precision = emb.runtime.rpartition("-")
    if base_name.startswith("onnx-int8"):
        precision = "int8, FFN MatMuls" if base_name.endswith("ffn") else "int8, all MatMuls + attention"
    return Row(name, runtime, precision, f"{emb.threads} x {per_pass}"), emb.embed_passages


# --- the run ---------------------------------------------------------------------------


def token_lengths(model_dir: str, texts: Sequence[str]) -> list[int]:
    """Each text's length in the model's tokens, special ones included,
    truncated at 512 as the model truncates."""
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(Path(model_dir) / "tokenizer.json"))
    tokenizer.enable_truncation(512)
    return [len(e.ids) for e in tokenizer.encode_batch(list(texts))]


def baseline_encoder(model_dir: str) -> Callable[[list[str]], np.ndarray]:
    """The baseline every speed figure is a ratio to: a fresh fp32
    ``SentenceTransformer`` of ``model_dir``, ``encode`` in batches of
    :data:`BASELINE_BATCH` (it sorts by length), normalised."""
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(model_dir, device="cpu")
    model.eval()

    def encode(texts: list[str]) -> np.ndarray:
        return model.encode(texts, batch_size=BASELINE_BATCH, normalize_embeddings=True, convert_to_numpy=True,
                            show_progress_bar=False)
    return encode


def run(dataset: str, n_texts: int, candidates: Sequence[str], config: Config,
        progress: Callable[[str], None] = lambda s: None) -> Report:
    import torch

    from rag.models.cpu import read_cpu_info
    from rag.models.embedder import Embedder

    load_start = os.getloadavg()
    cpu = read_cpu_info(import_torch=True)
    texts = [config.passage_prefix + t for t in evenly(build_texts(dataset, config), n_texts)]
    model_dir = config.embedder_path
    source = str(model_dir) if model_dir is not None else config.embedder
    lengths = token_lengths(source, texts)
    tokens = sum(lengths)
    progress(f"{len(texts):,} texts, {tokens:,} tokens ({dataset}); CPU {cpu.describe()}")

    auto = Embedder.from_config(config.replace(embed_runtime=EmbedRuntime.AUTO), bulk=True)
    auto_line = f"{auto.runtime} ({auto.choice})"
    baseline = Row("baseline: SentenceTransformer.encode", "torch", "fp32", f"1 x {torch.get_num_threads()}")
    encode_baseline = baseline_encoder(source)

    runners: list[tuple[Row, Callable[[list[str]], np.ndarray]]] = [(baseline, encode_baseline)]
    with tempfile.TemporaryDirectory(prefix="bench-embed-") as scratch:
        for name in candidates:
            progress(f"loading {name}")
            runners.append(make_candidate(name, config, Path(scratch)))
        for row, embed in runners:
            row.vectors = np.zeros((len(texts), auto.dim), dtype=np.float32)
            embed(texts[:2])        # warm-up: first calls allocate and compile kernels
        order = sorted(range(len(texts)), key=lambda i: lengths[i])
        groups = [order[lo:lo + GROUP] for lo in range(0, len(order), GROUP)]
        for g, rows in enumerate(groups):
            group = [texts[i] for i in rows]
            turn = runners[g % len(runners):] + runners[:g % len(runners)]
            for row, embed in turn:
                started = time.perf_counter()
                vectors = embed(group)
                row.seconds += time.perf_counter() - started
                row.vectors[rows] = vectors
            progress(f"group {g + 1}/{len(groups)} (up to {lengths[rows[-1]]} tokens), load {os.getloadavg()[0]:.1f}")

    ort_threads = "n/a"
    try:
        import onnxruntime

        ort_threads = f"onnxruntime {onnxruntime.__version__}"
    except ImportError:
        pass
    threads = (f"torch {torch.__version__}: {torch.get_num_threads()} intra-op threads; {ort_threads}: "
               "passes x intra-op threads per row")
    return Report(dataset, len(texts), tokens, cpu.describe(), threads, load_start, os.getloadavg(), auto_line,
                  [row for row, _ in runners])


def format_report(report: Report) -> str:
    base = report.rows[0]
    lines = [f"CPU: {report.cpu}",
             f"threads: {report.threads}",
             f"load average at start {_load(report.load_start)}, at end {_load(report.load_end)}",
             f"auto picks: {report.auto}",
             f"{report.texts:,} texts, {report.tokens:,} tokens ({report.dataset}: chunks and sentences as the build "
             "embeds them)", "",
             "| runtime | precision | passes x threads | texts/s | tokens/s | x baseline | min cos | mean cos |",
             "|---|---|---|---:|---:|---:|---:|---:|"]
    for row in report.rows:
        texts_s, tokens_s = row.rates(report.texts, report.tokens)
        cos = (row.vectors * base.vectors).sum(axis=1)
        label = row.name if row is base else f"{row.name} ({row.runtime})"
        lines.append(f"| {label} | {row.precision} | {row.passes} | {texts_s:.1f} | {tokens_s:,.0f} | "
                     f"{base.seconds / row.seconds:.2f} | {cos.min():.5f} | {cos.mean():.6f} |")
    return "\n".join(lines)


def _load(values: Sequence[float]) -> str:
    return " / ".join(f"{v:.2f}" for v in values)


# --- retrieval quality -------------------------------------------------------------------


def retrieval(datasets: Sequence[str], config: Config, progress: Callable[[str], None]) -> str:
    """R@1 and MRR@20 per mode on each dataset with torch fp32 and with the
    runtime ``auto`` picks, each on its own index built without the cache."""
    from bench.embed_cache import CachedEmbedder
    from bench.retrieval import Progress
    from bench.retrieval import run as run_retrieval
    from rag.models.embedder import Embedder

    runtimes = {"torch": Embedder.from_config(config.replace(embed_runtime=EmbedRuntime.TORCH)),
                "auto": Embedder.from_config(config.replace(embed_runtime=EmbedRuntime.AUTO), bulk=True)}
    lines = []
    for dataset in datasets:
        reports = {}
        for label, emb in runtimes.items():
            progress(f"retrieval {dataset} with {emb.runtime}")
            with tempfile.TemporaryDirectory(prefix="bench-embed-index-") as folder:
                # A cache of this run's own (empty at first): bench.retrieval's interface, none of the
                # shared cache's vectors, which another runtime may have made.
                cached = CachedEmbedder(emb, Path(folder) / "embeddings.sqlite")
                reports[label] = run_retrieval(dataset, config, embedder=cached, indexes_dir=Path(folder),
                                               progress=Progress(quiet=True))
        before, after = reports["torch"], reports["auto"]
        lines += ["", f"{dataset}: {before.questions} questions, {before.chunks} chunks",
                  f"| mode | R@1 {runtimes['torch'].runtime} | R@1 {runtimes['auto'].runtime} "
                  f"| MRR@20 {runtimes['torch'].runtime} | MRR@20 {runtimes['auto'].runtime} |",
                  "|---|---:|---:|---:|---:|"]
        for b, a in zip(before.results, after.results):
            lines.append(f"| {b.mode} | {b.recall[1]:.4f} | {a.recall[1]:.4f} | {b.mrr:.4f} | {a.mrr:.4f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.embed", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="cmrc2018-trial",
                        help="essay, or a bench.retrieval corpus (cmrc2018-trial, cmrc2018-dev, seed-dev)")
    parser.add_argument("--texts", type=int, default=1500, metavar="N",
                        help="texts to embed, spread over the dataset (0: all; with --retrieval alone: none)")
    parser.add_argument("--candidates", default=None,
                        help=f"comma-separated, of {', '.join(ALL_CANDIDATES)} (default: "
                             f"{', '.join(DEFAULT_CANDIDATES)}, plus torch-bf16 where the CPU has fast bf16)")
    parser.add_argument("--retrieval", default="", metavar="DATASETS",
                        help="also compare R@1/MRR of torch fp32 and auto on these bench.retrieval datasets")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")
    Config.add_arguments(parser, names=["embedder", "embed_batch_size", "embed_threads"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    config = Config.from_args(args)
    started = time.perf_counter()

    def progress(text: str) -> None:
        if not args.quiet:
            print(f"[{time.perf_counter() - started:6.0f} s] {text}", file=sys.stderr, flush=True)

    if args.texts or not args.retrieval:
        if args.candidates:
            names = [c.strip() for c in args.candidates.split(",") if c.strip()]
        else:
            from rag.models.cpu import read_cpu_info

            names = list(DEFAULT_CANDIDATES) + (["torch-bf16"] if read_cpu_info().fast_bf16 else [])
        print(format_report(run(args.dataset, args.texts, names, config, progress)), flush=True)
    if args.retrieval:
        print(retrieval([d.strip() for d in args.retrieval.split(",") if d.strip()], config, progress))
    return 0


if __name__ == "__main__":
    sys.exit(main())
