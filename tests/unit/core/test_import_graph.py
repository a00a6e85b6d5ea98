"""Imports in shared/contactlake run one way: along the data's path, never back, never in a circle.

The import graph is read from the source (``ast``, nothing is imported), counting every import: at the
top of a module, inside a function (deferred for cold starts) and under ``TYPE_CHECKING``. Three rules:

* no circle between modules;
* no circle between the top-level parts (``contactlake.ingest``, ``contactlake.lake``, ...);
* no part imports a part of a later layer (:data:`LAYERS`): a stage may use the stages before it and
  the base, never one after it.

A new top-level module or package must be given its layer here, which is the place to decide where
it belongs.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[3] / "shared" / "contactlake"

#: Earlier layers first; a part may import parts of its own layer or an earlier one.
LAYERS: tuple[frozenset[str], ...] = (
    # the base every stage may use: the stage contract, tuned kernels, schemas, configuration, ports
    # (``__init__`` is the package's own, which holds only its version; ``tables`` is the table registry,
    # ``metrics`` the KPI declarations)
    frozenset(
        {"__init__", "contract", "kernels", "schema", "config", "ports", "pii", "lake", "sqlfiles"}
        | {"tables", "metrics"}
    ),
    frozenset({"ingest"}),  # read and parse an upload into canonical batches
    frozenset({"commit"}),  # store the batches: duplicates, partitioned writes, manifest, quarantine
    frozenset({"pipeline"}),  # stage, commit, process and replay an upload: both stages above
    frozenset({"analyse", "jobs"}),  # KPIs and aggregates from the lake
    frozenset({"report"}),  # reports from the analyses
    # entry points and their wiring: the API, the CLI, the ports' implementations, the sample data
    # (``bus`` routes events locally as template.yaml routes them on AWS)
    frozenset({"api", "cli", "runtime", "adapters", "sample", "bus"}),
)


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, Path]:
    return {_module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}


def _imported(node: ast.AST, module: str, is_package: bool, known: dict[str, Path]) -> Iterator[str]:
    """The contactlake modules one import statement names (a ``from`` import of a submodule names it)."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            anchor = module.split(".") if is_package else module.split(".")[:-1]
            anchor = anchor[: len(anchor) - node.level + 1]
            base = ".".join([*anchor, *([node.module] if node.module else [])])
        else:
            base = node.module or ""
        for alias in node.names:
            yield f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base


def _graph() -> dict[str, set[str]]:
    known = _modules()
    graph: dict[str, set[str]] = {}
    for module, path in known.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        targets = set()
        for node in ast.walk(tree):
            for name in _imported(node, module, path.name == "__init__.py", known):
                if name.split(".")[0] == "contactlake" and name in known and name != module:
                    targets.add(name)
        graph[module] = targets
    return graph


def _part(module: str) -> str:
    """The top-level module or package a module belongs to (``contactlake.ingest.sources.x`` → ingest)."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
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
    return found


def _part_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    parts: dict[str, set[str]] = {}
    for module, targets in graph.items():
        parts.setdefault(_part(module), set()).update(
            _part(target) for target in targets if _part(target) != _part(module)
        )
    return parts


def _layer(part: str) -> int:
    for number, members in enumerate(LAYERS):
        if part in members:
            return number
    raise AssertionError(f"contactlake.{part} has no layer: add it to LAYERS in {Path(__file__).name}")


def test_no_import_circle_between_modules() -> None:
    assert _circles(_graph()) == []


def test_no_import_circle_between_parts() -> None:
    assert _circles(_part_graph(_graph())) == []


def test_no_part_imports_a_later_layer() -> None:
    backwards = sorted(
        f"{module} imports {target}"
        for module, targets in _graph().items()
        for target in targets
        if _layer(_part(target)) > _layer(_part(module))
    )
    assert backwards == []


def test_every_part_has_a_layer() -> None:
    for part in _part_graph(_graph()):
        _layer(part)


def test_the_checks_see_a_circle_and_a_backward_import() -> None:
    """The checks above would fail on a bad graph (they are not vacuous)."""
    graph = {
        "contactlake.ingest.a": {"contactlake.commit.b"},
        "contactlake.commit.b": {"contactlake.ingest.a"},
    }
    assert _circles(graph) == [["contactlake.commit.b", "contactlake.ingest.a"]]
    assert _circles(_part_graph(graph)) == [["commit", "ingest"]]
    assert _layer("ingest") < _layer("commit")
    assert "contactlake.pipeline" in _graph()["contactlake.cli"] or any(
        target.startswith("contactlake.pipeline") for target in _graph()["contactlake.cli"]
    )
