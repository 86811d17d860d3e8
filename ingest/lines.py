"""Lines of a text with their offsets.

Markdown headings and front matter are found line by line, and both must
report offsets into the text as loaded (``\\r\\n`` kept), so they share this
one way of cutting a text into lines.
"""

from __future__ import annotations


def iter_lines(text: str):
    """(start, end, line) for each line of text; end excludes the line break."""
    pos = 0
    n = len(text)
    while pos <= n:
        nl = text.find("\n", pos)
        end = n if nl < 0 else nl
        line = text[pos:end]
        if line.endswith("\r"):
            line = line[:-1]
        yield pos, pos + len(line), line
        if nl < 0:
            break
        pos = nl + 1
