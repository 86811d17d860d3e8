"""Rebuilds asked for through the HTTP API: each a job with an id, run one
at a time by one worker thread, whose progress (the build's
:class:`~rag.index.progress.BuildProgress`) and result (its
:class:`~rag.index.progress.BuildReport`) ``GET /api/jobs/{id}`` shows.

The engine keeps serving the last good index while a job runs; a build
the UI or the CLI started at the same time makes the job fail with the
build's own message ("another build ... is running").
"""

from __future__ import annotations

import logging
import queue
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import asdict, dataclass, field
from typing import Any

from rag.engine import BuildError, Engine, IndexProblem
from rag.index.progress import BuildProgress, BuildReport

log = logging.getLogger(__name__)


@dataclass
class Job:
    """One rebuild: ``state`` is queued, running, done or failed."""

    id: str
    full: bool
    state: str = "queued"
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    progress: BuildProgress | None = None
    report: BuildReport | None = None
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": "full_rebuild" if self.full else "rebuild", "state": self.state,
                "created": self.created, "started": self.started, "finished": self.finished,
                "progress": asdict(self.progress) if self.progress else None,
                "result": report_json(self.report) if self.report else None,
                "error": self.error or None}


def report_json(report: BuildReport) -> dict[str, Any]:
    """A build's report as JSON: counts, the documents embedded, reused and
    skipped (with why), and where its time went."""
    data = asdict(report)
    data["stats"]["seconds"] = {str(step): seconds for step, seconds in report.stats.seconds.items()}
    data["summary"] = report.summary()
    return data


class Jobs:
    """The API's rebuild jobs; the last ``keep`` are remembered."""

    def __init__(self, engine: Engine, keep: int = 100) -> None:
        self.engine = engine
        self.keep = keep
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()
        self._queue: queue.Queue[Job] = queue.Queue()
        self._worker: threading.Thread | None = None

    def submit(self, full: bool = False) -> Job:
        job = Job(uuid.uuid4().hex, full)
        with self._lock:
            self._jobs[job.id] = job
            while len(self._jobs) > self.keep:
                oldest = next(iter(self._jobs.values()))
                if oldest.state in ("queued", "running"):
                    break
                self._jobs.popitem(last=False)
            if self._worker is None or not self._worker.is_alive():
                self._worker = threading.Thread(target=self._work, name="api-rebuild", daemon=True)
                self._worker.start()
        self._queue.put(job)
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            job.state, job.started = "running", time.time()

            def on_progress(p: BuildProgress, job: Job = job) -> None:
                job.progress = p

            try:
                job.report = self.engine.rebuild(full=job.full, progress=on_progress)
                job.state = "done"
            except (BuildError, IndexProblem, RuntimeError, ValueError, OSError) as exc:
                log.warning("rebuild job %s failed: %s", job.id, exc)
                job.error, job.state = str(exc), "failed"
            except Exception as exc:          # the worker outlives any one build
                log.exception("rebuild job %s failed", job.id)
                job.error, job.state = f"{type(exc).__name__}: {exc}", "failed"
            finally:
                job.finished = time.time()
