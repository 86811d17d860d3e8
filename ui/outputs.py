"""The one place where the handlers' named updates become Gradio's outputs.

``app.py`` wires each event as::

    chat_out = Outputs(chatbot=chatbot, sources=sources, ...)
    ask_btn.click(handler(chat.ask, chat_out), inputs=[...], outputs=chat_out.components)

:func:`handler` wraps a plain handler of :mod:`ui.chat`, :mod:`ui.documents`
or :mod:`ui.settings` so that Gradio gets the list of values it expects, in
the order of ``outputs``; a parameter named ``progress`` gets Gradio's
progress bar. This is the only module of ``ui/`` that imports Gradio.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable, Sequence

import gradio as gr

from ui.updates import KEEP, Change, Samples, Toast, changed_fields


class Outputs:
    """The components an event writes, each under the name of the update
    field that carries its value (a list of components takes a list of
    values, one each), in the order Gradio is given them."""

    def __init__(self, **slots: Any) -> None:
        self.slots = slots

    @property
    def components(self) -> list[Any]:
        flat: list[Any] = []
        for slot in self.slots.values():
            flat.extend(slot if isinstance(slot, (list, tuple)) else [slot])
        return flat

    def values(self, update: Any) -> Any:
        """``update``'s fields as what a Gradio handler returns: the list of
        values, or the value alone when the event writes one component
        (Gradio's rule). A component the update does not change is skipped;
        an update that changes a component this event does not write is a
        wiring mistake, refused."""
        stray = set(changed_fields(update)) - set(self.slots)
        if stray:
            raise ValueError(f"{type(update).__name__} changes {sorted(stray)}, which this event does not output")
        out: list[Any] = []
        for name, slot in self.slots.items():
            value = getattr(update, name)
            if isinstance(slot, (list, tuple)):
                values = [KEEP] * len(slot) if value is KEEP else list(value)
                if len(values) != len(slot):
                    raise ValueError(f"{name}: {len(values)} values for {len(slot)} components")
                out.extend(gradio_value(v) for v in values)
            else:
                out.append(gradio_value(value))
        return out[0] if len(out) == 1 else out


def gradio_value(value: Any) -> Any:
    """One field's value as Gradio takes it."""
    if value is KEEP:
        return gr.skip()
    if isinstance(value, Change):
        return gr.update(**value.props)
    if isinstance(value, Samples):
        rows = [list(row) for row in value.rows]
        return gr.Dataset(samples=rows or [[""]], visible=bool(rows))
    return value


def _show(result: Any, outputs: Outputs | None) -> Any:
    if isinstance(result, Toast):
        (gr.Warning if result.warning else gr.Info)(result.message)
        return None
    if outputs is None:
        return result
    return outputs.values(result)


def handler(fn: Callable[..., Any], outputs: Outputs | None = None) -> Callable[..., Any]:
    """``fn`` as a Gradio event handler writing ``outputs`` (streamed when
    ``fn`` is a generator). Gradio reads the signature to pass the inputs
    and to find a progress bar to inject: the wrapper shows ``fn``'s, with
    Gradio's progress bar as the default of ``progress``."""
    if inspect.isgeneratorfunction(fn):
        def wrapped(*args: Any) -> Any:
            for result in fn(*args):
                yield _show(result, outputs)
    else:
        def wrapped(*args: Any) -> Any:
            return _show(fn(*args), outputs)
    functools.update_wrapper(wrapped, fn)
    del wrapped.__wrapped__        # the signature below is the one Gradio must see
    wrapped.__annotations__ = {}   # fn's hints name types Gradio would not know
    signature = inspect.signature(fn)
    wrapped.__signature__ = signature.replace(parameters=[
        p.replace(default=gr.Progress(), annotation=inspect.Parameter.empty) if p.name == "progress"
        else p.replace(annotation=inspect.Parameter.empty)
        for p in signature.parameters.values()], return_annotation=inspect.Signature.empty)
    return wrapped


def samples_of(rows: Sequence[Sequence[str]]) -> list[list[str]]:
    """Initial rows of an examples list (Gradio needs at least one)."""
    return [list(r) for r in rows] or [[""]]
