"""HTML tables for the notebook views: every cell escaped, no script, no external style.

A base module (it imports nothing of mlineage), so that the statistics' results
(:mod:`mlineage.stats`) and the lineage's (:mod:`mlineage._html`) build their
``_repr_html_`` with the same cells.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from html import escape

__all__ = ["CELL", "cell_text", "html_pairs", "html_table"]

#: The style of every cell.
CELL = "padding:2px 8px;text-align:left;vertical-align:top"


def cell_text(value: object) -> str:
    """A table cell's text: floats to 6 significant digits, containers as JSON."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.6g}"
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    return str(value)


def html_table(
    rows: Iterable[Sequence[object]], headers: Sequence[str] | None = None, caption: str = ""
) -> str:
    """An HTML table of ``rows`` (cells escaped), with an optional header row and caption.

    Examples
    --------
    >>> html = html_table([("a", "<b>")], headers=["key", "value"])
    >>> "&lt;b&gt;" in html and "<b>" not in html
    True
    """
    out = ["<table style='border-collapse:collapse'>"]
    if caption:
        out.append(f"<caption style='text-align:left;font-weight:bold'>{escape(caption)}</caption>")
    if headers is not None:
        cells = "".join(f"<th style='{CELL}'>{escape(h)}</th>" for h in headers)
        out.append(f"<thead><tr>{cells}</tr></thead>")
    out.append("<tbody>")
    for row in rows:
        cells = "".join(f"<td style='{CELL}'>{escape(cell_text(c))}</td>" for c in row)
        out.append(f"<tr>{cells}</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def html_pairs(rows: Iterable[tuple[str, object]], caption: str = "") -> str:
    """A two-column table of ``(label, value)`` with the labels as row headers."""
    body = "".join(
        f"<tr><th style='{CELL}'>{escape(k)}</th>"
        f"<td style='{CELL}'>{escape(cell_text(v))}</td></tr>"
        for k, v in rows
    )
    head = (
        f"<caption style='text-align:left;font-weight:bold'>{escape(caption)}</caption>"
        if caption
        else ""
    )
    return f"<table style='border-collapse:collapse'>{head}<tbody>{body}</tbody></table>"
