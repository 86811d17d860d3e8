"""The import graph of the project's own modules: layers that import one way.

lang (language rules) <- ingest (documents, chunks) <- rag (models, index,
retrieve, answer, engine) <- ui, api, app.py, bench; nothing imports api but
app.py, which serves it. Every import counts: deferred
ones inside functions (a deferred import hides a cycle, it does not remove
it) and those under ``if TYPE_CHECKING:`` (a type named across a cycle is a
dependency all the same).
"""

from __future__ import annotations

import ast
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("lang", "ingest", "rag", "ui", "api", "bench")
# What each layer may import of the project (besides itself).
ALLOWED = {
    "lang": set(),
    "ingest": {"lang"},
    "rag": {"lang", "ingest"},
    "ui": {"lang", "ingest", "rag"},
    "api": {"lang", "ingest", "rag"},
    "bench": {"lang", "ingest", "rag"},
    "app": {"lang", "ingest", "rag", "ui", "api"},
}
# Command-line shells may call the engine above them.
SHELLS = {"ingest.__main__": {"rag"}}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found = {"app": PROJECT_ROOT / "app.py"}
    for package in PACKAGES:
        for path in (PROJECT_ROOT / package).rglob("*.py"):
            found[_module_name(path)] = path
    return found


def _imports(path: Path, known: set[str]) -> set[str]:
    """The project modules ``path`` imports (``from a.b import c`` counts as
    ``a.b.c`` when that is a module, else ``a.b``)."""
    tree = ast.parse(path.read_text("utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in known else node.module
                     for a in node.names]
        else:
            continue
        for name in names:
            while name and name not in known:
                name = name.rpartition(".")[0]
            if name:
                out.add(name)
    return out


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    known = set(modules)
    return {name: _imports(path, known) - {name} for name, path in modules.items()}


def _layer(module: str) -> str:
    return module.split(".")[0]


def test_each_layer_imports_only_the_layers_below_it():
    wrong = []
    for module, imported in _graph().items():
        allowed = ALLOWED[_layer(module)] | SHELLS.get(module, set()) | {_layer(module)}
        wrong += [f"{module} -> {target}" for target in sorted(imported) if _layer(target) not in allowed]
    assert not wrong, "imports against the layering:\n" + "\n".join(wrong)


def test_the_import_graph_has_no_cycle():
    graph = _graph()
    # A package's __init__ that imports nothing makes no cycle with its modules.
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def test_the_checker_sees_deferred_and_type_checking_imports(tmp_path):
    """The graph would be worthless if imports inside functions were missed."""
    module = tmp_path / "m.py"
    module.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import rag.config\n"
                      "def f():\n    from rag.engine import Engine\n", "utf-8")
    assert _imports(module, {"rag", "rag.engine", "rag.config"}) == {"rag.engine", "rag.config"}
