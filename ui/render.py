"""HTML and Markdown for answers, sources, the status line and the documents
table. Pure functions of the engine's records: no Gradio, no I/O.

Every string that comes from a document (passage text, titles, file names,
sections) or from the user goes through :func:`esc` before it is put into
HTML; the only markup in the output is the markup written here.

Element ids: the passage cited as ``[n]`` in the answer to question ``turn``
is ``#src-<turn>-<n>``; a retrieved passage that was not cited is
``#src-<turn>-h<rank>``. A marker ``[n]`` in an answer is an
``<a class="cite" href="#src-<turn>-<n>">``; the page's script
(``ui/assets/cite.js``) scrolls to and highlights its target on click.
"""

from __future__ import annotations

import bisect
import html
import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

from ingest.records import Chunk
from lang.citations import MARKER, marker_numbers, strip_markers
from rag.records import Answer, Citation, Hit
from ui.i18n import note_text, t

NEIGHBOUR_CHARS = 240          # document text shown on each side of a passage
SECTION_MAX_CHARS = 6000       # a whole section longer than this is cut around the passage

_SENTENCE_END = re.compile(r"[。！？!?；;\n]|\.(?=\s)")


def esc(text: object) -> str:
    """HTML-escaped text (quotes too, so it is safe in attributes)."""
    return html.escape("" if text is None else str(text), quote=True)


def _lines(escaped: str) -> str:
    return escaped.replace("\r\n", "\n").replace("\n", "<br>")


# --- answers ---------------------------------------------------------------


def link_markers(escaped: str, turn: int, valid: Iterable[int] | None = None) -> str:
    """Turn the citation markers of already-escaped text into links to the
    sources panel: every marker the verifier reads (``[1]``, ``[1, 2]``,
    ``【1】``: :mod:`lang.citations`) becomes one ``[n]`` link per number.
    With ``valid``, only those numbers are linked (a document sentence
    quoting its own "[3]" stays text)."""
    allowed = None if valid is None else set(valid)

    def link(m: re.Match) -> str:
        numbers = list(dict.fromkeys(marker_numbers(m)))
        if allowed is not None and allowed.isdisjoint(numbers):
            return m.group(0)
        return "".join(f'<a class="cite" href="#src-{turn}-{n}" data-cite="{n}">[{n}]</a>'
                       if allowed is None or n in allowed else f"[{n}]" for n in numbers)

    return MARKER.sub(link, escaped)


def statement_spans(text: str, statements: Sequence[str]) -> tuple[list[tuple[int, int]], list[str]]:
    """Where each statement occurs in ``text`` (searched in order), and the
    statements that could not be found there."""
    spans: list[tuple[int, int]] = []
    missing: list[str] = []
    cursor = 0
    for s in statements:
        needle = s.strip()
        if not needle:
            continue
        at = text.find(needle, cursor)
        if at < 0:
            at = text.find(needle)
        if at < 0:
            bare = strip_markers(needle).strip()
            at = text.find(bare) if bare else -1
            needle = bare
        if at < 0:
            missing.append(s)
            continue
        spans.append((at, at + len(needle)))
        cursor = at + len(needle)
    spans.sort()
    merged: list[tuple[int, int]] = []
    for a, b in spans:
        if merged and a < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
        else:
            merged.append((a, b))
    return merged, missing


def render_answer(text: str, answer: Answer | None, turn: int, lang: str) -> str:
    """The assistant's message: the (growing) answer with linked markers; when
    final, the rewritten question, unsupported statements marked, and notes."""
    if answer is None:
        body = _lines(link_markers(esc(text), turn))
        return f'<div class="answer streaming">{body}<span class="cursor">▍</span></div>'
    parts = []
    if answer.standalone_question:
        parts.append(f'<div class="understood">{esc(t("understood_as", lang, q=answer.standalone_question))}</div>')
    valid = {c.n for c in answer.citations}
    unsupported = [s.text for s in answer.statements if s.supported is False]
    spans, missing = statement_spans(answer.answer, unsupported)
    pieces = []
    cursor = 0
    label = esc(t("unsupported", lang))
    for a, b in spans:
        pieces.append(_lines(link_markers(esc(answer.answer[cursor:a]), turn, valid)))
        pieces.append(f'<span class="unsupported" title="{label}">'
                      f'{_lines(link_markers(esc(answer.answer[a:b]), turn, valid))}</span>'
                      f'<sup class="unsupported-flag">⚠ {label}</sup>')
        cursor = b
    pieces.append(_lines(link_markers(esc(answer.answer[cursor:]), turn, valid)))
    cls = "answer done abstained" if answer.abstained else "answer done"
    parts.append(f'<div class="{cls}">{"".join(pieces)}</div>')
    if unsupported:
        extra = "".join(f"<li>{esc(s)}</li>" for s in missing)
        parts.append(f'<div class="unsupported-summary">⚠ {esc(t("unsupported_summary", lang, n=len(unsupported)))}'
                     + (f"<ul>{extra}</ul>" if extra else "") + "</div>")
    for note in answer.notes:
        parts.append(f'<div class="note">{esc(t("note", lang, note=note_text(note, lang)))}</div>')
    return "".join(parts)


def render_question(question: str) -> str:
    """The user's message as HTML (the chat shows messages as HTML)."""
    return _lines(esc(question))


def render_error(message: str) -> str:
    return f'<div class="answer done error">{_lines(esc(message))}</div>'


# --- sources ---------------------------------------------------------------


@dataclass
class SourceContext:
    """What the sources panel reads from the serving index besides the answer:
    each document's text, the chunks by id, and the runs of consecutive
    chunks that share a section (for "whole section")."""

    texts: Mapping[str, str] = field(default_factory=dict)
    chunks: Mapping[int, Chunk] = field(default_factory=dict)
    sections: Mapping[str, list[tuple[int, int, str]]] = field(default_factory=dict)

    @classmethod
    def from_chunks(cls, texts: Mapping[str, str], chunks: Iterable[Chunk]) -> "SourceContext":
        by_id: dict[int, Chunk] = {}
        runs: dict[str, list[tuple[int, int, str]]] = {}
        for c in sorted(chunks, key=lambda c: (c.doc, c.start, c.id)):
            by_id[c.id] = c
            doc_runs = runs.setdefault(c.doc, [])
            if doc_runs and doc_runs[-1][2] == c.section and c.start <= doc_runs[-1][1] + 2000:
                s, e, name = doc_runs[-1]
                doc_runs[-1] = (s, max(e, c.end), name)
            else:
                doc_runs.append((c.start, c.end, c.section))
        return cls(texts=texts, chunks=by_id, sections=runs)

    @classmethod
    def from_contents(cls, contents) -> "SourceContext":
        """From what the serving index holds (:meth:`rag.engine.Engine.contents`)."""
        return cls.from_chunks({p: d.text for p, d in contents.documents.items()}, contents.chunks)

    def section_span(self, doc: str, offset: int) -> tuple[int, int, str] | None:
        runs = self.sections.get(doc) or []
        starts = [r[0] for r in runs]
        i = bisect.bisect_right(starts, offset) - 1
        if i >= 0 and runs[i][0] <= offset < runs[i][1]:
            return runs[i]
        return None


def neighbour_span(text: str, start: int, end: int, chars: int = NEIGHBOUR_CHARS) -> tuple[int, int]:
    """About ``chars`` characters of ``text`` on each side of ``[start, end)``,
    widened or narrowed to a sentence boundary where one is near."""
    lo = max(0, start - chars)
    if lo > 0:
        m = _SENTENCE_END.search(text, lo, start)
        if m and m.end() <= start:
            lo = m.end()
    hi = min(len(text), end + chars)
    if hi < len(text):
        last = None
        for m in _SENTENCE_END.finditer(text, end, hi):
            last = m
        if last is not None:
            hi = last.end()
    return lo, hi


def marked_html(text: str, base: int, lo: int, hi: int, cite: tuple[int, int] | None = None,
                passage: tuple[int, int] | None = None) -> str:
    """``text`` (whose first character is at document offset ``base``) from
    offset ``lo`` to ``hi``, escaped, with ``cite`` in ``<mark>`` and, when
    given, ``passage`` in ``<span class="ctx-passage">``. Offsets are
    document offsets; spans are clipped to ``[lo, hi)``."""
    lo = max(lo, base)
    hi = min(hi, base + len(text))
    cuts = {lo, hi}
    for span in (cite, passage):
        if span:
            cuts.update(x for x in span if lo < x < hi)
    points = sorted(cuts)
    out = []
    for a, b in zip(points, points[1:]):
        piece = _lines(esc(text[a - base:b - base]))
        if cite and cite[0] <= a and b <= cite[1] and cite[0] < cite[1]:
            piece = f"<mark>{piece}</mark>"
        if passage and passage[0] <= a and b <= passage[1]:
            piece = f'<span class="ctx-passage">{piece}</span>'
        out.append(piece)
    return "".join(out)


def _retriever_label(retrievers: Sequence[str], lang: str) -> str:
    kinds = set(retrievers)
    if {"dense", "lexical"} <= kinds:
        return t("retriever_both", lang)
    if "dense" in kinds:
        return t("retriever_dense", lang)
    if "lexical" in kinds:
        return t("retriever_lexical", lang)
    return ", ".join(retrievers)


def _cite_span(citation: Citation, chunk: Chunk | None, doc_text: str | None) -> tuple[int, int]:
    """The citation's document offsets, checked against the text at hand
    (an index rebuilt since the answer may have moved it)."""
    start, end = citation.start, citation.end
    if doc_text is not None and doc_text[start:end] == citation.text:
        return start, end
    if chunk is not None:
        if chunk.text[start - chunk.start:end - chunk.start] == citation.text:
            return start, end
        at = chunk.text.find(citation.text.strip())
        if at >= 0:
            return chunk.start + at, chunk.start + at + len(citation.text.strip())
    if doc_text is not None:
        at = doc_text.find(citation.text.strip())
        if at >= 0:
            return at, at + len(citation.text.strip())
    return start, end


def _card(anchor: str, label: str, *, title: str, doc: str, page: int | None, section: str,
          score: float | None, retrievers: Sequence[str], passage_html: str, context_html: str,
          section_html: str, section_name: str, lang: str, cited: bool) -> str:
    where = esc(doc) + (f' · {esc(t("page", lang, n=page))}' if page else "")
    meta = []
    if section:
        meta.append(f'<span class="src-section">§ {esc(section)}</span>')
    if score is not None:
        meta.append(f'<span class="src-score">{esc(t("relevance", lang, score=f"{score:.3f}"))}</span>')
    if retrievers:
        meta.append(f'<span class="src-retrievers">{esc(t("found_by", lang, how=_retriever_label(retrievers, lang)))}'
                    "</span>")
    details = ""
    if context_html:
        details += (f'<details class="src-context"><summary>{esc(t("context", lang))}</summary>'
                    f'<div class="src-text">{context_html}</div></details>')
    if section_html:
        summary = t("whole_section", lang, section=section_name) if section_name else t("whole_document", lang)
        details += (f'<details class="src-section-text"><summary>{esc(summary)}</summary>'
                    f'<div class="src-text">{section_html}</div></details>')
    cls = "src cited" if cited else "src"
    return (f'<article class="{cls}" id="{esc(anchor)}">'
            f'<header class="src-head"><span class="src-n">{esc(label)}</span> '
            f'<span class="src-title">{esc(title)}</span> <span class="src-file">{where}</span></header>'
            f'<div class="src-meta">{" · ".join(meta)}</div>'
            f'<blockquote class="src-passage">{passage_html}</blockquote>{details}</article>')


def _surroundings(ctx: SourceContext | None, doc: str, passage: tuple[int, int],
                  cite: tuple[int, int] | None) -> tuple[str, str, str]:
    """(context html, section html, section name) around a passage."""
    text = ctx.texts.get(doc) if ctx else None
    if text is None:
        return "", "", ""
    lo, hi = neighbour_span(text, *passage)
    context = ""
    if lo < passage[0] or hi > passage[1]:
        context = (("…" if lo > 0 else "") + marked_html(text, 0, lo, hi, cite, passage)
                   + ("…" if hi < len(text) else ""))
    run = ctx.section_span(doc, passage[0])
    if run is None:
        return context, "", ""
    s, e, name = run
    if (s, e) == (lo, hi) or (e - s) <= (passage[1] - passage[0]):
        return context, "", name
    if e - s > SECTION_MAX_CHARS:
        half = SECTION_MAX_CHARS // 2
        middle = (passage[0] + passage[1]) // 2
        s2, e2 = max(s, middle - half), min(e, middle + half)
        body = (("…" if s2 > s else "") + marked_html(text, 0, s2, e2, cite, passage) + ("…" if e2 < e else ""))
    else:
        body = marked_html(text, 0, s, e, cite, passage)
    return context, body, name


def render_citation(c: Citation, hit: Hit | None, ctx: SourceContext | None, turn: int, lang: str) -> str:
    """The card of the passage cited as ``[c.n]``."""
    chunk = hit.chunk if hit is not None else (ctx.chunks.get(c.chunk_id) if ctx else None)
    if chunk is not None and chunk.doc != c.doc:
        chunk = None
    doc_text = ctx.texts.get(c.doc) if ctx else None
    cite = _cite_span(c, chunk, doc_text)
    if chunk is not None and chunk.start <= cite[0] and cite[1] <= chunk.end:
        passage = (chunk.start, chunk.end)
        passage_html = marked_html(chunk.text, chunk.start, *passage, cite=cite)
    elif chunk is not None and doc_text is not None:
        passage = (min(chunk.start, cite[0]), max(chunk.end, cite[1]))
        passage_html = marked_html(doc_text, 0, *passage, cite=cite)
    else:
        passage = cite
        passage_html = f"<mark>{_lines(esc(c.text))}</mark>"
    context, section_html, section_name = _surroundings(ctx, c.doc, passage, cite)
    score = c.score if c.score else (hit.score if hit is not None else None)
    return _card(f"src-{turn}-{c.n}", f"[{c.n}]", title=c.title or c.doc, doc=c.doc, page=c.page,
                 section=c.section, score=score, retrievers=hit.retrievers if hit else (),
                 passage_html=passage_html, context_html=context, section_html=section_html,
                 section_name=section_name or c.section, lang=lang, cited=True)


def render_hit(hit: Hit, ctx: SourceContext | None, turn: int, lang: str) -> str:
    """The card of a retrieved passage that no marker cites."""
    c = hit.chunk
    passage = (c.start, c.end)
    context, section_html, section_name = _surroundings(ctx, c.doc, passage, None)
    return _card(f"src-{turn}-h{hit.rank}", f"#{hit.rank}", title=c.title or c.doc, doc=c.doc, page=c.page,
                 section=c.section, score=hit.score, retrievers=hit.retrievers,
                 passage_html=_lines(esc(c.text)), context_html=context, section_html=section_html,
                 section_name=section_name or c.section, lang=lang, cited=False)


def render_turn_sources(answer: Answer, turn: int, ctx: SourceContext | None, lang: str) -> str:
    """The sources of one answer: its citations in marker order; for an
    abstained answer (no citations), the nearest passages; then, folded, the
    other retrieved passages."""
    hits_by_chunk = {h.chunk.id: h for h in answer.hits}
    parts = []
    if answer.citations:
        for c in sorted(answer.citations, key=lambda c: c.n):
            parts.append(render_citation(c, hits_by_chunk.get(c.chunk_id), ctx, turn, lang))
        cited_chunks = {c.chunk_id for c in answer.citations}
        others = [h for h in answer.hits if h.chunk.id not in cited_chunks]
        if others:
            parts.append(f'<details class="other-hits"><summary>{esc(t("other_hits", lang, n=len(others)))}'
                         "</summary>" + "".join(render_hit(h, ctx, turn, lang) for h in others) + "</details>")
    elif answer.hits:
        parts.append(f'<div class="abstained-note">{esc(t("abstained_sources", lang))}</div>')
        parts.extend(render_hit(h, ctx, turn, lang) for h in answer.hits)
    return "".join(parts)


def render_sources_panel(turns: Sequence[tuple[int, str, str]], lang: str) -> str:
    """The whole panel from ``(turn, question, turn html)`` rows, oldest
    first: the latest turn open at the top, earlier ones folded below."""
    if not turns:
        return f'<div class="sources-empty">{esc(t("sources_empty", lang))}</div>'
    latest, earlier = turns[-1], list(reversed(turns[:-1]))
    out = [f'<section class="turn-sources latest" data-turn="{latest[0]}">'
           f'<h4 class="turn-q">{esc(t("turn_heading", lang, n=latest[0], q=latest[1]))}</h4>{latest[2]}</section>']
    if earlier:
        out.append(f'<h4 class="earlier">{esc(t("earlier_turns", lang))}</h4>')
        for n, question, body in earlier:
            out.append(f'<details class="turn-sources" data-turn="{n}"><summary>'
                       f'{esc(t("turn_heading", lang, n=n, q=question))}</summary>{body}</details>')
    return "".join(out)


# --- Markdown (copy and export) ---------------------------------------------


def citation_line(c: Citation, lang: str) -> str:
    where = [c.doc]
    if c.page:
        where.append(t("page", lang, n=c.page))
    if c.section:
        where.append(f"§ {c.section}")
    quote = " ".join(c.text.split())
    title = f"{c.title} — " if c.title and c.title != c.doc else ""
    return f"[{c.n}] {title}{', '.join(where)}: “{quote}”"


def answer_markdown(answer: Answer, lang: str) -> str:
    """An answer as Markdown: the text with its ``[n]`` markers, unsupported
    statements flagged, then one line per citation."""
    lines = [answer.answer.strip()]
    unsupported = [s.text for s in answer.statements if s.supported is False]
    if unsupported:
        lines.append("")
        lines.extend(f"> ⚠ {t('md_unsupported', lang)} {' '.join(s.split())}" for s in unsupported)
    if answer.citations:
        lines.append("")
        lines.append(t("md_sources", lang))
        lines.append("")
        lines.extend(f"- {citation_line(c, lang)}" for c in sorted(answer.citations, key=lambda c: c.n))
    return "\n".join(lines) + "\n"


def conversation_markdown(turns: Sequence[tuple[str, Answer | str]], lang: str, when: str = "") -> str:
    """The whole conversation as a Markdown document."""
    out = [f"# {t('md_title', lang)}", ""]
    if when:
        out += [when, ""]
    for i, (question, answer) in enumerate(turns, start=1):
        out += [f"## {t('md_question', lang)} {i}: {' '.join(question.split())}", ""]
        if isinstance(answer, Answer):
            if answer.standalone_question:
                out += [f"_{t('understood_as', lang, q=answer.standalone_question)}_", ""]
            out.append(f"**{t('md_answer', lang)}:** " + answer_markdown(answer, lang))
        else:
            out += [f"**{t('md_answer', lang)}:** {answer}", ""]
    return "\n".join(out).rstrip() + "\n"


# --- header, status line and documents table --------------------------------


def render_header(lang: str) -> str:
    return f'<div id="app-header"><h1>{esc(t("title", lang))}</h1><p>{esc(t("subtitle", lang))}</p></div>'


def render_status(status, lang: str) -> str:
    """The index status line from an :class:`rag.engine.IndexStatus`."""
    if not status.ready:
        return (f'<div class="status bad" role="status"><b>⚠ {esc(t("status_missing", lang))}</b>: '
                f'{esc(status.message)} <span class="status-fix">{esc(t("status_fix", lang))}</span></div>')
    text = t("status_ready", lang, documents=status.documents, chunks=status.chunks,
             built_at=short_time(status.built_at))
    parts = [f'<span class="status-ok">✓ {esc(text)}</span>']
    cls = "status ok"
    if status.changed:
        cls = "status stale"
        names = ", ".join(status.changed[:5]) + (" …" if len(status.changed) > 5 else "")
        parts.append(f'<span class="status-changed" title="{esc(names)}">⚠ '
                     f'{esc(t("status_changed", lang, n=len(status.changed)))}</span>')
    if status.message:
        parts.append(f'<span class="status-msg">{esc(t("status_warning", lang))}: {esc(status.message)}</span>')
    return f'<div class="{cls}" role="status">' + " · ".join(parts) + "</div>"


def needs_rebuild(status) -> bool:
    return (not status.ready) or bool(status.changed)


def short_time(iso: str) -> str:
    """``2025-01-02T03:04:05+00:00`` -> ``2025-01-02 03:04 UTC``."""
    if not iso:
        return ""
    m = re.match(r"(\d{4}-\d\d-\d\d)T(\d\d:\d\d)(?::\d\d(?:\.\d+)?)?(\+00:00|Z)?", iso)
    if not m:
        return iso
    return f"{m.group(1)} {m.group(2)}" + (" UTC" if m.group(3) else "")


def human_size(size: int) -> str:
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KB"
    return f"{size / 1024 / 1024:.1f} MB"


DOCUMENT_COLUMNS = ("col_file", "col_title", "col_format", "col_size", "col_chunks", "col_indexed", "col_status")


def document_rows(documents: Sequence, lang: str) -> list[list[object]]:
    """Rows of the documents table from :class:`rag.engine.DocumentStatus`.
    Cells are plain text (the table shows them as text, not HTML)."""
    rows = []
    for d in documents:
        status = t(f"doc_{d.status}", lang, reason=d.reason) if d.status == "failed" else \
            t(f"doc_{d.status}", lang) if f"doc_{d.status}" in _DOC_STATUS_KEYS else d.status
        rows.append([d.path, d.title, d.format, human_size(d.size), d.chunks, short_time(d.indexed_at), status])
    return rows


_DOC_STATUS_KEYS = {"doc_indexed", "doc_changed", "doc_new", "doc_failed", "doc_removed"}
