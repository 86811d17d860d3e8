"""Would sentence vectors taken from the chunk's own forward pass do?

    python -m bench.late_chunking --dataset cmrc2018-trial
    python -m bench.late_chunking --dataset seed-dev --json

The build embeds every sentence a second time, on its own (its title, then
the sentence: :func:`rag.index.texts.sentence_text`), beside its chunk. "Late
chunking" would instead pool the chunk's token states over each sentence's
tokens (mean, then unit length), saving the sentences' forward passes. This
benchmark builds both kinds of sentence vector for a dataset's chunks and
scores what the rerank and the answer use them for:

* chunk R@1 by best sentence: each answerable question's chunks ranked by
  their best sentence cosine (the rerank's strongest signal), top chunk
  holds the evidence;
* sentence hit in the gold chunk: the sentence with the best cosine within
  the chunk that holds the evidence contains it (what an answer quotes).

It also prints each kind's tokens and seconds, and the cosine between the two
vectors of each sentence. The chunker, the sentence splitter and the
build's embedder (``Embedder.from_config(config, bulk=True)``) are the
product's; a sentence past the chunk's 512 tokens gets the chunk's vector.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from typing import Sequence

import numpy as np

from bench.datasets import evidence_match
from bench.retrieval import load_dataset
from rag.config import Config
from rag.models.cpu import read_cpu_info

DATASETS = ("seed-dev", "cmrc2018-trial", "cmrc2018-dev")


@dataclass(frozen=True)
class SentenceRanking:
    """How one kind of sentence vector ranks, over ``questions`` answerable questions."""

    vectors: str                 # "separate", "late", "mean of both"
    chunk_recall_at_1: float
    sentence_hit: float
    questions: int


@dataclass(frozen=True)
class LateChunkingReport:
    dataset: str
    runtime: str
    cpu: str
    chunks: int
    sentences: int
    chunk_tokens: int
    sentence_tokens: int
    separate_seconds: float      # the sentences' own passes
    late_seconds: float          # the chunks' passes, pooled per sentence
    beyond_512: int              # sentences past the chunk's truncation
    cosine_min: float
    cosine_p10: float
    cosine_median: float
    rankings: list[SentenceRanking]


def token_rows(offsets: Sequence[tuple[int, int]], start: int, end: int) -> list[int]:
    """Rows of the tokens whose character ``offsets`` overlap ``[start, end)``
    (special tokens, offset (0, 0), never do)."""
    return [i for i, (a, b) in enumerate(offsets) if b > a and a < end and b > start]


def run(dataset: str, config: Config) -> LateChunkingReport:
    from ingest.chunking import chunk_document
    from rag.index.texts import chunk_sentence_spans, passage_text, sentence_text
    from rag.models.embedder import Embedder, TorchBackend

    evalset, questions = load_dataset(dataset)
    embedder = Embedder.from_config(config, bulk=True)
    # token states need torch: the build's own bf16 model where it runs one, else fp32
    model = embedder.backend if isinstance(embedder.backend, TorchBackend) else TorchBackend.load(
        str(config.embedder_path or config.embedder))
    tokenizer = model.model.tokenizer

    chunks, sentences = [], []          # sentences: (chunk row, document start, end)
    first_id = 0
    for doc in evalset.documents:
        for chunk in chunk_document(doc, config.chunk_size, config.chunk_overlap, first_id=first_id):
            chunks.append(chunk)
            sentences += [(len(chunks) - 1, a, b) for a, b in chunk_sentence_spans(doc, chunk)]
        first_id = len(chunks)
    doc_texts = {doc.path: doc.text for doc in evalset.documents}
    texts = [sentence_text(chunks[row], doc_texts[chunks[row].doc][a:b]) for row, a, b in sentences]

    t0 = time.perf_counter()
    separate = embedder.embed_passages(texts)
    separate_seconds = time.perf_counter() - t0

    passages = [embedder.passage_prefix + passage_text(c) for c in chunks]
    encoded = tokenizer(passages, truncation=True, max_length=model.model.max_seq_length,
                        return_offsets_mapping=True)
    by_chunk: dict[int, list[int]] = {}
    for j, (row, _, _) in enumerate(sentences):
        by_chunk.setdefault(row, []).append(j)
    late = np.zeros_like(separate)
    beyond = 0
    t0 = time.perf_counter()
    for rows in model.batches(encoded["input_ids"], config.embed_batch_size):
        out = model.features([encoded["input_ids"][i] for i in rows])
        states = out["token_embeddings"].float().numpy()
        pooled = out["sentence_embedding"].float().numpy()
        for k, i in enumerate(rows):
            body = len(passages[i]) - len(chunks[i].text)     # the chunk's text ends its passage text
            for j in by_chunk.get(i, []):
                _, a, b = sentences[j]
                picked = token_rows(encoded["offset_mapping"][i], body + a - chunks[i].start,
                                    body + b - chunks[i].start)
                if picked:
                    late[j] = states[k, picked].mean(axis=0)
                else:
                    late[j], beyond = pooled[k], beyond + 1
    late_seconds = time.perf_counter() - t0
    late = _unit(late)

    cosines = (separate * late).sum(axis=1)
    # each answerable question and the chunks holding its evidence, found once for the three rankings
    asked = []
    for q in questions:
        gold = [i for i, c in enumerate(chunks) if q.doc and c.doc == q.doc and evidence_match(c.text, q.evidence)]
        if gold:
            asked.append((q, gold))
    question_vectors = embedder.embed_queries([q.question for q, _ in asked])
    rankings = [_ranking(name, vectors, question_vectors, asked, sentences, by_chunk, doc_texts)
                for name, vectors in (("separate", separate), ("late", late),
                                      ("mean of both", _unit(separate + late)))]
    sentence_ids = tokenizer([embedder.passage_prefix + t for t in texts], truncation=True,
                             max_length=model.model.max_seq_length)["input_ids"]
    return LateChunkingReport(
        dataset=dataset, runtime=embedder.runtime, cpu=read_cpu_info(import_torch=True).describe(),
        chunks=len(chunks), sentences=len(sentences), chunk_tokens=sum(len(i) for i in encoded["input_ids"]),
        sentence_tokens=sum(len(i) for i in sentence_ids),
        separate_seconds=separate_seconds, late_seconds=late_seconds, beyond_512=beyond,
        cosine_min=float(cosines.min()), cosine_p10=float(np.percentile(cosines, 10)),
        cosine_median=float(np.median(cosines)), rankings=rankings)


def _unit(vectors: np.ndarray) -> np.ndarray:
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def _ranking(name: str, vectors: np.ndarray, question_vectors: np.ndarray, asked: list[tuple[object, list[int]]],
             sentences: list[tuple[int, int, int]], by_chunk: dict[int, list[int]],
             texts: dict[str, str]) -> SentenceRanking:
    """``asked``: (question, rows of the chunks holding its evidence)."""
    sentence_chunk = np.array([row for row, _, _ in sentences])
    chunk_hits = sentence_hits = 0
    for (q, gold), qv in zip(asked, question_vectors):
        cosines = vectors @ qv
        best = np.full(len(by_chunk), -np.inf)     # every chunk has a sentence (the whole chunk at least)
        np.maximum.at(best, sentence_chunk, cosines)
        chunk_hits += int(best.argmax() in gold)
        rows = by_chunk[gold[0]]
        _, a, b = sentences[rows[int(np.argmax(cosines[rows]))]]
        sentence_hits += int(evidence_match(texts[q.doc][a:b], q.evidence))
    scored = max(len(asked), 1)
    return SentenceRanking(name, chunk_hits / scored, sentence_hits / scored, len(asked))


def format_report(r: LateChunkingReport) -> str:
    lines = [f"CPU: {r.cpu}; embedder runtime {r.runtime}",
             f"{r.dataset}: {r.chunks:,} chunks ({r.chunk_tokens:,} tokens), {r.sentences:,} sentences "
             f"({r.sentence_tokens:,} tokens embedded on their own); {r.beyond_512} past the chunk's 512 tokens",
             f"seconds: the sentences' own passes {r.separate_seconds:.1f}; the chunks' passes, pooled per "
             f"sentence {r.late_seconds:.1f}",
             f"cosine(separate, late) per sentence: min {r.cosine_min:.3f}, p10 {r.cosine_p10:.3f}, "
             f"median {r.cosine_median:.3f}", "",
             "| sentence vectors | chunk R@1 by best sentence | sentence hit in the gold chunk | questions |",
             "|---|---:|---:|---:|"]
    lines += [f"| {x.vectors} | {x.chunk_recall_at_1:.4f} | {x.sentence_hit:.4f} | {x.questions:,} |"
              for x in r.rankings]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.late_chunking", description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="cmrc2018-trial", choices=DATASETS)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    Config.add_arguments(parser, names=["embedder", "chunk_size", "chunk_overlap", "embed_runtime"])
    args = parser.parse_args(argv)
    report = run(args.dataset, Config.from_args(args))
    print(json.dumps(asdict(report), ensure_ascii=False, indent=1) if args.json else format_report(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
