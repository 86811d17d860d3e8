"""ui.outputs: named updates become Gradio's outputs in one place; and app.py
wires the page from the engine's own facts (the upload types of the loaders)."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import pytest

gr = pytest.importorskip("gradio")

from fake_engine import FakeEngine, config_for  # noqa: E402

from ingest.loaders import SUPPORTED_SUFFIXES  # noqa: E402
from ui.outputs import Outputs, gradio_value, handler  # noqa: E402
from ui.updates import KEEP, Change, Samples, Toast  # noqa: E402


@dataclass
class Update:
    a: Any = KEEP
    b: Any = KEEP
    many: Any = KEEP


def test_values_follow_the_outputs_order_and_unchanged_components_are_skipped():
    outputs = Outputs(b="B", a="A")
    assert outputs.components == ["B", "A"]
    assert outputs.values(Update(a=1)) == [gr.skip(), 1]


def test_a_list_of_components_takes_one_value_each():
    outputs = Outputs(a="A", many=["M1", "M2"])
    assert outputs.components == ["A", "M1", "M2"]
    assert outputs.values(Update(many=[Change(label="x"), 2])) == [gr.skip(), gr.update(label="x"), 2]
    assert outputs.values(Update(a=0)) == [0, gr.skip(), gr.skip()]
    with pytest.raises(ValueError, match="1 values for 2 components"):
        outputs.values(Update(many=[1]))


def test_an_update_of_a_component_the_event_does_not_write_is_refused():
    with pytest.raises(ValueError, match=r"\['b'\]"):
        Outputs(a="A").values(Update(a=1, b=2))


def test_one_output_gets_its_value_alone_as_gradio_expects():
    assert Outputs(a="A").values(Update(a=[1, 2])) == [1, 2]


def test_changes_and_samples_become_gradio_updates():
    assert gradio_value(Change(visible=False)) == gr.update(visible=False)
    # Gradio applies a returned Dataset's constructor arguments to the page's Dataset.
    shown = gradio_value(Samples((("问题？",),)))
    assert isinstance(shown, gr.Dataset)
    assert shown._constructor_args[0] == {"samples": [["问题？"]], "visible": True}
    assert gradio_value(Samples())._constructor_args[0] == {"samples": [[""]], "visible": False}
    assert gradio_value(None) is None


def test_handler_keeps_the_parameters_gradio_reads_and_injects_its_progress_bar():
    def rebuild(settings, progress=print) -> Update:
        return Update(a=(settings, progress is not print))

    wrapped = handler(rebuild, Outputs(a="A"))
    parameters = inspect.signature(wrapped).parameters
    assert list(parameters) == ["settings", "progress"]
    assert isinstance(parameters["progress"].default, gr.Progress)
    assert wrapped({"lang": "en"}, lambda *a, **k: None) == ({"lang": "en"}, True)


def test_generator_handlers_stay_generators_for_streaming():
    def ask(text):
        yield Update(a=text)
        yield Update(b=text)

    wrapped = handler(ask, Outputs(a="A", b="B"))
    assert inspect.isgeneratorfunction(wrapped)
    assert list(wrapped("q")) == [["q", gr.skip()], [gr.skip(), "q"]]


def test_a_toast_is_shown_and_writes_nothing(monkeypatch):
    shown = []
    monkeypatch.setattr(gr, "Warning", lambda message: shown.append(("warning", message)))
    assert handler(lambda: Toast("nothing", warning=True))() is None
    assert shown == [("warning", "nothing")]


def test_upload_box_accepts_exactly_the_file_types_the_loaders_read(tmp_path):
    """One home for the list of loadable suffixes: the loaders."""
    import app

    demo = app.build_app(FakeEngine(config_for(tmp_path)))
    (upload,) = [b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "upload"]
    assert sorted(upload.file_types) == sorted(SUPPORTED_SUFFIXES)
    assert not hasattr(app, "SUPPORTED_UPLOADS")


def test_every_event_writes_through_a_named_update_and_the_public_api_is_unchanged(tmp_path):
    import app

    demo = app.build_app(FakeEngine(config_for(tmp_path)))
    public = {fn.api_name for fn in demo.fns.values() if fn.api_visibility == "public"}
    assert public == {"ask", "rebuild", "full_rebuild", "upload", "delete", "status"}
