"""The package's shape (CONTRIBUTING's package map): layers, no import cycles, small modules."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1] / "src" / "mlineage"

#: Modules (or packages) of the lower layers: they must not import any upper one.
LOWER = ("errors", "_ids", "_keys", "_lazy", "_columns", "records", "codec", "storage", "content")
UPPER = (
    "tracker",
    "writer",
    "aliases",
    "evidence",
    "index",
    "_reader",
    "refs",
    "details",
    "blame",
    "diff",
    "display",
    "fsck",
    "cli",
    "report",
    "analysis",
)
#: The leaf that DataSnapshot.from_array/from_dataframe/from_path(profile=True) call.
SNAPSHOT_PROFILE = "mlineage.analysis._snapshot_profile"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(("mlineage", *parts))


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in ROOT.rglob("*.py")}


def _top_level_imports(path: Path, modules: dict[str, Path]) -> set[str]:
    """mlineage modules imported when ``path`` is imported (module level, not TYPE_CHECKING)."""
    found: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mlineage"):
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                found.add(candidate if candidate in modules else node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("mlineage"))
    return {m for m in found if m in modules}


def test_the_import_graph_has_no_cycles() -> None:
    modules = _modules()
    graph = {name: _top_level_imports(path, modules) - {name} for name, path in modules.items()}
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, stack)
        stack.pop()
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [])
    assert cycles == []


@pytest.mark.parametrize("lower", LOWER)
def test_lower_layers_import_nothing_from_upper_ones(lower: str) -> None:
    modules = _modules()
    mine = [
        p
        for n, p in modules.items()
        if n == f"mlineage.{lower}" or n.startswith(f"mlineage.{lower}.")
    ]
    upper = tuple(f"mlineage.{u}" for u in UPPER)
    for path in mine:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):  # function-level imports count too
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            bad = [n for n in names if n in upper or n.startswith(tuple(u + "." for u in upper))]
            # The one exception: snapshot constructors (profile=True) call the profiling
            # leaf, which imports only the profile statistics, content and errors.
            bad = [n for n in bad if not n.startswith(SNAPSHOT_PROFILE)]
            assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_the_snapshot_profiling_leaf_imports_no_lineage_module() -> None:
    modules = _modules()
    allowed = ("mlineage.analysis._", "mlineage.content", "mlineage.errors")
    seen, todo = set(), [SNAPSHOT_PROFILE]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        assert name.startswith(allowed), f"{SNAPSHOT_PROFILE} reaches {name}"
        todo += _top_level_imports(modules[name], modules)


def test_no_module_is_a_second_facade() -> None:
    sizes = {str(p.relative_to(ROOT)): len(p.read_text().splitlines()) for p in ROOT.rglob("*.py")}
    assert {name: n for name, n in sizes.items() if n > 620} == {}
    assert sizes["tracker.py"] < 500


def test_connectors_use_only_the_public_api() -> None:
    # Connectors are users of mlineage like any other (CONTRIBUTING's package map): they
    # import its public modules only, at module level or inside functions.
    public = (
        "mlineage",
        "mlineage.errors",
        "mlineage.records",
        "mlineage.analysis",
        "mlineage.storage",
    )
    folder = ROOT / "connectors"
    assert list(folder.glob("*.py")), "the connectors package is missing"
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names: list[str] = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            for name in names:
                if name == "mlineage" or name.startswith("mlineage."):
                    allowed = name in public or name.startswith("mlineage.connectors.")
                    assert allowed, f"connectors/{path.name} imports {name}"
