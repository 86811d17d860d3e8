"""The build's embedding on a Ray cluster (``--ray ADDRESS`` / ``RAG_RAY``).

Ray Data spreads the passages over a pool of actors, each holding the
embedder questions use (:meth:`rag.models.embedder.Embedder.from_config`:
ONNX wherever it loads, where a local build on an AMX CPU runs bf16; the
vectors agree within the runtimes' cosine floor), one forward pass at a time
per actor, one CPU each, and the vectors come
back in the order of the texts. The build's resumable stream
(:func:`rag.index.staging.embed_stream`) is unchanged: it hands each
checkpoint's texts to :meth:`RayEmbedder.embed_passages` instead of the local
embedder, and stages what comes back, so an interrupted cluster build resumes
like a local one.

Every node needs the embedder folder at the configured path (the project's
``make setup`` makes it); the project's own packages (``rag``, ``ingest``,
``lang``) travel with the job. ``ADDRESS`` is what ``ray.init`` takes:
``auto`` (the cluster this machine belongs to), ``ray://HOST:10001`` (a remote
cluster's client port) or ``local`` (a Ray instance started for this build).
Ray is an optional extra (``make scale``): nothing imports this module, nor
Ray, unless the flag is given.
"""

from __future__ import annotations

import dataclasses
import logging
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from rag.config import PROJECT_ROOT, Config

log = logging.getLogger(__name__)

TEXT, ROW, VECTOR = "text", "row", "vector"


class RayError(RuntimeError):
    """Ray cannot run the embedding; the message says why and what to do."""


class _EmbedActor:
    """A Ray Data actor: the configured embedder, loaded once per actor."""

    def __init__(self, config: dict) -> None:
        from rag.models.embedder import Embedder

        # Not bulk: Ray Data starts a pool of actors for every checkpoint's texts and hands
        # each batches of embed_batch_size texts, too few for bf16's 4,096-token passes to pay
        # for loading torch in every actor (ONNX loads in 0.4 s). With bf16 actors the Ray test
        # over the essay took 698 s on a 2-core AMX machine (another benchmark running).
        self.embedder = Embedder.from_config(Config(**config))

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        vectors = self.embedder.embed_passages([str(t) for t in batch[TEXT]])
        return {ROW: batch[ROW], VECTOR: vectors}


class RayEmbedder:
    """Passages embedded by a pool of Ray actors, as ``embed_passages`` of
    :class:`rag.models.embedder.TextEmbedder` (queries stay local: a build
    embeds few, and one at a time)."""

    def __init__(self, config: Config, local, address: str | None = None) -> None:
        try:
            import ray
        except ImportError as exc:
            raise RayError("ray is not installed: run `make scale` (pip install -r requirements-scale.txt)") from exc
        self.local = local
        self.name, self.dim = local.name, local.dim
        self.query_prefix, self.passage_prefix = local.query_prefix, local.passage_prefix
        self.batch_size = config.embed_batch_size
        address = address if address is not None else config.ray
        # One pass per actor: the actors are the parallelism.
        self._config = {f.name: _plain(getattr(config, f.name)) for f in dataclasses.fields(config)}
        self._config.update(embed_threads=1, ray="")
        if not ray.is_initialized():
            packages = [str(PROJECT_ROOT / name) for name in ("rag", "ingest", "lang")]
            try:
                ray.init(address=None if address == "local" else address, include_dashboard=False,
                         runtime_env={"py_modules": packages}, logging_level=logging.WARNING,
                         log_to_driver=False)
            except Exception as exc:   # ray raises ConnectionError, RuntimeError, ValueError...
                raise RayError(f"cannot reach the Ray cluster at {address!r}: {exc}") from exc
        # Ray Data reports every execution at INFO, with progress bars: the build has its own.
        logging.getLogger("ray.data").setLevel(logging.WARNING)
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False
        context.print_on_execution_start = False
        self.actors = max(1, int(ray.cluster_resources().get("CPU", 1)))
        log.info("embedding on Ray at %s: %d actors", address, self.actors)

    def embed_queries(self, texts: Sequence[str], batch_size: int | None = None) -> np.ndarray:
        return self.local.embed_queries(texts, batch_size=batch_size)

    def embed_passages(self, texts: Sequence[str],
                       progress: Callable[[int, int], None] | None = None) -> np.ndarray:
        """(n, dim) float32 unit vectors of ``texts``, in their order."""
        import ray

        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        items = [{ROW: i, TEXT: t} for i, t in enumerate(texts)]
        dataset = ray.data.from_items(items).map_batches(
            _EmbedActor, fn_constructor_kwargs={"config": self._config}, batch_size=self.batch_size,
            compute=ray.data.ActorPoolStrategy(size=min(self.actors, max(1, len(texts) // self.batch_size))),
            num_cpus=1, batch_format="numpy")
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        done = 0
        for batch in dataset.iter_batches(batch_format="numpy", batch_size=None):
            out[batch[ROW]] = batch[VECTOR]
            done += len(batch[ROW])
            if progress is not None:
                progress(done, len(texts))
        return out


def _plain(value):
    """A config value as Ray ships it (paths as strings, modes as their values)."""
    return str(value) if isinstance(value, Path) else value
