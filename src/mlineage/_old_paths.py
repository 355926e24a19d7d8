"""Import paths that moved, kept working: ``import mlineage`` installs this finder.

Presentation lives in one package, :mod:`mlineage.views`. The paths it had before are
the same module objects as their new homes (no second copy of any module):

- ``mlineage.report`` (and every module under it) is :mod:`mlineage.views.report`: the
  documented path of the offline report, not deprecated; ``report.pyi`` types it;
- ``mlineage.display`` is :mod:`mlineage.views.text`, with a ``DeprecationWarning``;
- ``mlineage._html`` and ``mlineage.analysis._report_rows`` (private) are
  :mod:`mlineage.views.html` and :mod:`mlineage.views.rows`.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util
import sys
import warnings
from collections.abc import Sequence
from types import ModuleType

__all__ = ["MOVED", "install"]

#: old module (or package) -> (new module, deprecated?)
MOVED: dict[str, tuple[str, bool]] = {
    "mlineage.report": ("mlineage.views.report", False),
    "mlineage.display": ("mlineage.views.text", True),
    "mlineage._html": ("mlineage.views.html", False),
    "mlineage.analysis._report_rows": ("mlineage.views.rows", False),
}


def _new_name(fullname: str) -> tuple[str, bool] | None:
    for old, (new, deprecated) in MOVED.items():
        if fullname == old or fullname.startswith(old + "."):
            return new + fullname.removeprefix(old), deprecated
    return None


class _Loader:
    # The import system's loader protocol (not importlib.abc: 7 ms of `import mlineage`).
    def __init__(self, module: ModuleType) -> None:
        self.module, self.spec = module, module.__spec__

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        return self.module

    def exec_module(self, module: ModuleType) -> None:
        # Already executed under its new name; the import system has just set the alias's
        # spec on it: give it back its own (its package path, its resources).
        module.__spec__ = self.spec


class _Finder:
    """Finds an old path as the module at its new one."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        found = _new_name(fullname)
        if found is None or importlib.util.find_spec(found[0]) is None:
            return None
        new, deprecated = found
        if deprecated:
            warnings.warn(
                f"{fullname} is deprecated: it moved to {new}", DeprecationWarning, stacklevel=2
            )
        module = importlib.import_module(new)
        return importlib.machinery.ModuleSpec(fullname, _Loader(module))  # type: ignore[arg-type]


def install() -> None:
    """Put the finder first on ``sys.meta_path`` (once per process)."""
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
