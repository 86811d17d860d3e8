"""``python -m ingest`` with a stand-in encoder: the whole build but the model.

    python -m bench.standin --corpus DIR --index DIR [--embed-checkpoint N]

What :mod:`bench.bigfile` runs, with ``--stand-in``, to follow a build's
memory to its end: the real model embeds a 30 MB file in hours on two cores,
and everything a build holds besides the model (the chunks and sentences,
the embedding stream's vectors, the staged batches, BM25, the term table,
the index it writes) is the same whatever the vectors are. The encoder
here gives each text a fixed pseudo-random unit vector of the real model's
dimension, seeded by the text's hash, in microseconds. The build, its
progress line and its Ctrl-C are exactly ``python -m ingest``'s; the index
it writes is for measuring, not for asking (it is marked with the stand-in's
name, so no engine with a real model serves it).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from bench.load import process_stats
from ingest.__main__ import ProgressLine
from rag.config import Config
from rag.index.build import STAGING, build_index

# multilingual-e5-small's: the stream's vectors, the staged batches and the
# index take the real build's room.
DIM = 384


class StandInEmbedder:
    """A :class:`rag.models.embedder.TextEmbedder` of pseudo-random unit
    vectors: ``text`` always gets the same (DIM,) vector, drawn from a
    generator seeded by its hash; no meaning, no model, no time."""

    name = "stand-in (hash-seeded random unit vectors)"
    dim = DIM
    query_prefix = "query: "
    passage_prefix = "passage: "

    def __init__(self, batch_size: int = 64) -> None:
        self.batch_size = batch_size

    def embed_queries(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        return self._encode([self.query_prefix + t for t in texts])

    def embed_passages(self, texts: Sequence[str],
                       progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        # One call is one of the stream's batches, done in microseconds: no
        # progress within it is worth reporting but its end.
        out = self._encode([self.passage_prefix + t for t in texts])
        if progress is not None:
            progress(len(texts), len(texts))
        return out

    def _encode(self, texts: list[str]) -> np.ndarray:
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for row, text in enumerate(texts):
            seed = int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")
            vector = np.random.default_rng(seed).standard_normal(self.dim)
            out[row] = vector / np.linalg.norm(vector)
        return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.standin", description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, required=True, help="the folder to index")
    parser.add_argument("--index", type=Path, required=True, help="where the index goes")
    parser.add_argument("--embed-checkpoint", type=int, default=None, help="texts per staged batch")
    args = parser.parse_args(argv)
    config = Config(corpus_dir=args.corpus, index_dir=args.index)
    if args.embed_checkpoint:
        config = config.replace(embed_checkpoint=args.embed_checkpoint)
    line = ProgressLine(sys.stderr)
    try:
        report = build_index(config, full=True, progress=line.show, embedder=StandInEmbedder())
    except KeyboardInterrupt:
        line.end()
        print(f"interrupted: the vectors embedded so far are kept in {args.index / STAGING}/", file=sys.stderr)
        return 130
    line.end()
    print(report.summary())
    # The peak falls after the stream (BM25, the index's writing), when a
    # sampling parent may already have seen the process exit.
    stats = process_stats("self")
    print(f"peak RSS {stats.get('peak_rss_mb', 0):.0f} MB; at the end RSS {stats.get('rss_mb', 0):.0f} MB, "
          f"anonymous {stats.get('rss_anon_mb', 0):.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
