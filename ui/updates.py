"""The vocabulary of a handler's named update, without Gradio.

A handler of the page returns a small dataclass whose fields are named after
the components it updates (``chatbot``, ``sources``, ``status`` ...). A
field's value is one of:

* a plain value: the component's new value;
* :data:`KEEP` (every field's default): leave the component as it is;
* :class:`Change`: set some of the component's properties (visibility,
  choices, interactivity, its label ...), its value among them or not;
* :class:`Samples`: the rows of an examples list, hidden when there are none.

A handler may also return a :class:`Toast`: a passing message and no update.

:mod:`ui.outputs` is the one place that turns these into what Gradio takes,
so the handlers stay plain Python, testable without a server.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, Mapping


class _Keep:
    """The type of :data:`KEEP`; shown by name in a test's failure message."""

    def __repr__(self) -> str:
        return "KEEP"


KEEP: Any = _Keep()
"""Leave the component as it is."""


class Change:
    """New values for some properties of a component: ``Change(visible=False)``,
    ``Change(value=path, interactive=True)``, ``Change(choices=[...], value=None)``."""

    def __init__(self, **props: Any) -> None:
        self.props: dict[str, Any] = props

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Change) and other.props == self.props

    def __repr__(self) -> str:
        return "Change(" + ", ".join(f"{k}={v!r}" for k, v in self.props.items()) + ")"


@dataclass(frozen=True)
class Samples:
    """The rows of an examples list (one question a row); with no rows the
    list is hidden (it still gets one blank row: Gradio needs one)."""

    rows: tuple[tuple[str, ...], ...] = ()

    @classmethod
    def of_questions(cls, questions: list[str]) -> "Samples":
        return cls(tuple((q,) for q in questions))


@dataclass(frozen=True)
class Toast:
    """A passing message (Gradio's Info or Warning), the handler's only effect."""

    message: str
    warning: bool = False


def changed_fields(update: object) -> Mapping[str, Any]:
    """The fields of a named update that change something (not KEEP)."""
    return {f.name: getattr(update, f.name) for f in fields(update) if getattr(update, f.name) is not KEEP}
