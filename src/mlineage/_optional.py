"""Optional dependencies, imported where they are used so that ``import mlineage`` stays light."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

from mlineage.errors import MissingDependency

__all__ = ["lazy_names", "pandas"]


def lazy_names(
    package: str, homes: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package``, whose names ``homes`` maps to the
    modules that define them: each module is imported when one of its names is first
    used (PEP 562), and the name is then kept in the package.

    ``__getattr__, __dir__ = lazy_names(__name__, {"Tracker": "mlineage.tracker"})``.
    """
    namespace = sys.modules[package].__dict__

    def get(name: str) -> Any:
        if name not in homes:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(homes[name]), name)
        namespace[name] = value
        return value

    def names() -> list[str]:
        return sorted(set(namespace) | set(homes))

    return get, names


def pandas(what: str) -> Any:
    """Import pandas for ``what`` (``"DriftReport.to_pandas()"``), or say how to install it.

    Raises
    ------
    MissingDependency
        pandas is not installed; the message names ``what`` and ``pip install
        'mlineage[data]'`` (pandas alone, ``pip install pandas``, is enough).
    """
    try:
        return importlib.import_module("pandas")
    except ImportError as exc:
        raise MissingDependency(
            f"{what} needs pandas, which is not installed: pip install 'mlineage[data]' "
            "(or pip install pandas)"
        ) from exc
