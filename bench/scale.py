"""How search holds up from 10^4 to 10^6 chunks, per store: ``python -m bench.scale``.

Embedding 10^6 texts would take days on two cores, so the large corpora are
synthetic, built around a real one:

- the **base**: the real CMRC 2018 dev index (its chunks, vectors, sentence
  table), whose questions are asked and judged as in ``bench.retrieval``;
- **distractors** up to the size: copies of the chunks of another real index
  (CMRC 2018 trial, the **pool**), each with its vector moved off its source
  by noise of norm ``--noise`` (then re-normalised: 0.5 keeps cosine ~0.89 to
  the source), so the approximate index meets 10^6 points clustered like real
  text; a distractor's sentence vectors move by the same offset. Its text is
  its source's, so BM25 sees thousands of repeats of each pool text (each
  distinct text is tokenized once: :meth:`rag.index.lexical.LexicalIndex.build_repeated`).

The dev questions must still find their own paragraph among the distractors.
Per size and store it measures: the dense index's type and build time, the
BM25 build time (neither includes embedding), disk, the process's RSS, search
p50/p95 for dense, BM25 and the full search (dense + BM25 + fusion + rerank),
recall@10 of the dense index against exact search on the questions, and R@1
of the full search. Stores: ``faiss`` (the embedded default, index type
chosen by size) and ``milvus`` (a ``milvus-lite server`` on loopback started
and stopped here, the same gRPC protocol as a Milvus cluster; up to
``--milvus-max`` chunks).

    python -m bench.scale                           # 10^4, 10^5, 10^6 (faiss), milvus at 10^4 and 10^5
    python -m bench.scale --sizes 10000 --max-chunks 20000 --questions 300
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np

from bench.load import process_stats
from bench.retrieval import CACHE_FILE, INDEXES_DIR, Progress, first_hit_rank, is_relevant, load_dataset, open_index
from rag.config import Config
from rag.index.lexical import LexicalIndex
from rag.index.store import IndexStore
from rag.index.texts import passage_text
from rag.index.vectors import RECALL_K, DenseSpec, build_dense, load_dense, save_dense

SIZES = (10_000, 100_000, 1_000_000)
STORES = ("faiss", "milvus")
MILVUS_MAX = 100_000
NOISE = 0.5
LATENCY_QUESTIONS = 500


# --- the synthetic corpus -------------------------------------------------------


@dataclass
class SyntheticStore(IndexStore):
    """The base index's chunks (rows ``0..n_base-1``), then distractors: row
    ``n_base + i`` is a copy of ``pool`` chunk ``sources[i]`` with a moved
    vector. A distractor's sentences are its source's, their vectors moved
    by the same offset as its chunk vector."""

    pool: IndexStore | None = None
    sources: np.ndarray | None = None   # (n_distractors,) int: pool row of each distractor
    n_base: int = 0

    def sentences_of(self, chunk_row: int):
        if chunk_row < self.n_base:
            return super().sentences_of(chunk_row)
        source = int(self.sources[chunk_row - self.n_base])
        sentences, vectors = self.pool.sentences_of(source)
        moved = vectors + (self.vectors[chunk_row] - self.pool.vectors[source])
        return sentences, moved / np.linalg.norm(moved, axis=1, keepdims=True)


@dataclass
class Corpus:
    """A synthetic corpus before its indexes: vectors (n, dim) float32 unit
    rows, the distinct passage texts and each row's index into them."""

    store: SyntheticStore             # dense and lexical not built yet (None)
    texts: list[str]
    text_rows: np.ndarray             # (n,) int


def synthesize(base: IndexStore, pool: IndexStore, size: int, noise: float = NOISE, seed: int = 0) -> Corpus:
    """``base`` plus ``size - len(base)`` distractors copied from ``pool`` (see the module docstring)."""
    n_base = len(base.chunks)
    extra = max(0, size - n_base)
    rng = np.random.default_rng(seed)
    sources = rng.integers(0, len(pool.chunks), extra)
    dim = base.vectors.shape[1]
    vectors = np.empty((n_base + extra, dim), dtype=np.float32)
    vectors[:n_base] = base.vectors
    pool_vectors = np.asarray(pool.vectors, dtype=np.float32)
    for start in range(0, extra, 65_536):
        picked = sources[start:start + 65_536]
        offset = rng.standard_normal((len(picked), dim)).astype(np.float32)
        offset *= noise / np.linalg.norm(offset, axis=1, keepdims=True)
        moved = pool_vectors[picked] + offset
        vectors[n_base + start:n_base + start + len(picked)] = moved / np.linalg.norm(moved, axis=1, keepdims=True)
    chunks = list(base.chunks) + [replace(pool.chunks[s], id=n_base + i) for i, s in enumerate(sources.tolist())]
    documents = {**pool.documents, **base.documents}
    store = SyntheticStore(base.folder, base.manifest, documents, chunks, vectors, None, None, base.sentences,
                           base.terms, pool=pool, sources=sources, n_base=n_base)
    texts = [passage_text(c) for c in base.chunks] + [passage_text(c) for c in pool.chunks]
    text_rows = np.concatenate([np.arange(n_base), n_base + sources]).astype(np.int64)
    return Corpus(store, texts, text_rows)


# --- measuring -------------------------------------------------------------------


@dataclass
class Latency:
    p50_ms: float
    p95_ms: float


@dataclass
class ScaleRow:
    """One size and store."""

    chunks: int
    store: str
    dense_index: str                 # the spec's description: type, parameters, build-time recall
    dense_build_s: float
    bm25_build_s: float
    disk_mb: float
    rss_mb: float                    # this process (+ the Milvus server's, for milvus), after the searches
    peak_rss_mb: float
    first_query_s: float             # the first full search: per-index statistics computed once
    dense: Latency
    bm25: Latency
    full: Latency
    recall_at_10: float              # dense index vs exact search, on the questions
    r_at_1: float                    # full search, CMRC dev questions
    questions: int


@dataclass
class ScaleReport:
    cpu: str
    load_before: tuple[float, float, float]
    load_after: tuple[float, float, float]
    base: str
    pool: str
    noise: float
    rows: list[ScaleRow] = field(default_factory=list)
    seconds: float = 0.0

    def to_json(self) -> dict:
        return asdict(self)


def _disk_mb(*paths: Path) -> float:
    total = 0
    for path in paths:
        files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
        total += sum(p.stat().st_size for p in files)
    return total / 2**20


def _latency(seconds: list[float]) -> Latency:
    ms = 1000.0 * np.asarray(seconds)
    return Latency(round(float(np.percentile(ms, 50)), 2), round(float(np.percentile(ms, 95)), 2))


def measure(store: IndexStore, store_name: str, spec: DenseSpec, build: tuple[float, float], disk_mb: float,
            questions, query_vectors: np.ndarray, relevant: list[set[int]], config: Config, embedder,
            latency_questions: int, extra_rss: Callable[[], float] = lambda: 0.0,
            progress: Progress | None = None) -> ScaleRow:
    """Search ``store`` with every question: timings, recall@10 against exact, R@1."""
    import faiss

    from rag.retrieve.retriever import Retriever

    progress = progress or Progress(quiet=True)
    retriever = Retriever(store, embedder, config)
    started = time.perf_counter()
    retriever.search(questions[0].question, query_vector=query_vectors[0])
    first_query = time.perf_counter() - started

    _, exact = faiss.knn(np.ascontiguousarray(query_vectors), np.ascontiguousarray(store.vectors), RECALL_K,
                         metric=faiss.METRIC_INNER_PRODUCT)
    _, found = store.dense.search(np.ascontiguousarray(query_vectors), RECALL_K)
    recall = float(np.mean([len(set(f.tolist()) & set(e.tolist())) / RECALL_K for f, e in zip(found, exact)]))

    timed = range(min(latency_questions, len(questions)))
    spent: dict[str, list[float]] = {"dense": [], "lexical": []}
    for mode in spent:
        for i in timed:
            t0 = time.perf_counter()
            retriever.search(questions[i].question, fusion=mode, rerank=False, query_vector=query_vectors[i])
            spent[mode].append(time.perf_counter() - t0)
    full, hits_at_1 = [], 0
    tick = progress.counter(f"{len(store.chunks):,} chunks, {store_name}: questions")
    for i, q in enumerate(questions):
        t0 = time.perf_counter()
        hits = retriever.search(q.question, query_vector=query_vectors[i])
        full.append(time.perf_counter() - t0)
        hits_at_1 += first_hit_rank([h.chunk.id for h in hits], relevant[i]) == 1
        if (i + 1) % 500 == 0 or i + 1 == len(questions):
            tick(i + 1, len(questions))
    memory = process_stats("self")
    rss, peak = memory.get("rss_mb", 0.0), memory.get("peak_rss_mb", 0.0)
    return ScaleRow(len(store.chunks), store_name, spec.describe(), round(build[0], 2), round(build[1], 2),
                    round(disk_mb, 1), round(rss + extra_rss(), 1), round(peak + extra_rss(), 1),
                    round(first_query, 2), _latency(spent["dense"]), _latency(spent["lexical"]), _latency(full),
                    round(recall, 4), round(hits_at_1 / len(questions), 4), len(questions))


# --- the Milvus server --------------------------------------------------------------


class MilvusLiteServer:
    """``milvus-lite server`` on a free loopback port, its data in a temporary folder."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        binary = Path(sys.executable).parent / "milvus-lite"
        self.process = subprocess.Popen([str(binary), "server", "--data-dir", str(data_dir), "--host", "127.0.0.1",
                                         "--port", str(self.port)], stdout=subprocess.DEVNULL,
                                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"milvus-lite server exited with code {self.process.returncode}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("milvus-lite server did not listen within 60 s")

    @property
    def store(self) -> str:
        return f"milvus://127.0.0.1:{self.port}"

    def rss_mb(self) -> float:
        return process_stats(self.process.pid).get("rss_mb", 0.0)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# --- the run ----------------------------------------------------------------------


def run(base: IndexStore, pool: IndexStore, questions, query_vectors: np.ndarray, config: Config, embedder, *,
        sizes=SIZES, stores=STORES, max_chunks: int | None = None, milvus_max: int = MILVUS_MAX,
        noise: float = NOISE, latency_questions: int = LATENCY_QUESTIONS, work_dir: Path | None = None,
        base_name: str = "", pool_name: str = "", progress: Progress | None = None) -> ScaleReport:
    """Each size (capped by ``max_chunks``, at least the base) with each store."""
    from rag.models.cpu import read_cpu_info

    progress = progress or Progress(quiet=True)
    started = time.perf_counter()
    report = ScaleReport(read_cpu_info().describe(), os.getloadavg(), (0.0, 0.0, 0.0), base_name, pool_name, noise)
    relevant = [{row for row, chunk in enumerate(base.chunks) if is_relevant(q, chunk, "cmrc2018")}
                for q in questions]
    capped = sorted({max(len(base.chunks), min(s, max_chunks or s)) for s in sizes})
    work_dir = Path(tempfile.mkdtemp(prefix="scale-", dir=work_dir))
    try:
        for size in capped:
            progress.note(f"{size:,} chunks: synthesizing")
            corpus = synthesize(base, pool, size, noise)
            t0 = time.perf_counter()
            lexical = LexicalIndex.build_repeated(corpus.texts, corpus.text_rows, config.lexical_tokenizer)
            bm25_s = time.perf_counter() - t0
            folder = work_dir / f"n{size}"
            folder.mkdir()
            lexical.save(folder / "lexical")
            np.save(folder / "vectors.npy", corpus.store.vectors)
            del lexical
            lexical = LexicalIndex.load(folder / "lexical")
            vectors = np.load(folder / "vectors.npy", mmap_mode="r")
            store = replace(corpus.store, vectors=vectors, lexical=lexical)
            del corpus
            for store_name in stores:
                if store_name == "faiss":
                    progress.note(f"{size:,} chunks: building the FAISS index")
                    t0 = time.perf_counter()
                    dense, spec = build_dense(np.asarray(vectors), config, base.sentences.vectors)
                    dense_s = time.perf_counter() - t0
                    save_dense(dense, folder / "dense.faiss")
                    del dense
                    served = replace(store, dense=load_dense(folder / "dense.faiss", spec))
                    disk = _disk_mb(folder / "dense.faiss", folder / "lexical", folder / "vectors.npy")
                    row = measure(served, "faiss", spec, (dense_s, bm25_s), disk, questions, query_vectors,
                                  relevant, config, embedder, latency_questions, progress=progress)
                elif store_name == "milvus" and size <= milvus_max:
                    row = _measure_milvus(store, folder, vectors, bm25_s, questions, query_vectors, relevant,
                                          config, embedder, latency_questions, progress)
                else:
                    continue
                progress.note(json.dumps(asdict(row), ensure_ascii=False))
                report.rows.append(row)
            del store, lexical, vectors
            shutil.rmtree(folder, ignore_errors=True)
    finally:
        shutil.rmtree(work_dir, ignore_errors=True)
    report.load_after = os.getloadavg()
    report.seconds = round(time.perf_counter() - started, 1)
    return report


def _measure_milvus(store, folder, vectors, bm25_s, questions, query_vectors, relevant, config, embedder,
                    latency_questions, progress) -> ScaleRow:
    from rag.index.milvus import write_collection

    server = MilvusLiteServer(folder / "milvus")
    try:
        milvus_config = config.replace(store=server.store, index_dir=folder)
        progress.note(f"{len(store.chunks):,} chunks: writing the Milvus collection ({server.store})")
        t0 = time.perf_counter()
        dense, spec = write_collection(milvus_config, "scale", np.asarray(vectors), store.sentences.vectors)
        dense_s = time.perf_counter() - t0
        disk = _disk_mb(folder / "milvus", folder / "lexical", folder / "vectors.npy")
        return measure(replace(store, dense=dense), "milvus", spec, (dense_s, bm25_s), disk, questions,
                       query_vectors, relevant, config, embedder, latency_questions, server.rss_mb, progress)
    finally:
        server.stop()


def compare_bm25(base: IndexStore, questions, config: Config, work_dir: Path | None = None) -> dict[str, float]:
    """Lexical R@1 on the base corpus: the project's BM25 against Milvus's own
    full-text BM25 over its jieba analyzer (embedded Milvus Lite): whether
    Milvus could serve the Chinese lexical search too."""
    from pymilvus import DataType, Function, FunctionType

    from rag.index.milvus import client, release

    relevant = [{row for row, chunk in enumerate(base.chunks) if is_relevant(q, chunk, "cmrc2018")}
                for q in questions]
    folder = Path(tempfile.mkdtemp(prefix="scale-bm25-", dir=work_dir))
    try:
        milvus = client(f"milvus-lite:{folder}")
        schema = milvus.create_schema(auto_id=False, enable_dynamic_field=False)
        schema.add_field("row", DataType.INT64, is_primary=True)
        schema.add_field("text", DataType.VARCHAR, max_length=65535, enable_analyzer=True,
                         analyzer_params={"tokenizer": {"type": "jieba", "mode": "search"}})
        schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
        schema.add_function(Function(name="bm25", function_type=FunctionType.BM25, input_field_names=["text"],
                                     output_field_names=["sparse"]))
        index_params = milvus.prepare_index_params()
        index_params.add_index("sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25")
        milvus.create_collection("bm25", schema=schema, index_params=index_params)
        texts = [passage_text(c) for c in base.chunks]
        for start in range(0, len(texts), 1000):
            milvus.insert("bm25", [{"row": start + i, "text": t} for i, t in enumerate(texts[start:start + 1000])])
        milvus.load_collection("bm25")
        ours = theirs = 0
        for q, rel in zip(questions, relevant):
            ours += first_hit_rank([m.index for m in base.lexical.search(q.question, 1)], rel) == 1
            found = milvus.search("bm25", data=[q.question], anns_field="sparse", limit=1, output_fields=["row"],
                                  search_params={"metric_type": "BM25"})
            theirs += first_hit_rank([int(h["row"]) for h in found[0]], rel) == 1
        return {"project_bm25_r_at_1": round(ours / len(questions), 4),
                "milvus_bm25_jieba_r_at_1": round(theirs / len(questions), 4), "questions": len(questions)}
    finally:
        release(f"milvus-lite:{folder}")
        shutil.rmtree(folder, ignore_errors=True)


def format_report(report: ScaleReport) -> str:
    lines = [f"CPU: {report.cpu}", f"load average before {report.load_before[0]:.2f}, after "
             f"{report.load_after[0]:.2f}; base {report.base}, distractors from {report.pool}, noise "
             f"{report.noise}; {report.seconds:.0f} s", "",
             "| chunks | store | dense index | build dense / BM25 s | disk MB | RSS MB | dense p50/p95 ms "
             "| BM25 p50/p95 ms | full p50/p95 ms | recall@10 | R@1 |",
             "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in report.rows:
        lines.append(f"| {r.chunks:,} | {r.store} | {r.dense_index} | {r.dense_build_s:.1f} / {r.bm25_build_s:.1f} "
                     f"| {r.disk_mb:,.0f} | {r.rss_mb:,.0f} | {r.dense.p50_ms:.1f} / {r.dense.p95_ms:.1f} "
                     f"| {r.bm25.p50_ms:.1f} / {r.bm25.p95_ms:.1f} | {r.full.p50_ms:.1f} / {r.full.p95_ms:.1f} "
                     f"| {r.recall_at_10:.4f} | {r.r_at_1:.4f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES)), help="chunk counts, comma-separated")
    parser.add_argument("--stores", default=",".join(STORES), help="faiss, milvus (comma-separated)")
    parser.add_argument("--max-chunks", type=int, default=None, help="cap every size (a quick or CI run)")
    parser.add_argument("--milvus-max", type=int, default=MILVUS_MAX, help="largest size run on Milvus")
    parser.add_argument("--questions", type=int, default=None, help="ask only the first N dev questions")
    parser.add_argument("--latency-questions", type=int, default=LATENCY_QUESTIONS,
                        help="questions timed in the dense-only and BM25-only modes")
    parser.add_argument("--noise", type=float, default=NOISE, help="norm of a distractor's vector offset")
    parser.add_argument("--base", default="cmrc2018-dev", help="the dataset whose questions are asked")
    parser.add_argument("--pool", default="cmrc2018-trial", help="the dataset the distractors are copied from")
    parser.add_argument("--work-dir", type=Path, default=None, help="where the indexes are written (temporary)")
    parser.add_argument("--compare-bm25", action="store_true",
                        help="only compare the project's BM25 with Milvus's (jieba analyzer) on the base corpus")
    parser.add_argument("--json", action="store_true", help="the report as JSON on stdout")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    Config.add_arguments(parser, names=["dense_index", "dense_flat_max", "dense_min_recall"])
    args = parser.parse_args(argv)
    progress = Progress(quiet=args.quiet)   # on stderr, each finished row too: a long run shows what it has
    config = Config.from_args(args)
    base, questions, query_vectors, pool, embedder = open_corpora(args.base, args.pool, config, args.questions,
                                                                  progress)
    if args.compare_bm25:
        print(json.dumps(compare_bm25(base, questions, config, args.work_dir)))
        return 0
    report = run(base, pool, questions, query_vectors, config, embedder,
                 sizes=[int(s) for s in args.sizes.split(",") if s], stores=args.stores.split(","),
                 max_chunks=args.max_chunks, milvus_max=args.milvus_max, noise=args.noise,
                 latency_questions=args.latency_questions, work_dir=args.work_dir, base_name=args.base,
                 pool_name=args.pool, progress=progress)
    print(json.dumps(report.to_json(), ensure_ascii=False, indent=1) if args.json else format_report(report))
    return 0


def open_corpora(base_name: str, pool_name: str, config: Config, limit: int | None, progress: Progress,
                 indexes_dir: Path = INDEXES_DIR, embedder=None, distractors: int | None = None):
    """The base and pool indexes (``bench.retrieval``'s, built if missing),
    the base's answerable questions and their vectors, and the embedder."""
    from bench.embed_cache import CachedEmbedder
    from rag.models.embedder import Embedder

    embedder = embedder or CachedEmbedder(Embedder.from_config(config), CACHE_FILE)
    evalset, questions = load_dataset(base_name, limit, distractors)
    base, _ = open_index(base_name, evalset, config, embedder, progress, indexes_dir)
    pool_set, _ = load_dataset(pool_name, limit, distractors)
    pool, _ = open_index(pool_name, pool_set, config, embedder, progress, indexes_dir)
    questions = [q for q in questions if q.doc]
    query_vectors = embedder.embed_queries([q.question for q in questions])
    return base, questions, np.asarray(query_vectors, dtype=np.float32), pool, embedder


if __name__ == "__main__":
    sys.exit(main())
