"""Query latency, reproducible with one command: warm search and answer
times in one process, a cold command-line call, and concurrent users
through the running app.

    python -m bench.latency                                   # CMRC 2018 dev index, all three parts
    python -m bench.latency --dataset seed-dev --questions 12
    python -m bench.latency --skip-cold --skip-app --json

1. **warm**: an :class:`rag.engine.Engine` over the dataset's index (built
   or reused as :mod:`bench.retrieval` does), warmed by one question, then
   ``--questions`` questions of the dataset each searched
   (:meth:`~rag.engine.Engine.search`) and answered
   (:meth:`~rag.engine.Engine.ask`, extractive): p50/p95/max per call, the
   question's embedding included. The question embedding alone is timed
   too, as the floor under both.
2. **cold**: ``python -m rag ask QUESTION`` in a fresh process over the same
   index, ``--cold-runs`` times: process start to the answer printed.
3. **app**: ``python app.py`` on a free loopback port over a copy of the
   bundled corpus and an index of it, and ``--users`` clients asking
   through the app's queue (the ``/ask`` endpoint, as the browser does: one
   session each, plain HTTP and server-sent events), each ``--requests`` of
   the essay's seed questions one after another, all starting together:
   p50/p95/max per answer, the errors, and the server's CPU time per answer.

Every part prints the CPU (model, cores, the instruction sets that matter),
the embedder's runtime and the load average before and after: the figures
are only comparable on the same kind of machine and load.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Sequence

from bench.retrieval import CACHE_FILE, DATASETS, INDEXES_DIR, Progress, load_dataset, open_index
from rag.config import PROJECT_ROOT, Config

log = logging.getLogger(__name__)

APP_START_TIMEOUT = 300   # seconds: imports, the embedder and the index, on a loaded machine


@dataclass
class Timings:
    """Seconds of repeated calls, summarised (milliseconds in the report)."""

    seconds: list[float] = field(default_factory=list)

    def add(self, seconds: float) -> None:
        self.seconds.append(seconds)

    def summary(self) -> dict[str, float]:
        if not self.seconds:
            return {"n": 0}
        ordered = sorted(self.seconds)
        return {"n": len(ordered), "p50_ms": 1000 * statistics.median(ordered),
                "p95_ms": 1000 * ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))],
                "max_ms": 1000 * ordered[-1], "mean_ms": 1000 * statistics.fmean(ordered)}


@dataclass
class LatencyReport:
    """What one run measured, and on what."""

    dataset: str
    index: str
    chunks: int
    cpu: str
    embedder: str
    load_average_before: float
    warm: dict[str, dict[str, float]] = field(default_factory=dict)
    cold: dict[str, float] = field(default_factory=dict)
    app: dict[str, object] = field(default_factory=dict)
    load_average_after: float = 0.0

    def to_json(self) -> dict:
        return asdict(self)


def cpu_line() -> str:
    """The CPU as every benchmark prints it (:mod:`rag.models.cpu`)."""
    from rag.models.cpu import read_cpu_info

    return read_cpu_info(import_torch=True).describe()


def _runtime(embedder) -> str:
    return f"{embedder.name} ({getattr(embedder, 'runtime', 'torch fp32')})"


# --- 1. warm -------------------------------------------------------------------------


def warm(engine, questions: Sequence[str], progress: Progress) -> dict[str, dict[str, float]]:
    """Per-call timings of embedding, search and ask over ``questions``."""
    retriever = engine.retriever()
    engine.ask(questions[0])    # loads and warms what a first call pays for (jieba, caches, the model's first pass)
    embed, search, ask = Timings(), Timings(), Timings()
    tick = progress.counter(f"warm: {len(questions)} questions")
    for i, q in enumerate(questions):
        t0 = time.perf_counter()
        retriever.embedder.embed_queries([q])
        t1 = time.perf_counter()
        engine.search(q)
        t2 = time.perf_counter()
        engine.ask(q)
        t3 = time.perf_counter()
        embed.add(t1 - t0)
        search.add(t2 - t1)
        ask.add(t3 - t2)
        if (i + 1) % 50 == 0 or i + 1 == len(questions):
            tick(i + 1, len(questions))
    return {"embed question": embed.summary(), "search": search.summary(), "ask": ask.summary()}


# --- 2. cold -------------------------------------------------------------------------


def cold(index_dir: Path, question: str, runs: int) -> dict[str, float]:
    """Seconds from starting ``python -m rag ask`` to its answer, ``runs`` times."""
    timings = Timings()
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "rag", "ask", question, "--index", str(index_dir), "--json"],
                              cwd=PROJECT_ROOT, capture_output=True, text=True)
        timings.add(time.perf_counter() - started)
        if done.returncode != 0:
            raise RuntimeError(f"python -m rag ask failed: {done.stderr[-2000:]}")
    s = timings.summary()
    return {"runs": s["n"], "p50_s": s["p50_ms"] / 1000, "max_s": s["max_ms"] / 1000}


# --- 3. the app --------------------------------------------------------------------


def app_users(config: Config, users: int, requests: int, questions: Sequence[str], work: Path,
              progress: Progress) -> dict[str, object]:
    """``users`` clients asking ``requests`` questions each through the
    running app's ``/ask`` queue, all at once (the app started as
    :mod:`bench.load` starts it).

    Each user is a browser session: one session id for all its questions,
    the event joined and its stream read as the page does
    (:func:`bench.load.ask_ui`, plain HTTP + server-sent events). The load
    generator shares the 2 cores with the server, so it is kept lean:
    ``gradio_client`` (a thread pool, API discovery and job polling per
    client) cost the server's cores more than the answers did. The
    server's own CPU time per answer is reported beside the latencies."""
    import httpx

    from bench.load import Checker, ask_ui, process_stats, start_server
    from rag.index.build import build_index

    index = work / "index"
    build_index(config.replace(index_dir=index))
    target = start_server(config.corpus_dir, index, timeout=APP_START_TIMEOUT)
    try:
        progress.note(f"app: serving on {target.url}; {users} users x {requests} questions")
        checker = Checker(target.corpus)
        clients = [httpx.Client(base_url=target.url, timeout=APP_START_TIMEOUT) for _ in range(users)]
        sessions = [f"bench-latency-{n}" for n in range(users)]
        for client, session in zip(clients, sessions):     # each session's first answer warms it
            warmed = ask_ui(client, questions[0], checker, session_hash=session)
            if not warmed.ok:
                raise RuntimeError(f"the app did not answer: {warmed.error}")
        timings, errors = Timings(), []
        lock = threading.Lock()
        start = threading.Barrier(users + 1)

        def user(n: int) -> None:
            rng = random.Random(n)
            asked = [rng.choice(questions) for _ in range(requests)]
            start.wait()
            for q in asked:
                result = ask_ui(clients[n], q, checker, session_hash=sessions[n])
                with lock:
                    if result.ok:
                        timings.add(result.seconds)
                    else:
                        errors.append(result.error[:200])

        threads = [threading.Thread(target=user, args=(n,)) for n in range(users)]
        for t in threads:
            t.start()
        cpu_before = process_stats(target.pid)["cpu_seconds"]
        start.wait()
        started = time.perf_counter()
        for t in threads:
            t.join()
        wall = time.perf_counter() - started
        server_cpu = process_stats(target.pid)["cpu_seconds"] - cpu_before
        for client in clients:
            client.close()
        s = timings.summary()
        return {"users": users, "requests": users * requests, "answered": s["n"], "errors": len(errors),
                "first_errors": errors[:3], "p50_ms": s.get("p50_ms"), "p95_ms": s.get("p95_ms"),
                "max_ms": s.get("max_ms"), "answers_per_second": s["n"] / wall if wall else 0.0,
                "server_cpu_ms_per_answer": 1000 * server_cpu / max(1, users * requests)}
    finally:
        target.stop()


# --- the run -----------------------------------------------------------------------


def run(config: Config, *, dataset: str = "cmrc2018-dev", questions: int = 200, cold_runs: int = 3,
        users: int = 8, requests: int = 5, skip_cold: bool = False, skip_app: bool = False,
        progress: Progress | None = None, embedder=None, indexes_dir: Path = INDEXES_DIR) -> LatencyReport:
    """Measure the three parts (see the module docstring); the dataset's
    index is built in, or reused from, a folder of ``indexes_dir``."""
    from bench.embed_cache import CachedEmbedder
    from rag.engine import Engine
    from rag.models.embedder import Embedder

    progress = progress or Progress(quiet=True)
    load_before = os.getloadavg()[0]
    evalset, asked = load_dataset(dataset)
    real = embedder or Embedder.from_config(config)
    # Cached vectors only save re-embedding while building; every timed call uses the real embedder.
    cache = CachedEmbedder(real, indexes_dir / CACHE_FILE.relative_to(INDEXES_DIR))
    store, folder = open_index(dataset, evalset, config, cache, progress, indexes_dir)
    engine = Engine(config.replace(index_dir=folder))
    texts = [q.question for q in asked][:questions]
    report = LatencyReport(dataset=dataset, index=str(folder), chunks=len(store.chunks), cpu=cpu_line(),
                           embedder=_runtime(real), load_average_before=load_before)
    report.warm = warm(engine, texts, progress)
    if not skip_cold:
        progress.note(f"cold: {cold_runs} runs of python -m rag ask")
        report.cold = cold(folder, texts[0], cold_runs)
    if not skip_app:
        with tempfile.TemporaryDirectory(prefix="bench-latency-") as tmp:
            essay_questions = [q.question for q in load_dataset("seed-dev")[1]]
            report.app = app_users(config, users, requests, essay_questions, Path(tmp), progress)
    report.load_average_after = os.getloadavg()[0]
    return report


def format_report(r: LatencyReport) -> str:
    lines = [f"CPU: {r.cpu}; embedder {r.embedder}; load average {r.load_average_before:.2f} before, "
             f"{r.load_average_after:.2f} after",
             f"index: {r.dataset} ({r.chunks:,} chunks), {r.index}", "",
             "| warm, per call | n | p50 ms | p95 ms | max ms |", "|---|---:|---:|---:|---:|"]
    for name, s in r.warm.items():
        lines.append(f"| {name} | {s.get('n', 0)} | {s.get('p50_ms', 0):.1f} | {s.get('p95_ms', 0):.1f} "
                     f"| {s.get('max_ms', 0):.1f} |")
    if r.cold:
        lines += ["", f"cold `python -m rag ask` (process start to answer): p50 {r.cold['p50_s']:.2f} s, "
                      f"max {r.cold['max_s']:.2f} s over {r.cold['runs']} runs"]
    if r.app:
        a = r.app
        lines += ["", f"app, {a['users']} concurrent users through /ask (essay index): {a['answered']}/{a['requests']} "
                      f"answered, {a['errors']} errors; p50 {a['p50_ms'] or 0:.0f} ms, p95 {a['p95_ms'] or 0:.0f} ms, "
                      f"max {a['max_ms'] or 0:.0f} ms; {a['answers_per_second']:.1f} answers/s; "
                      f"server CPU {a['server_cpu_ms_per_answer']:.0f} ms per answer"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.latency", description=__doc__.split("\n")[0])
    parser.add_argument("--dataset", default="cmrc2018-dev", choices=DATASETS)
    parser.add_argument("--questions", type=int, default=200, help="warm questions (default 200)")
    parser.add_argument("--cold-runs", type=int, default=3)
    parser.add_argument("--users", type=int, default=8, help="concurrent app users (default 8)")
    parser.add_argument("--requests", type=int, default=5, help="questions per app user (default 5)")
    parser.add_argument("--skip-cold", action="store_true")
    parser.add_argument("--skip-app", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--quiet", action="store_true")
    Config.add_arguments(parser, names=["embedder"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    report = run(Config.from_args(args), dataset=args.dataset, questions=args.questions, cold_runs=args.cold_runs,
                 users=args.users, requests=args.requests, skip_cold=args.skip_cold, skip_app=args.skip_app,
                 progress=Progress(quiet=args.quiet))
    print(json.dumps(report.to_json(), ensure_ascii=False, indent=1) if args.json else format_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
