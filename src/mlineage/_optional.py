"""Optional dependencies, imported where they are used so that ``import mlineage`` stays light."""

from __future__ import annotations

import importlib
from typing import Any

from mlineage.errors import MissingDependency

__all__ = ["pandas"]


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
