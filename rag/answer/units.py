"""The units an answer quotes and a verifier checks: sentences, cut further
at semicolons.

Chinese writing packs enumerations into one long sentence joined by
semicolons ("一是…;二是…;三是…"), so a whole sentence is often far longer
than the fact a question asks for. Cutting at semicolons keeps every unit a
verbatim span of the document while letting an answer quote just the clause
that matters (and a list answer gather its items clause by clause).
"""

from __future__ import annotations

import re

from ingest.records import Sentence
from ingest.sentences import split_sentences

_CLAUSE_END = re.compile(r"[;；]")
# Characters trimmed from the edges of a unit: a quote should start at a word
# and need no separator of the text around it.
_EDGE = " \t\r\n\u3000;；,，、"


def units(text: str, start: int = 0) -> list[Sentence]:
    """Sentences of ``text`` split at semicolons, with absolute offsets:
    ``text[u.start - start:u.end - start] == u.text`` for every unit.
    The semicolon itself is left out of the unit it ends."""
    out: list[Sentence] = []
    for sentence in split_sentences(text):
        lo = 0
        body = sentence.text
        for m in _CLAUSE_END.finditer(body):
            _add(out, body, lo, m.start(), sentence.start + start)
            lo = m.end()
        _add(out, body, lo, len(body), sentence.start + start)
    return out


def _add(out: list[Sentence], body: str, lo: int, hi: int, offset: int) -> None:
    while lo < hi and body[lo] in _EDGE:
        lo += 1
    while hi > lo and body[hi - 1] in _EDGE:
        hi -= 1
    if hi > lo:
        out.append(Sentence(offset + lo, offset + hi, body[lo:hi]))
