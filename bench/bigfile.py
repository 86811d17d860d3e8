"""One big text file: progress, memory and resuming, as a user meets them.

    python -m bench.bigfile                       # 30 MB, 4 minutes, interrupt, 2 more minutes
    python -m bench.bigfile --mb 5 --minutes 1 --resume-minutes 0.5 --checkpoint 128 --json
    python -m bench.bigfile --stand-in --minutes 30 --resume-minutes 0   # memory to the end of the build

A folder holding one ``--mb`` MB text file is indexed by ``python -m ingest``
in a subprocess (the command a user runs), for ``--minutes`` minutes; then
the build is interrupted as a user does, with Ctrl-C (SIGINT), and started
again for ``--resume-minutes``. From the progress lines the build prints
and the process's resident memory (sampled every ``--sample`` seconds from
``/proc``), it reports:

* the progress line's rate and time left as the build goes, and whether
  they were shown at all (goal: a big file shows both);
* resident memory against texts embedded: the first sample once embedding
  started, the last, and the growth per 10,000 texts over the last two
  thirds of the samples (the first batches grow the runtime's buffers),
  split into anonymous memory (the process's own) and mapped file pages
  (page cache the kernel can drop: the model's memory-mapped weights, and
  the stream's vectors, which live in a memory-mapped file,
  :class:`rag.index.staging.VectorFile`) (goal: memory that does not grow
  with the file);
* the interruption: texts staged in ``index/.staging`` when it stopped,
  what the second run still had to embed, and so how many it took from the
  finished batches (goal: it resumes from the last finished batch, not from
  zero).

The file: the CMRC 2018 dev and trial paragraphs (real Chinese prose),
repeated until ``--mb`` MB, each repeat under a heading of its own and every
sentence of it marked with the repeat's number, so that chunks and
sentences do not repeat (the build embeds a repeated text once, which would
flatter the rate; the few sentences the datasets themselves repeat stay).
A full 30 MB build is far longer than this benchmark runs (about 260,000
chunks, sentences and clauses); the rate and time left it prints are the
figures to read.

``--stand-in`` runs :mod:`bench.standin` instead of ``python -m ingest``:
the same build with a pseudo-random encoder in place of the model, so the
file is built to the end in minutes and memory is followed through the
whole stream and the index's writing (the model's own memory, which does
not grow with the file, is then left out). ``--resume-minutes 0`` skips the
second run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench.datasets import load_cmrc
from bench.load import process_stats
from rag.config import PROJECT_ROOT
from rag.models.cpu import read_cpu_info

# "embedding chunks and sentences: 8,800/178,678, 35/s, 1 h 24 min left"
PROGRESS = re.compile(r"embedding chunks and sentences: ([\d,]+)/([\d,]+)(?:, (\d+)/s)?(?:, (.+?) left)?\s*$")
SENTENCE_END = re.compile(r"([。！？])")


@dataclass
class Sample:
    """One look at the running build: seconds since it started, the texts
    its progress line said were embedded (of ``total``), its RSS, and the
    RSS's anonymous memory and mapped file pages (the embedding stream's
    vectors are a memory-mapped file: page cache, not the process's own)."""

    seconds: float
    done: int
    total: int
    rss_mb: float
    line: str
    rss_anon_mb: float = 0.0
    rss_file_mb: float = 0.0


@dataclass
class RunLog:
    """One ``python -m ingest`` run until it was stopped or finished."""

    samples: list[Sample] = field(default_factory=list)
    exit_code: int | None = None
    tail: str = ""

    @property
    def embedding(self) -> list[Sample]:
        return [s for s in self.samples if s.total]


@dataclass
class BigFileReport:
    cpu: str
    file_mb: float
    first: RunLog
    staged_texts: int
    second: RunLog | None      # None: not run (--resume-minutes 0)
    load_average_before: float
    load_average_after: float = 0.0
    module: str = "ingest"     # what built: ingest, or bench.standin (no model)

    def to_json(self) -> dict:
        return asdict(self)


def make_file(path: Path, megabytes: float) -> float:
    """Write the big file (see the module docstring); its size in MB."""
    paragraphs = list(dict.fromkeys(d.text.strip() for split in ("dev", "trial") for d in load_cmrc(split).documents))
    target = int(megabytes * 1_000_000)
    written = 0
    with path.open("w", encoding="utf-8") as out:
        repeat = 0
        while written < target:
            repeat += 1
            parts = [f"第{repeat}部分\n\n"]
            for text in paragraphs:
                # mark every sentence: 。 -> （第n部分）。
                parts.append(SENTENCE_END.sub(lambda m: f"（{repeat}）{m.group(1)}", text) + "\n\n")
            block = "".join(parts)
            out.write(block)
            written += len(block.encode("utf-8"))
    return path.stat().st_size / 1_000_000


def run_ingest(corpus: Path, index: Path, seconds: float, sample_every: float, options: list[str],
               module: str = "ingest") -> RunLog:
    """``python -m ingest [options]`` (or ``module``: :mod:`bench.standin`)
    for ``seconds`` (then SIGINT, as Ctrl-C), its progress and memory
    sampled every ``sample_every`` seconds."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAG_")}
    # SIGINT back to its default in the child: a benchmark started in the
    # background (`... &`) has it ignored, and Python then never raises
    # KeyboardInterrupt for it.
    process = subprocess.Popen([sys.executable, "-m", module, "--corpus", str(corpus), "--index", str(index),
                                *options],
                               cwd=PROJECT_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    log = RunLog()
    latest = [""]
    output: list[str] = []

    def read() -> None:       # progress lines end in \r, not \n
        buffer = b""
        while chunk := process.stdout.read1(4096):
            buffer += chunk
            *lines, buffer = re.split(rb"[\r\n]", buffer)
            for raw in lines:
                text = raw.decode("utf-8", "replace").strip()
                if text:
                    latest[0] = text
                    output.append(text)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    started = time.perf_counter()
    while process.poll() is None and time.perf_counter() - started < seconds:
        time.sleep(sample_every)
        match = PROGRESS.search(latest[0])
        done, total = (int(match.group(1).replace(",", "")), int(match.group(2).replace(",", ""))) if match else (0, 0)
        stats = process_stats(process.pid)
        log.samples.append(Sample(time.perf_counter() - started, done, total, stats.get("rss_mb", 0.0), latest[0],
                                  stats.get("rss_anon_mb", 0.0), stats.get("rss_file_mb", 0.0)))
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
    log.exit_code = process.wait(timeout=120)
    reader.join(timeout=10)
    log.tail = "\n".join(output[-4:])
    return log


def staged_texts(index: Path) -> int:
    """Texts whose vectors an interrupted build left in ``index/.staging``."""
    import numpy as np

    count = 0
    for path in (index / ".staging").rglob("batch-*.npz"):
        with np.load(path) as batch:
            count += len(batch["keys"])
    return count


def run(megabytes: float, minutes: float, resume_minutes: float, sample_every: float,
        checkpoint: int | None = None, stand_in: bool = False) -> BigFileReport:
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="bench-bigfile-") as tmp:
        corpus, index = Path(tmp) / "corpus", Path(tmp) / "index"
        corpus.mkdir()
        size = make_file(corpus / "big.txt", megabytes)
        options = ["--embed-checkpoint", str(checkpoint)] if checkpoint else []
        module = "bench.standin" if stand_in else "ingest"
        first = run_ingest(corpus, index, minutes * 60, sample_every, options, module)
        staged = staged_texts(index)
        second = (run_ingest(corpus, index, resume_minutes * 60, sample_every, options, module)
                  if resume_minutes > 0 else None)
    return BigFileReport(read_cpu_info().describe(), round(size, 1), first, staged, second, load_before,
                         os.getloadavg()[0], module)


def growth_per_10k(samples: list[Sample], field: str = "rss_mb") -> float | None:
    """Least-squares MB of RSS (or of ``field``: ``rss_anon_mb``) per 10,000
    texts embedded, over the samples taken while embedding (None with fewer
    than three)."""
    points = [(s.done, getattr(s, field)) for s in samples if s.total and s.done]
    if len(points) < 3 or points[-1][0] == points[0][0]:
        return None
    n = len(points)
    mx, my = sum(p[0] for p in points) / n, sum(p[1] for p in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return 10_000 * sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else None


def format_report(r: BigFileReport) -> str:
    lines = [f"CPU: {r.cpu}; load average {r.load_average_before:.2f} before, {r.load_average_after:.2f} after",
             f"one {r.file_mb} MB text file, `python -m {r.module}`"
             + (" (the build with a stand-in encoder, no model)" if r.module != "ingest" else "") + ":"]
    for name, log in (("first run", r.first), ("second run", r.second)):
        if log is None:
            continue
        emb = log.embedding
        how = ("finished" if log.exit_code == 0 else "interrupted with Ctrl-C" if log.exit_code == 130
               else f"exit {log.exit_code}")
        lines.append(f"- {name} ({how}):")
        if not emb:
            lines.append(f"  no embedding progress seen; last output: {log.tail!r}")
            continue
        a, b = emb[0], emb[-1]
        growth = growth_per_10k(emb[len(emb) // 3:])     # past the first batches' warm-up (arenas, caches)
        anon = growth_per_10k(emb[len(emb) // 3:], "rss_anon_mb")
        end = log.samples[-1]
        lines += [f"  texts to embed {b.total:,}; embedded {a.done:,} -> {b.done:,} in {b.seconds - a.seconds:.0f} s",
                  f"  last progress line: {b.line!r}",
                  f"  RSS {a.rss_mb:.0f} MB -> {b.rss_mb:.0f} MB (peak {max(s.rss_mb for s in log.samples):.0f});"
                  + (f" growth {growth:.1f} MB per 10,000 texts" if growth is not None else ""),
                  f"  of which anonymous {a.rss_anon_mb:.0f} -> {b.rss_anon_mb:.0f} MB"
                  + (f" ({anon:.1f} MB per 10,000 texts)" if anon is not None else "")
                  + f", mapped files {a.rss_file_mb:.0f} -> {b.rss_file_mb:.0f} MB",
                  f"  last sample ({end.seconds:.0f} s, {end.line[:60]!r}): RSS {end.rss_mb:.0f} MB, anonymous "
                  f"{end.rss_anon_mb:.0f}, peak anonymous {max(s.rss_anon_mb for s in log.samples):.0f}"]
        if log.exit_code == 0:
            lines.append(f"  its last lines: {log.tail!r}")
    if r.second is None:
        return "\n".join(lines)
    first_total = r.first.embedding[-1].total if r.first.embedding else 0
    second_total = r.second.embedding[0].total if r.second.embedding else 0
    lines.append(f"- interruption: {r.staged_texts:,} texts staged in index/.staging; the second run had "
                 f"{second_total:,} of {first_total:,} left to embed (resumed {first_total - second_total:,})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.bigfile", description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=float, default=30.0, help="size of the text file (default 30 MB)")
    parser.add_argument("--minutes", type=float, default=4.0, help="the first run, then Ctrl-C (default 4)")
    parser.add_argument("--resume-minutes", type=float, default=2.0, help="the second run (default 2)")
    parser.add_argument("--sample", type=float, default=5.0, help="seconds between samples (default 5)")
    parser.add_argument("--checkpoint", type=int, default=None,
                        help="texts per staged batch (default: the configured embed_checkpoint)")
    parser.add_argument("--stand-in", action="store_true",
                        help="build with a stand-in encoder (bench.standin), to follow memory to the build's end")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    report = run(args.mb, args.minutes, args.resume_minutes, args.sample, args.checkpoint, args.stand_in)
    print(json.dumps(report.to_json(), ensure_ascii=False, indent=1) if args.json else format_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
