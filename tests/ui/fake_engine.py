"""A stand-in for :class:`rag.engine.Engine` in the UI handlers' unit tests:
the part of its public API the UI calls, over one small document, with no
model and no index on disk.

Its answers, status and build are scripted; what the engine computes from
its configuration alone (question cleaning, upload checks, deletion) is the
real engine's own code. ``test_fake_engine_matches_the_engine`` keeps the
two signatures in step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterator, Sequence

from ingest.records import Chunk, Document
from rag.config import Config
from rag.engine import (AnswerUpdate, BuildError, DocumentStatus, Engine, IndexContents, IndexProblem,
                        IndexStatus)
from rag.index.progress import BuildProgress, BuildReport, Stage
from rag.index.store import FailedEntry
from rag.records import Answer, Citation, Hit, Turn

DOC = ("前言。\n\n一、组织部门的职能\n\n组织部门是党的重要职能部门。它负责干部工作。"
       "\n\n二、新问题\n\n另一节的文字。")
DOC_PATH = "essay.txt"
ANSWER_SENTENCE = "组织部门是党的重要职能部门。"


def config_for(tmp_path: Path, **overrides) -> Config:
    """Defaults (not the developer's RAG_* variables) over ``tmp_path``'s corpus and index folders."""
    (tmp_path / "corpus").mkdir(exist_ok=True)
    return Config.from_env({}, corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index", **overrides)


def _chunk(cid: int, text: str, section: str) -> Chunk:
    start = DOC.index(text)
    return Chunk(id=cid, doc=DOC_PATH, title="随笔", section=section, start=start, end=start + len(text),
                 text=text)


CHUNKS = [_chunk(0, "组织部门是党的重要职能部门。它负责干部工作。", "一、组织部门的职能"),
          _chunk(1, "另一节的文字。", "二、新问题")]


def cited_answer(question: str) -> Answer:
    """An answer citing the first chunk's first sentence as [1]."""
    start = DOC.index(ANSWER_SENTENCE)
    chunk = CHUNKS[0]
    citation = Citation(n=1, doc=DOC_PATH, title=chunk.title, section=chunk.section, start=start,
                        end=start + len(ANSWER_SENTENCE), text=ANSWER_SENTENCE, chunk_id=chunk.id)
    return Answer(question, ANSWER_SENTENCE + "[1]", False, [citation], [Hit(chunk, 0.9, 1, ("dense", "lexical"))])


class FakeEngine:
    """Scripted engine: set ``problem`` (an :class:`IndexProblem`) to have
    no usable index, ``build_error`` to make rebuilds fail."""

    clean_question = Engine.clean_question
    add_file = Engine.add_file
    delete_document = Engine.delete_document
    upload_suffixes = Engine.upload_suffixes

    def __init__(self, config: Config) -> None:
        self.config = config
        self.problem: IndexProblem | None = None
        self.build_error: Exception | None = None
        self.version = "v-1"
        self.overrides: list[dict] = []        # each request's settings changes
        self.asked: list[tuple[str, list[Turn]]] = []
        self.rebuilds: list[bool] = []         # full?

    def with_overrides(self, **changes) -> "FakeEngine":
        self.overrides.append(changes)
        if self.problem:
            raise self.problem
        return self

    def ask_stream(self, question: str, history: Sequence[Turn] = ()) -> Iterator[AnswerUpdate]:
        question, notes = self.clean_question(question)
        if self.problem:
            raise self.problem
        self.asked.append((question, list(history)))
        answer = cited_answer(question)
        answer.notes = notes
        yield AnswerUpdate(answer.answer[:5])
        yield AnswerUpdate(answer.answer, answer)

    def contents(self) -> IndexContents:
        if self.problem:
            raise self.problem
        doc = Document(path=DOC_PATH, title="随笔", text=DOC, format="txt", sha256="0" * 64, size=len(DOC.encode()))
        return IndexContents(self.version, {DOC_PATH: doc}, CHUNKS)

    def status(self) -> IndexStatus:
        if self.problem:
            return IndexStatus(ready=False, message=str(self.problem))
        return IndexStatus(ready=True, documents=1, chunks=len(CHUNKS), built_at="2024-05-01T08:00:00+00:00",
                           embedder="fake")

    def documents(self) -> list[DocumentStatus]:
        rows = [DocumentStatus(DOC_PATH, "随笔", "txt", len(DOC.encode()), len(CHUNKS), "2024-05-01T08:00:00+00:00",
                               "indexed")]
        for path in sorted(self.config.corpus_dir.iterdir()):
            rows.append(DocumentStatus(path.name, path.stem, path.suffix.lstrip("."), path.stat().st_size, 0, "",
                                       "new"))
        return rows + [DocumentStatus("gone.txt", "gone", "txt", 10, 1, "2024-05-01T08:00:00+00:00", "removed")]

    def rebuild(self, full: bool = False, progress=None) -> BuildReport:
        self.rebuilds.append(full)
        for step in (BuildProgress(Stage.LOAD, 0, 1, DOC_PATH), BuildProgress(Stage.INDEX, 1, 1, DOC_PATH),
                     BuildProgress(Stage.PUBLISH, 1, 1)):
            if progress:
                progress(step)
        if self.build_error:
            raise self.build_error
        self.version = f"v-{len(self.rebuilds) + 1}"
        return BuildReport(version=self.version, documents=1, chunks=len(CHUNKS), embedded_documents=[DOC_PATH],
                           failed=[FailedEntry("broken.pdf", "no text")], seconds=1.5)


__all__ = ["FakeEngine", "BuildError", "config_for", "cited_answer", "DOC", "DOC_PATH", "CHUNKS"]
