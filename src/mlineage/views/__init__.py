"""Presentation: how a lineage is shown, in one package.

- :mod:`mlineage.views.text`: the text views (``tracker.summary``, the graph of
  ``mlineage log --graph``);
- :mod:`mlineage.views.html`: the HTML tables of the result objects' notebook views (a
  leaf: blame reports, diffs, checkouts, fsck reports and gate verdicts call it);
- :mod:`mlineage.views.frames`: ``tracker.to_pandas`` and ``tracker.plot`` (pandas and
  matplotlib imported when called);
- :mod:`mlineage.views.report`: the offline HTML report (also ``mlineage.report``);
- :mod:`mlineage.views.rows`: the analysis rows the report and the ``ui`` server share.

The tracker's presentation methods import these modules when first called; the command
line (``mlineage.cli``) and the ``ui`` server are thin layers over them.
"""

from __future__ import annotations

from typing import Any

from mlineage.views.frames import COLUMNS, plot, report_analyses, to_pandas, write_report

__all__ = ["COLUMNS", "plot", "report_analyses", "to_pandas", "write_report"]


def __getattr__(name: str) -> Any:
    # ``mlineage.views.bisect`` moved to lineage analysis (``tracker.bisect``).
    if name == "bisect":
        import warnings

        from mlineage.analysis._bisect import bisect

        warnings.warn(
            "mlineage.views.bisect is deprecated: call tracker.bisect(...) (the function is "
            "mlineage.analysis._bisect.bisect)",
            DeprecationWarning,
            stacklevel=2,
        )
        return bisect
    raise AttributeError(f"module 'mlineage.views' has no attribute {name!r}")
