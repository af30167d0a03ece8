"""The shape of the code: no import circles, and imports only point down the layers.

Read from the source with `ast`, function-level imports included (an import moved into a
function to dodge a circle is still a circle). docs/architecture.md draws the same layers.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("osmosproject", "connectors", "mailbox", "pipelines")

# Lowest first. A module may import its own package and the packages of lower layers; packages
# sharing a layer are siblings and import none of each other.
LAYERS = [
    {"osmosproject.metrics", "osmosproject.logs"},
    {"connectors"},
    {"mailbox"},
    {"pipelines.mapping"},
    {"pipelines.runs"},
    {
        "pipelines.ingest",
        "pipelines.delivery",
        "pipelines.pull",
        "pipelines.uploads",
        "pipelines.config",
    },
    # Watches the flows above: reads deliveries, runs, pulls and ingest failures.
    {"pipelines.alerts"},
    # The app's own modules: its model registry, admin, URLs, cross-flow pages, the demo.
    {"pipelines"},
    {"osmosproject"},
]
RANK = {package: rank for rank, layer in enumerate(LAYERS) for package in layer}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def our_modules() -> dict[str, Path]:
    modules = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" not in path.parts:
                modules[module_name(path)] = path
    return modules


def imports_of(path: Path, modules: dict[str, Path]) -> set[str]:
    """Our modules that `path` imports, anywhere in it."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            # `from pipelines.delivery import courier` imports the submodule courier.
            names = [f"{node.module}.{alias.name}" for alias in node.names] + [node.module]
        else:
            continue
        for name in names:
            while name and name not in modules:
                name = name.rpartition(".")[0]
            if name:
                found.add(name)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = our_modules()
    return {name: imports_of(path, modules) - {name} for name, path in modules.items()}


def package_of(module: str) -> str:
    """The longest layered package holding `module`."""
    candidates = [p for p in RANK if module == p or module.startswith(p + ".")]
    return max(candidates, key=len)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_another_that_imports_it_back():
    assert cycles(import_graph()) == []


def test_imports_only_point_down_the_layers():
    wrong = []
    for module, targets in sorted(import_graph().items()):
        here = package_of(module)
        for target in sorted(targets):
            there = package_of(target)
            if there != here and RANK[there] >= RANK[here]:
                wrong.append(f"{module} -> {target}")
    assert wrong == []


def test_every_module_belongs_to_a_layer():
    assert all(package_of(module) for module in our_modules())


def test_the_checks_see_a_circle_and_an_upward_import():
    # The two rules must be able to fail: a made-up graph with both defects.
    graph = {
        "pipelines.runs.a": {"pipelines.delivery.b"},
        "pipelines.delivery.b": {"pipelines.runs.a"},
    }
    assert cycles(graph) == [["pipelines.delivery.b", "pipelines.runs.a"]]
    assert RANK[package_of("pipelines.delivery.b")] > RANK[package_of("pipelines.runs.a")]


def test_flow_modules_stay_small():
    # A module past this many lines holds more than one thing: split it by what it holds.
    lines = {
        name: len(path.read_text().splitlines())
        for name, path in our_modules().items()
        if name.startswith("pipelines.")
    }
    assert {name: n for name, n in lines.items() if n > 450} == {}
