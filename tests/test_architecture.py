"""The package's shape (CONTRIBUTING's package map): layers, no import circles, small modules.

Every ``import`` statement counts: module level, inside functions, and under
``if TYPE_CHECKING:`` — the reading of ``../shared/tools/import_circles.py``, copied here
so that the suite does not depend on files outside the repository.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1] / "src" / "mlineage"

#: The layers, bottom to top: a module may import its own layer and the ones below it.
#: Each entry names modules or packages (``"stats"`` is ``mlineage.stats`` and below).
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    (
        "base",
        (
            "errors",
            "_version",
            "_ids",
            "_text",
            "_file_modes",
            "_tables",
            "_progress",
            "_optional",
            "_keys",
            "content",
        ),
    ),
    ("hashing", ("hashing",)),
    ("statistics", ("stats",)),
    ("storage", ("storage", "testing")),
    # The engines list and profile data where it lives; DataSnapshot assembles their parts.
    ("engines", ("engines",)),
    ("records", ("records", "_coerce", "_columns", "environment")),
    ("codec", ("codec",)),
    (
        "graph",
        (
            "_id_column",
            "_version_sequence",
            "_graph_columns",
            "_graph_table",
            "_graph_walks",
            "graph",
            "_reader",
            "index",
            "refs",
            "artifacts",
        ),
    ),
    (
        "queries and write path",
        (
            "views.html",
            "diff",
            "checkout",
            "details",
            "blame",
            "lineage",
            "fsck",
            "lineage_reads",
            "writer",
            "fingerprints",
            "compaction",
            "aliases",
            "_fingerprint_blobs",
            "_evidence_table",
            "_tracker_protocol",
            "evidence",
        ),
    ),
    ("lineage analysis", ("analysis",)),
    ("promotion gate", ("gate",)),
    ("the facade's lazy methods", ("_tracker_views",)),
    ("facade", ("tracker", "core")),
    ("connectors", ("connectors",)),
    ("presentation", ("views", "_old_paths", "demo", "__init__")),
    # The web UI sits on presentation and under the command line that serves it; what it
    # may import (the public API and presentation) is RESERVED["ui"] below.
    ("web ui", ("ui",)),
    ("command line", ("cli", "__main__")),
]

#: Upward arrows still in the tree, each with why it exists; removing one is progress
#: (and then its entry must go: a stale entry fails the test). ROADMAP.md, "issue 17".
ALLOWED_UPWARD: dict[tuple[str, str], str] = {
    # the facade's presentation methods import presentation inside the call (and for
    # type hints); the test below checks that none of these runs at import time
    ("_tracker_views", "views.text"): "Tracker.summary and summary_text, in the call",
    ("_tracker_views", "views.frames"): "Tracker.to_pandas, plot and report, in the call",
}

#: What these packages may import, whatever their layer. ``mlineage.connectors`` imports
#: the public API only; the ``ui`` server reuses presentation and the public API.
RESERVED: dict[str, tuple[str, ...]] = {
    "connectors": ("__init__", "errors", "records", "analysis", "storage", "connectors"),
    "ui": ("__init__", "errors", "records", "tracker", "views", "ui"),
}


def _modules() -> dict[str, Path]:
    found = {}
    for path in ROOT.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _targets(module: str, path: Path, node: ast.AST, modules: dict[str, Path]) -> set[str]:
    """The mlineage modules one import statement names (relative to ``mlineage.``)."""
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            parts = ["mlineage", *module.split(".")]
            package = parts if path.name == "__init__.py" else parts[:-1]
            package = package[: len(package) - node.level + 1]
            base = ".".join(package + ([node.module] if node.module else []))
        # ``from mlineage import x`` names x (a module, or a name of the package's root).
        names = ([] if base == "mlineage" else [base]) + [f"{base}.{a.name}" for a in node.names]
    else:
        return set()
    out = set()
    for name in names:
        if name != "mlineage" and not name.startswith("mlineage."):
            continue
        name = name.removeprefix("mlineage").removeprefix(".")
        while name and name not in modules:
            name = name.rpartition(".")[0]
        name = name or "__init__"
        if name != module:
            out.add(name)
    return out


def _imports() -> dict[str, set[str]]:
    """module -> every module it imports (module level, in functions, type-only)."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        graph[module] = set()
        for node in ast.walk(tree):
            graph[module] |= _targets(module, path, node, modules)
    return graph


def _layer(module: str) -> int:
    for level, (_, members) in enumerate(LAYERS):
        for member in members:
            if module == member or module.startswith(member + "."):
                return level
    raise AssertionError(f"mlineage.{module} is in no layer: add it to LAYERS")


def _upward() -> set[tuple[str, str]]:
    return {
        (module, target)
        for module, targets in _imports().items()
        if module.split(".")[0] not in RESERVED
        for target in targets
        if _layer(target) > _layer(module)
    }


def test_every_module_has_a_layer() -> None:
    for module in _modules():
        if module.split(".")[0] not in RESERVED:
            _layer(module)


def test_every_import_points_down_or_is_allowed() -> None:
    assert _upward() - set(ALLOWED_UPWARD) == set()


def test_the_allow_list_has_no_stale_entry() -> None:
    assert set(ALLOWED_UPWARD) - _upward() == set()


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
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
                    out.append(sorted(component))
    return out


def test_the_facade_imports_presentation_only_inside_its_methods() -> None:
    # ``import mlineage`` must not import presentation: the facade's arrows up are
    # function-level imports (or type hints under ``if TYPE_CHECKING:``).
    modules = _modules()
    for module in ("tracker", "_tracker_views"):
        path = modules[module]
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            targets = _targets(module, path, node, modules)
            up = {t for t in targets if _layer(t) > _layer(module)}
            assert up == set(), f"mlineage.{module} imports {up} when imported"


def test_no_import_circles_once_the_allowed_upward_arrows_are_gone() -> None:
    graph = _imports()
    for module, target in ALLOWED_UPWARD:
        graph[module].discard(target)
    assert _circles(graph) == []


def test_the_circle_finder_finds_circles() -> None:
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _circles({"a": {"b"}, "b": set()}) == []


@pytest.mark.parametrize("package", sorted(RESERVED))
def test_reserved_packages_import_only_what_they_may(package: str) -> None:
    allowed = RESERVED[package]
    for module, targets in _imports().items():
        if module.split(".")[0] != package:
            continue
        for target in targets:
            top = target.split(".")[0]
            public = target == "__init__" or not target.split(".")[-1].startswith("_")
            assert (top in allowed and public) or top == package, (
                f"mlineage.{module} imports mlineage.{target}"
            )


def test_statistics_know_nothing_of_trackers_or_stores() -> None:
    for module, targets in _imports().items():
        if module == "stats" or module.startswith("stats."):
            assert {t.split(".")[0] for t in targets} <= {
                "stats",
                "errors",
                "_optional",
                "content",
                "hashing",
                "_tables",  # HTML cells
                "_ids",  # handles of the version ids a result names
            }


def test_no_underscore_name_of_the_statistics_crosses_a_module() -> None:
    # One public module per family; private modules share helpers under public names.
    for path in ROOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith(
                "mlineage.stats"
            ):
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert private == [], f"{path.relative_to(ROOT)} imports {private}"


def test_blob_keys_are_built_by_content_addressing_only() -> None:
    for module, path in _modules().items():
        if module != "content":
            assert "blobs/sha256/{" not in path.read_text(encoding="utf-8"), module


def test_lineage_analysis_reads_through_its_documented_interface() -> None:
    # ``tracker._reads`` (mlineage.lineage_reads) is what lineage analysis and the gate may
    # read; the tracker's index and writer are not theirs to touch (CONTRIBUTING).
    for folder in ("analysis", "gate"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            for private in ("._index", "._writer"):
                assert private not in text, f"{folder}/{path.name} reaches {private}"


def test_no_module_is_a_second_facade() -> None:
    sizes = {str(p.relative_to(ROOT)): len(p.read_text().splitlines()) for p in ROOT.rglob("*.py")}
    assert {name: n for name, n in sizes.items() if n > 600} == {}
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
                    allowed = (
                        name in public
                        or name == "mlineage.connectors"
                        or name.startswith("mlineage.connectors.")
                    )
                    assert allowed, f"connectors/{path.name} imports {name}"
