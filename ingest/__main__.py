"""Command line: ``python -m ingest [--corpus DIR] [--index DIR] [--rebuild]``.

Builds the index of the corpus folder incrementally (only new or changed
documents are embedded); ``--rebuild`` embeds everything again. A thin shell
over :meth:`rag.engine.Engine.rebuild`.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import TextIO

from rag.config import Config
from rag.engine import Engine
from rag.index.build import STAGING, BuildError
from rag.index.progress import BuildProgress, Stage
from rag.index.store import IndexProblem


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ingest", description=__doc__.split("\n")[0])
    parser.add_argument("--rebuild", action="store_true", help="ignore the existing index; embed everything")
    parser.add_argument("--if-stale", action="store_true",
                        help="do nothing when the index is current (used by `make run`)")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    Config.add_arguments(parser, names=["corpus_dir", "index_dir", "embedder", "chunk_size", "chunk_overlap",
                                        "lexical_tokenizer", "embed_batch_size", "embed_checkpoint",
                                        "embed_checkpoint_seconds", "store", "dense_index", "dense_flat_max",
                                        "dense_min_recall", "ray"])
    args = parser.parse_args(argv)
    line = ProgressLine(sys.stderr)
    handler = logging.StreamHandler(line)
    handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])

    progress = None if args.quiet else line.show
    config = Config.from_args(args)
    try:
        engine = Engine(config)
        if args.if_stale and not args.rebuild:
            report = engine.ensure_index(progress=progress)
            if report is None:
                print(f"index in {engine.config.index_dir} is current")
                return 0
        else:
            report = engine.rebuild(full=args.rebuild, progress=progress)
    except (BuildError, IndexProblem, RuntimeError) as exc:
        line.end()
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        # Every finished batch is already staged; say so instead of a traceback.
        line.end()
        print(f"interrupted: the index that was serving is unchanged, and the vectors embedded so far are kept "
              f"in {config.index_dir / STAGING}/; run the same command again to resume", file=sys.stderr)
        return 130
    line.end()
    print(report.summary())
    return 0


class ProgressLine:
    """One progress line on a terminal, rewritten in place (``\r``), and a
    stream for log messages that first ends that line, so a warning never
    lands in the middle of it."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self._open = False

    def show(self, p: BuildProgress) -> None:
        text = describe(p)
        if text is None:
            return
        self.stream.write(f"\r{text:<79}")
        self._open = True
        if p.done == p.total:   # a stage's last step keeps its line
            self.end()
        self.stream.flush()

    def end(self) -> None:
        if self._open:
            self.stream.write("\n")
            self._open = False

    # The logging handler's stream.
    def write(self, text: str) -> None:
        self.end()
        self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()


def describe(p: BuildProgress) -> str | None:
    """The progress line for ``p`` (None: nothing worth a line)."""
    if p.stage is Stage.LOAD:
        return f"loading {min(p.done + 1, p.total)}/{p.total}: {p.file[:50]}" if p.total else None
    if p.stage in (Stage.EMBED, Stage.TERMS):
        what = "embedding chunks and sentences" if p.stage is Stage.EMBED else "embedding the term table"
        text = f"{what}: {p.done:,}/{p.total:,}"
        if p.rate:
            text += f", {p.rate:.0f}/s"
        if p.eta is not None and p.done < p.total:
            text += f", {_duration(p.eta)} left"
        return text
    return None


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"


if __name__ == "__main__":
    sys.exit(main())
