"""Citation markers: the ``[n]`` after a statement that names the passage
it comes from.

One grammar for the verifier that checks a marker's passages and the page
that links a marker to them, so whatever is checked is also clickable.
Answers (an LLM's especially) write markers several ways: ``[1]``,
``[1][2]``, ``[1, 2]``, ``[1，2]``, ``[1、2]`` and full-width ``【1】``. A
number has at most three digits: ``[2024]`` is a year in brackets, not the
two-thousandth passage.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

MARKER = re.compile(r"[\[【]\s*(\d{1,3}(?:\s*[,，、]\s*\d{1,3})*)\s*[\]】]")
_SEPARATOR = re.compile(r"\s*[,，、]\s*")


@dataclass(frozen=True)
class CitationMarker:
    """A marker found in a text: where it stands and the passages it names,
    in the order written."""

    start: int
    end: int
    numbers: tuple[int, ...]


def marker_numbers(match: re.Match[str]) -> tuple[int, ...]:
    """The passage numbers of a :data:`MARKER` match."""
    return tuple(int(x) for x in _SEPARATOR.split(match.group(1)))


def find_markers(text: str) -> Iterator[CitationMarker]:
    """The citation markers of ``text``, in order."""
    for m in MARKER.finditer(text):
        yield CitationMarker(m.start(), m.end(), marker_numbers(m))


def strip_markers(text: str) -> str:
    """``text`` without its citation markers."""
    return MARKER.sub("", text)
