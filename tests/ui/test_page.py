"""ui.page: what the tabs share; and that the UI reaches the engine through
its public API alone (the scripted engine of these tests included)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest
from fake_engine import FakeEngine, config_for

from rag.engine import Engine
from rag.index.store import IndexMissing
from ui.page import Page
from ui.updates import Change

PROJECT_ROOT = Path(__file__).resolve().parents[2]
# What the UI may import of rag/: the engine's API, its settings and the
# records it returns; and the progress reports its rebuild passes along.
UI_MAY_IMPORT = {"rag.engine": None, "rag.config": None, "rag.records": None,
                 "rag.index.progress": {"BuildProgress", "Stage"}}


@pytest.fixture
def engine(tmp_path) -> FakeEngine:
    return FakeEngine(config_for(tmp_path))


def test_examples_ask_about_the_indexed_section_headings(engine):
    rows = Page(engine).examples().rows
    assert ("文中关于“组织部门的职能”是怎么说的？",) in rows


def test_without_an_index_there_are_no_examples_and_no_source_context(engine):
    engine.problem = IndexMissing("no index")
    page = Page(engine)
    assert page.examples().rows == () and page.source_context() is None


def test_source_context_is_made_once_per_index_version(engine):
    page = Page(engine)
    first = page.source_context()
    assert page.source_context() is first
    engine.version = "v-2"
    assert page.source_context() is not first
    assert first.section_span("essay.txt", first.chunks[0].start)[2] == "一、组织部门的职能"


def test_status_fields_show_the_rebuild_button_only_when_needed(engine):
    assert Page(engine).status_fields("zh")["rebuild_top"] == Change(visible=False)
    engine.problem = IndexMissing("no index")
    fields = Page(engine).status_fields("zh")
    assert fields["rebuild_top"] == Change(visible=True) and "没有可用的索引" in fields["status"]


def test_custom_llm_endpoints_are_allowed_only_on_a_loopback_host(tmp_path):
    assert Page(FakeEngine(config_for(tmp_path))).allow_custom_endpoint is True
    shared = FakeEngine(config_for(tmp_path, host="0.0.0.0", auth="ann:secret"))
    assert Page(shared).allow_custom_endpoint is False


def test_fake_engine_matches_the_engine():
    """The handlers' tests are worth what the stand-in is: each method it
    scripts must exist on the Engine with the same parameters."""
    for name, member in vars(FakeEngine).items():
        if name.startswith("_") or not callable(member):
            continue
        assert hasattr(Engine, name), f"Engine has no {name}"
        real = [p.name for p in inspect.signature(getattr(Engine, name)).parameters.values()]
        fake = [p.name for p in inspect.signature(member).parameters.values()]
        assert fake == real, f"{name}: {fake} != {real}"


def _rag_imports(path: Path) -> list[tuple[str, str]]:
    """(module, name) for each ``from rag... import name`` and ``import rag...`` in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "rag":
            found += [(node.module, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            found += [(alias.name, "") for alias in node.names if alias.name.split(".")[0] == "rag"]
    return found


def test_the_ui_reaches_the_engine_through_its_public_api_only():
    """No index store, retriever or build internals in app.py or ui/: what
    the UI shows, the CLI can ask the engine for too."""
    wrong = []
    for path in [PROJECT_ROOT / "app.py", *sorted((PROJECT_ROOT / "ui").glob("*.py"))]:
        source = path.read_text("utf-8")
        for internal in (".retriever()", ".store", "._store", "._retriever"):
            if internal in source:
                wrong.append(f"{path.name}: uses {internal}")
        for module, name in _rag_imports(path):
            allowed = UI_MAY_IMPORT.get(module, set())
            if module not in UI_MAY_IMPORT or (allowed is not None and name not in allowed):
                wrong.append(f"{path.name}: from {module} import {name}")
    assert not wrong, "\n".join(wrong)
