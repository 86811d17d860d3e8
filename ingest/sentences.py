"""Text to sentences, as ``(start, end)`` spans of the text.

Sentences are what chunks are packed from, what headings are recognised in,
and what answers quote; queries are split the same way at question time, so
the rule lives in this one pure module. Spans index the text as given:
``text[s.start:s.end] == s.text`` holds exactly; nothing is normalised.
"""

from __future__ import annotations

import re

from ingest.records import Sentence
from lang.scripts import is_ideograph

# Characters that end a sentence. ASCII ones count only in context (see
# _ends_here): scraped Chinese text often carries ASCII punctuation.
_ENDERS = "。！？；…!?;.．"
# Closers that belong to the sentence they close: 他说：“走吧。” is one sentence.
_CLOSERS = "”’」』）)》〉】]\"'"
_QUOTE_OPEN = "“「『"
_QUOTE_CLOSE = "”」』"
# A 。 inside “…” does not end the sentence: the quote is part of it. But a
# quote that stays open this long is a long quotation or a lost closing mark
# (scrapes drop them), and one "sentence" of a whole paragraph helps no one.
QUOTE_MAX_CHARS = 120

_INTERESTING = re.compile("[\n\r" + re.escape(_ENDERS + _QUOTE_OPEN + _QUOTE_CLOSE) + "]")
_LIST_MARKER = re.compile(r"\d{1,3}|[A-Za-z]|[ivxlcIVXLC]{1,5}")
_ABBREVIATIONS = frozenset({"mr", "mrs", "ms", "dr", "prof", "st", "jr", "sr", "vs", "etc", "inc", "ltd",
                            "co", "no", "fig", "vol", "pp", "al", "approx", "dept", "e.g", "i.e"})
_LAST_WORD = re.compile(r"([A-Za-z][A-Za-z.]*)$")


def split_sentences(text: str, start: int = 0, end: int | None = None) -> list[Sentence]:
    """Sentences of ``text[start:end]``, with offsets into ``text``.

    Splits after 。！？；… (and runs of them, "……", "？！"), after ASCII
    ``. ! ?`` followed by whitespace (or ``! ? ;`` between Chinese characters,
    as scrapes write them), and at every line break. Closing quotes and
    brackets stay with the sentence they close; a sentence end inside an
    open Chinese quote “…” does not split unless the quote has been open for
    more than QUOTE_MAX_CHARS. Spans are stripped of surrounding whitespace;
    empty ones are dropped. Pure and linear: also used at query time.
    """
    end = len(text) if end is None else min(end, len(text))
    out: list[Sentence] = []
    seg = start
    depth = 0
    quote_at = 0
    skip_to = start
    for m in _INTERESTING.finditer(text, start, end):
        i = m.start()
        if i < skip_to:
            continue
        c = text[i]
        if c == "\n" or c == "\r":
            _emit(text, seg, i, out)
            seg = i + 1
            depth = 0
            continue
        if c in _QUOTE_OPEN:
            if depth == 0:
                quote_at = i
            depth += 1
            continue
        if c in _QUOTE_CLOSE:
            depth = max(0, depth - 1)
            continue
        if not _ends_here(text, i, seg, end):
            continue
        j = i + 1
        while j < end and text[j] in _ENDERS:
            j += 1
        while j < end and text[j] in _CLOSERS:
            if text[j] in _QUOTE_CLOSE:
                depth = max(0, depth - 1)
            j += 1
        skip_to = j
        if depth > 0 and i - quote_at <= QUOTE_MAX_CHARS:
            continue
        _emit(text, seg, j, out)
        seg = j
        depth = 0
    _emit(text, seg, end, out)
    return out


def _ends_here(text: str, i: int, seg: int, end: int) -> bool:
    c = text[i]
    if c in "。！？；…":
        return True
    if c == "．":   # a full stop in some Chinese typesetting, but also "1．" of a list
        return not _LIST_MARKER.fullmatch(text[seg:i].strip())
    nxt = text[i + 1] if i + 1 < end else ""
    if c == ".":
        # "3.5", "e.g. the", and the "1." of a numbered list are not ends.
        if nxt and not nxt.isspace() and nxt not in _CLOSERS:
            return False
        if _LIST_MARKER.fullmatch(text[seg:i].strip()):
            return False
        word = _LAST_WORD.search(text, max(seg, i - 12), i)
        if word and word.group(1).lower() in _ABBREVIATIONS:
            return False
        after = text[i + 1:i + 3].lstrip()
        return not (after and after[0].islower())
    # ! ? ; : an end before whitespace, or between Chinese characters (where
    # a scrape turned ！？； into ASCII).
    if not nxt or nxt.isspace() or nxt in _CLOSERS:
        return True
    return is_ideograph(nxt) and i > 0 and is_ideograph(text[i - 1])


def _emit(text: str, a: int, b: int, out: list[Sentence]) -> None:
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    if a < b:
        out.append(Sentence(a, b, text[a:b]))
