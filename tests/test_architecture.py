"""The house's rules, checked over the import graph of `src/lstmops` (every import, lazy ones too):
packages stand on floors, imports only run down, and no modules import each other in a circle."""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

# Bottom to top. A package may import its own modules and any package on a lower floor, never one on
# its own floor or above (config, common and the root package share the ground floor).
FLOORS = (
    ("lstmops", "lstmops.config", "lstmops.common"),
    ("lstmops.data",),
    ("lstmops.evaluate",),
    ("lstmops.train",),
    ("lstmops.tasks",),
    ("lstmops.tracking",),
    ("lstmops.registry",),
    ("lstmops.experiment", "lstmops.serving"),
    ("lstmops.monitoring",),
    ("lstmops.benchmarks", "lstmops.review"),
    ("lstmops.cli",),
)
FLOOR = {package: number for number, packages in enumerate(FLOORS) for package in packages}


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted((SRC / "lstmops").rglob("*.py"))}


def imports(path: Path, known: dict[str, Path]) -> set[str]:
    """The lstmops modules `path` imports (`from lstmops.x import y` counts module `lstmops.x.y` if it is one)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                found.add(child if child in known else node.module)
    return {name for name in found if name in known}


def package(module: str) -> str:
    """The floor-holding package of `module`: `lstmops.registry.gate` -> `lstmops.registry`."""
    parts = module.split(".")
    return ".".join(parts[:2]) if len(parts) > 1 else module


def below(target: str, importer: str) -> bool:
    """May `importer` import `target`? Only from a lower floor; the ground floor's packages share theirs."""
    return FLOOR[target] < FLOOR[importer] or FLOOR[target] == FLOOR[importer] == 0


def graph() -> dict[str, set[str]]:
    known = modules()
    return {name: imports(path, known) - {name} for name, path in known.items()}


def test_every_package_stands_on_a_floor():
    assert {package(module) for module in modules()} <= set(FLOOR)


def test_imports_only_run_down():
    upward = sorted(
        f"{module} -> {target}"
        for module, targets in graph().items()
        for target in targets
        if package(target) != package(module) and not below(package(target), package(module))
    )
    assert upward == []


def test_no_modules_import_each_other_in_a_circle():
    edges = graph()
    circles, done = [], set()

    def visit(module: str, path: list[str]) -> None:
        if module in path:
            circles.append(" -> ".join([*path[path.index(module) :], module]))
            return
        if module in done:
            return
        for target in sorted(edges[module]):
            visit(target, [*path, module])
        done.add(module)

    for module in sorted(edges):
        visit(module, [])
    assert circles == []


def test_nothing_in_the_library_imports_the_flows():
    flows = {path.stem for path in (SRC.parent / "flows").glob("*.py")}
    leaking = [
        f"{name} imports {alias.name}"
        for name, path in modules().items()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Import)
        for alias in node.names
        if alias.name in flows
    ]
    assert leaking == []
