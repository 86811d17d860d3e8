"""Command line: ``python -m ingest [--corpus DIR] [--index DIR] [--rebuild]``.

Builds the index of the corpus folder incrementally (only new or changed
documents are embedded); ``--rebuild`` embeds everything again. A thin shell
over :meth:`rag.engine.Engine.rebuild`.
"""

from __future__ import annotations

import argparse
import logging
import sys

from rag.config import Config
from rag.engine import Engine
from rag.index.build import BuildError
from rag.index.progress import BuildProgress, Stage
from rag.index.store import IndexProblem


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ingest", description=__doc__.split("\n")[0])
    parser.add_argument("--rebuild", action="store_true", help="ignore the existing index; embed everything")
    parser.add_argument("--if-stale", action="store_true",
                        help="do nothing when the index is current (used by `make run`)")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
    Config.add_arguments(parser, names=["corpus_dir", "index_dir", "embedder", "chunk_size", "chunk_overlap",
                                        "lexical_tokenizer", "embed_batch_size"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")

    progress = None if args.quiet else _print_progress
    try:
        engine = Engine(Config.from_args(args))
        if args.if_stale and not args.rebuild:
            report = engine.ensure_index(progress=progress)
            if report is None:
                print(f"index in {engine.config.index_dir} is current")
                return 0
        else:
            report = engine.rebuild(full=args.rebuild, progress=progress)
    except (BuildError, IndexProblem, RuntimeError) as exc:
        print(f"\nerror: {exc}", file=sys.stderr)
        return 2
    print(report.summary())
    return 0


def _print_progress(p: BuildProgress) -> None:
    if p.stage is Stage.TERMS:
        sys.stderr.write(f"\rembedding the term table: {p.done}/{p.total} new terms   ")
        if p.done == p.total:
            sys.stderr.write("\n")
    elif p.stage is Stage.EMBED:
        sys.stderr.write(f"\rembedding {p.file}: {p.done}/{p.total} "
                         f"({p.chunks} chunks + {p.sentences} sentences)   ")
        if p.done == p.total:
            sys.stderr.write("\n")
    elif p.stage is Stage.LOAD and p.file:
        sys.stderr.write(f"\rloading {p.done + 1}/{p.total}: {p.file[:60]:<60}")
    elif p.stage is Stage.LOAD:
        sys.stderr.write("\n")
    sys.stderr.flush()


if __name__ == "__main__":
    sys.exit(main())
