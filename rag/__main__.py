"""Command line: ``python -m rag search|ask|status``.

    python -m rag search "组织部门的职能是什么？" --k 5 --json
    python -m rag ask "组织部门的职能是什么？" --json
    printf '问题一\\n问题二\\n' | python -m rag ask --json     # JSON Lines, models loaded once

A thin shell over :class:`rag.engine.Engine`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import Iterable

from rag.config import Config
from rag.engine import Engine, QuestionError, search_json, valid_text
from rag.index.store import IndexProblem
from rag.records import Answer, Hit

log = logging.getLogger("rag")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m rag", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (("search", "ranked passages for a question"),
                            ("ask", "an answer with citations"),
                            ("status", "what the index holds")):
        p = sub.add_parser(name, help=help_text)
        if name != "status":
            p.add_argument("question", nargs="?", help="the question; without it, one question a line from stdin")
        p.add_argument("--json", action="store_true", help="machine output (JSON; JSON Lines for stdin)")
        if name == "search":
            p.add_argument("--k", type=int, default=None, help="number of hits (default: top_k)")
        if name == "ask":
            p.add_argument("--llm", dest="llm", default=None, metavar="PATH|URL",
                           help="answer with a local model folder/GGUF file or an OpenAI-compatible URL")
            p.add_argument("--model", dest="llm_model", default=None, metavar="NAME",
                           help="model name for an OpenAI-compatible endpoint")
        Config.add_arguments(p, names=["corpus_dir", "index_dir", "embedder", "top_k", "fusion", "rerank",
                                       "abstain_threshold", "answer_type_check", "chunk_size", "chunk_overlap",
                                       "store"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")

    try:
        engine = Engine(Config.from_args(args))
        if args.command == "status":
            return _status(engine, args.json)
        questions = [args.question] if args.question is not None else _stdin_lines()
        for question in questions:
            try:
                if args.command == "search":
                    _print_hits(question, engine.search(question, args.k), args.json)
                else:
                    _print_answer(_ask_streaming(engine, question, args.json), args.json)
            except IndexProblem:
                raise                       # no index: every later question would fail the same way
            except Exception as exc:        # one line's failure is reported on its line; the batch goes on
                if args.question is not None:
                    raise
                if not isinstance(exc, QuestionError):
                    log.exception("question failed: %s", valid_text(question))
                line = (json.dumps({"question": question, "error": str(exc) or type(exc).__name__},
                                   ensure_ascii=False) if args.json else f"error: {exc}")
                print(valid_text(line), flush=True)
    except (QuestionError, IndexProblem, ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    return 0


def _stdin_lines() -> Iterable[str]:
    """One question a line; bytes that are not UTF-8 become U+FFFD, so a bad
    line is still asked (and says so) and never stops the lines after it."""
    lines = sys.stdin.buffer if hasattr(sys.stdin, "buffer") else sys.stdin
    for line in lines:
        if isinstance(line, bytes):
            line = line.decode("utf-8", errors="replace")
        if line.strip():
            yield line.rstrip("\r\n")


def _ask_streaming(engine: Engine, question: str, as_json: bool) -> Answer:
    """Tokens go to stderr as they come when a person watches (not --json)."""
    shown = 0
    final = None
    for update in engine.ask_stream(question):
        if not as_json and update.answer is None and sys.stderr.isatty():
            sys.stderr.write(update.text[shown:])
            sys.stderr.flush()
            shown = len(update.text)
        final = update.answer or final
    if shown:
        sys.stderr.write("\n")
    return final


def _print_hits(question: str, hits: list[Hit], as_json: bool) -> None:
    if as_json:
        print(json.dumps(search_json(question, hits), ensure_ascii=False), flush=True)
        return
    for h in hits:
        where = f"{h.chunk.doc}" + (f" · {h.chunk.section}" if h.chunk.section else "")
        print(f"[{h.rank}] {h.score:.4f} {where} [{h.chunk.start}:{h.chunk.end}]")
        print("    " + h.chunk.text.replace("\n", " ")[:300])
    print(flush=True)


def _print_answer(answer: Answer, as_json: bool) -> None:
    if as_json:
        print(json.dumps(answer.to_json(), ensure_ascii=False), flush=True)
        return
    if answer.standalone_question:
        print(f"(understood as: {answer.standalone_question})")
    print(answer.answer)
    for c in answer.citations:
        where = c.doc + (f" p. {c.page}" if c.page else "") + (f" · {c.section}" if c.section else "")
        print(f"  [{c.n}] {where} [{c.start}:{c.end}]")
    for s in answer.statements:
        if s.supported is False:
            print(f"  unsupported: {s.text}")
    for note in answer.notes:
        print(f"  note: {note}")
    print(flush=True)


def _status(engine: Engine, as_json: bool) -> int:
    status = engine.status()
    if as_json:
        print(json.dumps(status.to_json(), ensure_ascii=False))
    elif status.ready:
        print(f"{status.documents} documents, {status.chunks} chunks, built {status.built_at} "
              f"with {status.embedder}")
        if status.changed:
            print("changed since: " + ", ".join(status.changed) + " (run `python -m ingest`)")
    else:
        print(status.message)
    return 0 if status.ready else 1


def _exit_now(code: int) -> None:
    """Exit with ``code`` once the output is flushed, without the
    interpreter's teardown: freeing jieba's dictionaries, the tokenizer and
    the ONNX session object by object took 0.6-0.9 s of a cold ``ask``
    after its answer was printed (on 2 cores at load 5). Nothing of the
    command needs a clean-up at exit (the index is only read)."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    _exit_now(main())
