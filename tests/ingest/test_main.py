"""python -m ingest: the progress line on the terminal."""

from __future__ import annotations

import io
import logging

from ingest.__main__ import ProgressLine, describe
from rag.index.progress import BuildProgress, Stage


def test_embedding_progress_shows_rate_and_time_left():
    p = BuildProgress(Stage.EMBED, 2_000, 8_000, rate=41.6, eta=150.0)
    assert describe(p) == "embedding chunks and sentences: 2,000/8,000, 42/s, 2 min 30 s left"
    assert describe(BuildProgress(Stage.EMBED, 0, 8_000)) == "embedding chunks and sentences: 0/8,000"
    assert describe(BuildProgress(Stage.TERMS, 10, 10, rate=300.0, eta=0.0)) == \
        "embedding the term table: 10/10, 300/s"


def test_a_warning_starts_on_its_own_line_not_inside_the_progress_line():
    out = io.StringIO()
    line = ProgressLine(out)
    handler = logging.StreamHandler(line)
    log = logging.getLogger("test-progress-line")
    log.addHandler(handler)
    log.propagate = False
    try:
        line.show(BuildProgress(Stage.LOAD, 0, 2, "a.txt"))
        log.warning("skipped b.txt: not UTF-8")
        line.show(BuildProgress(Stage.LOAD, 1, 2, "c.txt"))
    finally:
        log.removeHandler(handler)
    text = out.getvalue()
    assert "a.txt" in text and "\nskipped b.txt: not UTF-8\n" in text
    # The warning is not glued to the end of the progress line.
    assert not any("loading" in row and "skipped" in row for row in text.replace("\r", "\n").split("\n"))


def test_ctrl_c_says_the_finished_batches_are_kept_instead_of_a_traceback(tmp_path, monkeypatch, capsys):
    from ingest.__main__ import main
    from rag.engine import Engine

    def interrupted(self, full=False, progress=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(Engine, "rebuild", interrupted)
    assert main(["--corpus", str(tmp_path), "--index", str(tmp_path / "index")]) == 130
    err = capsys.readouterr().err
    assert "interrupted" in err and str(tmp_path / "index" / ".staging") in err and "again to resume" in err
    assert "Traceback" not in err
