"""The packages of ``src/storemon`` import one way: no cycles, and the
dashboard knows nothing of the API's internals."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).parents[1] / "src" / "storemon"


def _unit(module: str) -> str:
    """``storemon.data.snapshot`` -> ``data``; top-level modules stand alone."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def package_imports() -> dict[str, set[str]]:
    """Which unit imports which, counting imports inside functions too."""
    graph: dict[str, set[str]] = {}
    for path in SRC.rglob("*.py"):
        relative = path.relative_to(SRC.parent).with_suffix("")
        name = ".".join(relative.parts).removesuffix(".__init__")
        here = _unit(name)
        edges = graph.setdefault(here, set())
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets = [node.module]
            for target in targets:
                if target.startswith("storemon.") and _unit(target) != here:
                    edges.add(_unit(target))
    return graph


def _cycle_from(graph: dict[str, set[str]], start: str) -> list[str] | None:
    stack = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, path = stack.pop()
        for nxt in graph.get(node, ()):
            if nxt == start:
                return [*path, start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return None


def test_no_two_packages_import_each_other_even_indirectly() -> None:
    graph = package_imports()
    cycles = [cycle for unit in graph if (cycle := _cycle_from(graph, unit))]
    assert not cycles, cycles


def test_the_dashboard_does_not_import_the_api() -> None:
    assert "api" not in package_imports()["web"]


def test_the_report_use_cases_do_not_know_where_jobs_run() -> None:
    assert "jobs" not in package_imports()["reports"]
