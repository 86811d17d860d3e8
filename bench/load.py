"""Load and soak of the served app (the HTTP API and the UI's queue), bounded
in requests and time, on this machine only.

    python -m bench.load                                   # 50 clients x 60 s on /api/ask, then on the UI's queue
    python -m bench.load --clients 50 --seconds 60 --rebuild    # the same, each phase during a full rebuild
    python -m bench.load --soak 600 --clients 8            # a 10-minute soak: RSS, fds, threads over time
    python -m bench.load --url http://127.0.0.1:7860 --pid 1234   # a server already running (loopback only)
    # options: --targets api,ui --max-requests N --timeout S --warmup N --json

Without ``--url`` it starts ``python app.py`` on a free loopback port over
copies of the corpus and index folders (``--corpus``, ``--index``: the
project's by default; they are never changed), and stops it at the end.

Each phase runs ``--clients`` client threads for ``--seconds`` (and at most
``--max-requests`` requests in all), each asking one question after another
from the seed set: on ``api``, ``POST /api/ask``; on ``ui``, the UI's own
``ask`` event through Gradio's queue (``/gradio_api/call/ask``, what the
page and ``gradio_client`` use). Before the phases, one client asks the
questions ``--warmup`` times (untimed: caches fill), then once more on each
target, timed: the single-user latency.

Checked on every answer: HTTP 200 (else an error, with its message), an
answer (not an error message), and on ``api`` that every citation's text is
the corpus file's text at its offsets and that the index version that
answered (the ``X-Index-Version`` header) is a complete, published one. A
request that gets no response within ``--timeout`` is counted as lost.
With ``--rebuild``, a full rebuild (``POST /api/rebuild``) starts with each
phase, and the phase lasts until it is done and 5 s more (at least
``--seconds``, at most ten times that); the report says which versions
answered: only the one serving before and the new one may.

The report: requests, throughput, latency p50/p95/max, errors and lost
requests per phase; the server's RSS, open file descriptors and threads
before and after (and every ``--sample`` seconds during a soak); the CPU
model and the load average before, during and after. The CPU is likely
shared: read the load average beside the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

import httpx

from rag.config import PROJECT_ROOT, is_loopback

MAX_CLIENTS = 200
MAX_SECONDS = 3600
FALLBACK_QUESTIONS = ["组织部门的职能是什么？", "创新组织工作方式方法有什么重要性？", "组织工作面临哪些新问题？",
                      "如何提高干部工作的科学化水平？", "What is the role of the organization department?"]


# --- the server -----------------------------------------------------------------


@dataclass
class Target:
    url: str                       # http://127.0.0.1:PORT (no trailing slash)
    pid: int | None
    corpus: Path
    headers: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None
    workdir: Path | None = None

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self.workdir is not None:
            shutil.rmtree(self.workdir, ignore_errors=True)


def start_server(corpus: Path, index: Path, timeout: float = 300) -> Target:
    """``python app.py`` on a free loopback port over copies of the folders."""
    if not (index / "CURRENT").exists():
        raise SystemExit(f"no index in {index}: build it with `python -m ingest --index {index}` first")
    workdir = Path(tempfile.mkdtemp(prefix="bench-load-"))
    shutil.copytree(corpus, workdir / "corpus")
    shutil.copytree(index, workdir / "index", ignore=shutil.ignore_patterns(".build.lock", ".staging"))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    env.update(GRADIO_ANALYTICS_ENABLED="False", TOKENIZERS_PARALLELISM="false")
    log = (workdir / "app.log").open("w")
    process = subprocess.Popen([sys.executable, str(PROJECT_ROOT / "app.py"), "--port", str(port),
                                "--corpus", str(workdir / "corpus"), "--index", str(workdir / "index")],
                               cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    target = Target(f"http://127.0.0.1:{port}", process.pid, workdir / "corpus", process=process, workdir=workdir)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            text = (workdir / "app.log").read_text("utf-8", errors="replace")[-3000:]
            target.stop()
            raise SystemExit(f"the app exited with {process.returncode}:\n{text}")
        try:
            if httpx.get(target.url + "/api/status", timeout=5).json().get("ready"):
                return target
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.5)
    target.stop()
    raise SystemExit(f"the app did not start within {timeout:.0f} s")


def process_stats(pid: int | str | None) -> dict[str, Any]:
    """RSS and peak RSS (MB), RSS split into anonymous memory and mapped
    file pages (``rss_anon_mb``, ``rss_file_mb``: the page cache of a
    memory-mapped file, which the kernel can drop), CPU seconds (user + system, all threads), open
    file descriptors and threads of ``pid`` ("self": this process), from
    Linux's /proc; {} for None or a process that is gone."""
    if pid is None:
        return {}
    out: dict[str, Any] = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                out["rss_mb"] = round(int(line.split()[1]) / 1024, 1)
            elif line.startswith("RssAnon:"):
                out["rss_anon_mb"] = round(int(line.split()[1]) / 1024, 1)
            elif line.startswith("RssFile:"):
                out["rss_file_mb"] = round(int(line.split()[1]) / 1024, 1)
            elif line.startswith("VmHWM:"):
                out["peak_rss_mb"] = round(int(line.split()[1]) / 1024, 1)
            elif line.startswith("Threads:"):
                out["threads"] = int(line.split()[1])
        times = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        out["cpu_seconds"] = (int(times[11]) + int(times[12])) / os.sysconf("SC_CLK_TCK")
        out["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
    except OSError:
        pass
    return out


def machine() -> dict[str, Any]:
    """The CPU as every benchmark prints it (/proc/cpuinfo, :mod:`rag.models.cpu`) and the load average."""
    from rag.models.cpu import read_cpu_info

    return {"cpu": read_cpu_info().describe(), "loadavg": [round(x, 2) for x in os.getloadavg()]}


# --- one request ----------------------------------------------------------------


@dataclass
class Result:
    ok: bool
    seconds: float
    error: str = ""
    lost: bool = False
    version: str = ""


class Checker:
    """Checks an /api/ask answer against the corpus the server reads."""

    def __init__(self, corpus: Path) -> None:
        self.corpus = corpus
        self._texts: dict[str, str] = {}

    def text(self, doc: str) -> str:
        if doc not in self._texts:
            self._texts[doc] = (self.corpus / doc).read_text("utf-8")
        return self._texts[doc]

    def problem(self, answer: dict[str, Any]) -> str:
        if not isinstance(answer.get("answer"), str) or "citations" not in answer:
            return "not an answer object"
        for c in answer["citations"]:
            try:
                if self.text(c["doc"])[c["start"]:c["end"]] != c["text"]:
                    return f"citation [{c['n']}] is not its document's text at {c['start']}:{c['end']}"
            except OSError:
                return f"citation [{c['n']}] names {c['doc']!r}, not in the corpus"
        return ""


def ask_api(client: httpx.Client, question: str, checker: Checker) -> Result:
    started = time.perf_counter()
    try:
        response = client.post("/api/ask", json={"question": question})
    except httpx.TimeoutException:
        return Result(False, time.perf_counter() - started, "no response within the timeout", lost=True)
    except httpx.HTTPError as exc:
        return Result(False, time.perf_counter() - started, f"{type(exc).__name__}: {exc}")
    seconds = time.perf_counter() - started
    if response.status_code != 200:
        return Result(False, seconds, f"HTTP {response.status_code}: {response.text[:200]}")
    problem = checker.problem(response.json())
    return Result(not problem, seconds, problem, version=response.headers.get("x-index-version", ""))


def ask_ui(client: httpx.Client, question: str, checker: Checker, session_hash: str | None = None) -> Result:
    """The UI's ``ask`` event through Gradio's queue (as the page runs it);
    ``session_hash`` keeps one browser session across calls (without it,
    every call is a new session)."""
    started = time.perf_counter()
    try:
        body: dict[str, Any] = {"data": [question, []]}
        if session_hash is not None:
            body["session_hash"] = session_hash
        joined = client.post("/gradio_api/call/ask", json=body)
        if joined.status_code != 200:
            return Result(False, time.perf_counter() - started, f"HTTP {joined.status_code}: {joined.text[:200]}")
        event_id = joined.json()["event_id"]
        event, data = "", ""
        with client.stream("GET", f"/gradio_api/call/ask/{event_id}") as stream:
            for line in stream.iter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event in ("complete", "error"):
                    data = line[6:]
                    break
    except httpx.TimeoutException:
        return Result(False, time.perf_counter() - started, "no response within the timeout", lost=True)
    except (httpx.HTTPError, KeyError, ValueError) as exc:
        return Result(False, time.perf_counter() - started, f"{type(exc).__name__}: {exc}")
    seconds = time.perf_counter() - started
    if event != "complete":
        return Result(False, seconds, f"queue event {event or 'none'}: {data[:200]}")
    messages = json.loads(data)[0] or []
    reply = _message_text(messages[-1]) if messages else ""
    if 'class="answer done' not in reply:
        return Result(False, seconds, f"not an answer: {reply[:200]}")
    return Result(True, seconds)


def _message_text(message: dict[str, Any]) -> str:
    """A chat message's text: a string, or Gradio 6's list of typed parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content or [] if isinstance(part, dict))


ASKERS: dict[str, Callable[[httpx.Client, str, Checker], Result]] = {"api": ask_api, "ui": ask_ui}


# --- phases ---------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def summary(results: list[Result], seconds: float) -> dict[str, Any]:
    latencies = [r.seconds for r in results if r.ok]
    errors: dict[str, int] = {}
    for r in results:
        if not r.ok:
            errors[r.error[:120]] = errors.get(r.error[:120], 0) + 1
    versions: dict[str, int] = {}
    for r in results:
        if r.version:
            versions[r.version] = versions.get(r.version, 0) + 1
    return {"requests": len(results), "ok": len(latencies), "errors": sum(1 for r in results if not r.ok),
            "lost": sum(1 for r in results if r.lost), "seconds": round(seconds, 1),
            "throughput_per_s": round(len(latencies) / seconds, 2) if seconds else 0.0,
            "p50_s": round(percentile(latencies, 0.5), 3), "p95_s": round(percentile(latencies, 0.95), 3),
            "max_s": round(max(latencies), 3) if latencies else float("nan"),
            "mean_s": round(statistics.fmean(latencies), 3) if latencies else float("nan"),
            "error_kinds": errors, "versions": versions}


def single_user(target: Target, questions: list[str], repeat: int, timeout: float, checker: Checker,
                kind: str = "api") -> dict[str, Any]:
    results = []
    started = time.perf_counter()
    with httpx.Client(base_url=target.url, headers=target.headers, timeout=timeout) as client:
        for _ in range(repeat):
            for question in questions:
                results.append(ASKERS[kind](client, question, checker))
    return summary(results, time.perf_counter() - started)


def run_phase(target: Target, kind: str, clients: int, seconds: float, max_requests: int, timeout: float,
              questions: list[str], checker: Checker, rebuild: bool, sample_every: float = 0.0,
              samples: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """``clients`` threads asking for ``seconds``; at most ``max_requests`` in all."""
    results: list[Result] = []
    lock = threading.Lock()
    budget = [max_requests]
    began = time.monotonic()
    # With a rebuild, the phase lasts until it is done and 5 s more, so the
    # new index answers too (at most 10 x ``seconds``).
    stop_at = [began + seconds]
    job, serving = None, ""
    if rebuild:
        with httpx.Client(base_url=target.url, headers=target.headers, timeout=timeout) as c:
            serving = c.post("/api/search", json={"question": questions[0], "k": 1}).headers.get("x-index-version", "")
            job = c.post("/api/rebuild", json={"full": True}).json()

    def client_loop(i: int) -> None:
        with httpx.Client(base_url=target.url, headers=target.headers, timeout=timeout) as client:
            n = i
            while time.monotonic() < stop_at[0]:
                with lock:
                    if budget[0] <= 0:
                        return
                    budget[0] -= 1
                result = ASKERS[kind](client, questions[n % len(questions)], checker)
                n += clients
                with lock:
                    results.append(result)

    started = time.perf_counter()
    threads = [threading.Thread(target=client_loop, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    loads = []
    next_sample = next_poll = time.monotonic()
    rebuilding = job is not None
    if rebuilding:
        stop_at[0] = began + 10 * seconds
    while any(t.is_alive() for t in threads):
        if rebuilding and time.monotonic() >= next_poll:
            with httpx.Client(base_url=target.url, headers=target.headers, timeout=30) as c:
                if c.get(f"/api/jobs/{job['id']}").json()["state"] not in ("queued", "running"):
                    rebuilding = False
                    stop_at[0] = max(began + seconds, time.monotonic() + 5)
            next_poll = time.monotonic() + 2
        if time.monotonic() >= next_sample:
            loads.append(os.getloadavg()[0])
            if samples is not None and sample_every:
                samples.append({"t": round(time.perf_counter() - started, 1), "requests": len(results),
                                **process_stats(target.pid), "loadavg": round(os.getloadavg()[0], 2)})
            next_sample = time.monotonic() + (sample_every or 5.0)
        time.sleep(0.2)
    elapsed = time.perf_counter() - started
    out = summary(results, elapsed)
    out.update(kind=kind, clients=clients, loadavg_1min_during=round(max(loads), 2) if loads else None)
    if job is not None:
        with httpx.Client(base_url=target.url, headers=target.headers, timeout=30) as c:
            state = c.get(f"/api/jobs/{job['id']}").json()
        out["rebuild"] = {"id": job["id"], "serving_before": serving, "state_at_end": state["state"],
                          "new_version": (state.get("result") or {}).get("version"), "error": state.get("error")}
    return out


def finish_rebuild(target: Target, phase: dict[str, Any], timeout: float = 1800) -> None:
    """Wait for the phase's rebuild (it may outlast the phase) and record how it ended."""
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=target.url, headers=target.headers, timeout=30) as c:
        while time.monotonic() < deadline:
            state = c.get(f"/api/jobs/{phase['rebuild']['id']}").json()
            if state["state"] not in ("queued", "running"):
                new = (state.get("result") or {}).get("version")
                phase["rebuild"].update(final_state=state["state"], error=state.get("error"),
                                        seconds=round(state["finished"] - state["started"], 1), new_version=new)
                # Each answer names the version that answered: the one serving before, or the new one.
                phase["versions_complete"] = set(phase["versions"]) <= {phase["rebuild"]["serving_before"], new}
                return
            time.sleep(1)


def load_questions(corpus: Path) -> list[str]:
    try:
        from bench.datasets import load_seed_dev

        questions = [q.question for q in load_seed_dev(corpus).questions]
        return questions or FALLBACK_QUESTIONS
    except (OSError, ValueError):
        return FALLBACK_QUESTIONS


# --- the command ----------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.split("\n")[0])
    parser.add_argument("--url", help="a running app (loopback only); default: start one")
    parser.add_argument("--pid", type=int, help="with --url: the server's process id, for RSS/fd/thread figures")
    parser.add_argument("--api-key", default=os.environ.get("RAG_API_KEY", ""), help="bearer token, if the app has one")
    parser.add_argument("--corpus", type=Path, default=PROJECT_ROOT / "corpus")
    parser.add_argument("--index", type=Path, default=PROJECT_ROOT / "index")
    parser.add_argument("--targets", default="api,ui", help="phases, in order: api, ui (default both)")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each phase")
    parser.add_argument("--max-requests", type=int, default=20_000, help="at most this many requests per phase")
    parser.add_argument("--timeout", type=float, default=300.0, help="a request without a response by then is lost")
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds over the questions first (0: none)")
    parser.add_argument("--rebuild", action="store_true", help="each phase during a full rebuild")
    parser.add_argument("--soak", type=float, default=0.0, metavar="SECONDS",
                        help="one long api phase of this length instead, sampling RSS/fds/threads")
    parser.add_argument("--sample", type=float, default=30.0, help="soak: seconds between samples")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    kinds = [k.strip() for k in args.targets.split(",") if k.strip()]
    if any(k not in ASKERS for k in kinds):
        parser.error(f"--targets: use api and/or ui, not {args.targets!r}")
    if not 1 <= args.clients <= MAX_CLIENTS:
        parser.error(f"--clients must be 1..{MAX_CLIENTS}")
    if not 0 < max(args.seconds, args.soak) <= MAX_SECONDS:
        parser.error(f"--seconds and --soak must be at most {MAX_SECONDS}")
    if args.url and not is_loopback(urlsplit(args.url).hostname or ""):
        parser.error("--url must be a loopback address: this benchmark loads this machine only")

    if args.url:
        target = Target(args.url.rstrip("/"), args.pid, args.corpus)
    else:
        target = start_server(args.corpus.resolve(), args.index.resolve())
    if args.api_key:
        target.headers["Authorization"] = f"Bearer {args.api_key}"
    report: dict[str, Any] = {"machine_before": machine(), "settings": {
        k: v for k, v in vars(args).items() if k not in ("api_key", "corpus", "index")}}
    try:
        checker = Checker(target.corpus)
        questions = load_questions(target.corpus)
        report["questions"] = len(questions)
        report["server_start"] = process_stats(target.pid)
        if args.warmup:          # untimed: the first answers fill the caches of the embedder and the answerer
            single_user(target, questions, args.warmup, args.timeout, checker, "api")
        report["single_user"] = {k: single_user(target, questions, 1, args.timeout, checker, k) for k in kinds}
        report["server_after_warmup"] = process_stats(target.pid)
        phases = []
        if args.soak:
            samples: list[dict[str, Any]] = []
            phase = run_phase(target, "api", args.clients, args.soak, 10 ** 9, args.timeout, questions, checker,
                              False, args.sample, samples)
            phase["samples"] = samples
            phases.append(phase)
        else:
            for kind in kinds:
                phases.append(run_phase(target, kind, args.clients, args.seconds, args.max_requests, args.timeout,
                                        questions, checker, args.rebuild))
                phases[-1]["server_after"] = process_stats(target.pid)
                if args.rebuild:
                    finish_rebuild(target, phases[-1])
        report["phases"] = phases
        report["server_end"] = process_stats(target.pid)
        report["machine_after"] = machine()
    finally:
        target.stop()
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=1))
    else:
        print_report(report)
    failed = sum(p["errors"] for p in report["phases"])
    mixed = any(p.get("versions_complete") is False for p in report["phases"])
    return 1 if failed or mixed else 0


def print_report(report: dict[str, Any]) -> None:
    m = report["machine_before"]
    print(f"CPU: {m['cpu']}; load average before {m['loadavg']}, "
          f"after {report['machine_after']['loadavg']}")
    for kind, s in report.get("single_user", {}).items():
        print(f"single user, {kind}: {s['ok']}/{s['requests']} ok, p50 {s['p50_s']:.2f} s, p95 {s['p95_s']:.2f} s, "
              f"max {s['max_s']:.2f} s")
    print("| phase | clients | s | requests | ok | errors | lost | req/s | p50 s | p95 s | max s | load 1-min (max) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for p in report["phases"]:
        name = p["kind"] + (" + full rebuild" if "rebuild" in p else "")
        print(f"| {name} | {p['clients']} | {p['seconds']:.0f} | {p['requests']} | {p['ok']} | {p['errors']} | "
              f"{p['lost']} | {p['throughput_per_s']:.2f} | {p['p50_s']:.2f} | {p['p95_s']:.2f} | {p['max_s']:.2f} | "
              f"{p['loadavg_1min_during']} |")
        for error, n in p["error_kinds"].items():
            print(f"    {n} x {error}")
        if p["versions"]:
            print(f"    index versions that answered: {p['versions']}")
        if "rebuild" in p:
            r = p["rebuild"]
            print(f"    full rebuild: {r.get('final_state')} in {r.get('seconds')} s, {r['serving_before']} -> "
                  f"{r.get('new_version')}; answered only by those: {p.get('versions_complete')}"
                  + (f"; error: {r['error']}" if r.get("error") else ""))
        if "samples" in p:
            for sample in p["samples"]:
                print(f"    t={sample['t']:>7} s  requests {sample['requests']:>6}  RSS {sample.get('rss_mb')} MB  "
                      f"fds {sample.get('fds')}  threads {sample.get('threads')}  load {sample['loadavg']}")
        if p.get("samples"):
            first, last = p["samples"][0], p["samples"][-1]
            print(f"    soak: RSS {first.get('rss_mb')} -> {last.get('rss_mb')} MB "
                  f"({100 * (last['rss_mb'] - first['rss_mb']) / first['rss_mb']:+.1f}% from the first sample), "
                  f"fds {first.get('fds')} -> {last.get('fds')}, threads {first.get('threads')} -> {last.get('threads')}")
    start, warm, end = report["server_start"], report["server_after_warmup"], report["server_end"]
    if warm and end:
        growth = 100 * (end["rss_mb"] - warm["rss_mb"]) / warm["rss_mb"]
        print(f"server: RSS {start.get('rss_mb')} MB at start, {warm['rss_mb']} after the warm-up, {end['rss_mb']} "
              f"at the end ({growth:+.1f}% since the warm-up); fds {warm['fds']} -> {end['fds']}; "
              f"threads {warm['threads']} -> {end['threads']}")


if __name__ == "__main__":
    sys.exit(main())
