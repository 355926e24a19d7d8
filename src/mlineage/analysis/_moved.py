"""Public modules of :mod:`mlineage.analysis` that moved to :mod:`mlineage.stats`.

Importing an old path (``mlineage.analysis.stats``) warns once and hands back the new
module itself, so every name keeps working and no second copy of the code exists.
"""

from __future__ import annotations

import importlib
import sys
import warnings

__all__ = ["MOVED", "alias"]

#: old module -> the module it moved to
MOVED = {
    "mlineage.analysis.behaviour": "mlineage.stats.behaviour",
    "mlineage.analysis.calibration": "mlineage.stats.calibration",
    "mlineage.analysis.changepoints": "mlineage.stats.changepoints",
    "mlineage.analysis.probes": "mlineage.stats.probes",
    "mlineage.analysis.profile": "mlineage.stats.profile",
    "mlineage.analysis.representation": "mlineage.stats.representation",
    "mlineage.analysis.stats": "mlineage.stats.drift",
}


def alias(old: str) -> None:
    """Make module ``old`` (being imported) the module it moved to, with a warning."""
    new = MOVED[old]
    warnings.warn(
        f"{old} is deprecated: it moved to {new}; import from there, or the same names "
        "from mlineage.analysis",
        DeprecationWarning,
        stacklevel=3,
    )
    sys.modules[old] = importlib.import_module(new)
