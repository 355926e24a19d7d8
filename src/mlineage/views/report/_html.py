"""Assemble the self-contained HTML page of the lineage report.

The page is one file: the stylesheet and the script come from this package's ``assets``
and are inlined, the data is a JSON block the script reads, and a Content-Security-Policy
forbids every network request. Nothing from the data is ever written as markup: the
script builds the page with ``textContent`` and ``setAttribute``; here only the title is
interpolated, HTML-escaped.
"""

from __future__ import annotations

import html
import json
from functools import cache
from importlib.resources import files
from typing import Any

from mlineage._text import escape_surrogates

__all__ = ["CSP", "DATA_ELEMENT_ID", "json_for_script", "render_html"]

#: No network at all: inline script and style only, images only from ``data:`` URLs.
CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data:; base-uri 'none'; form-action 'none'"
)
#: The ``id`` of the ``<script type="application/json">`` element that holds the data.
DATA_ELEMENT_ID = "mlineage-data"

# Characters that could end the <script> element or an HTML comment inside it, or that
# JavaScript parsers before ES2019 treat as line ends. Inside JSON they occur only in
# strings, where the \\u escape means the same character.
_SCRIPT_ESCAPES = str.maketrans(
    {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
)

_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<meta name="generator" content="mlineage {version}">
<title>{title}</title>
<link rel="icon" href="data:,">
<style>
{css}
</style>
</head>
<body>
<div id="app"><header class="page-header"><h1>{title}</h1>
<p id="loading">Loading the lineage report\u2026</p>
<noscript><p class="notice">This report is drawn by JavaScript, which is disabled. The
data is in the <code>mlineage-data</code> block of this file's source (JSON).</p></noscript>
</header></div>
<script type="application/json" id="{data_id}">{data}</script>
<script>
{js}
</script>
</body>
</html>
"""


def json_for_script(data: Any) -> str:
    """Serialise ``data`` as JSON that is safe inside a ``<script>`` element.

    Parameters
    ----------
    data : Any
        JSON-ready data (finite numbers only).

    Returns
    -------
    str
        Compact JSON in which ``<``, ``>``, ``&``, U+2028, U+2029 and lone surrogates are
        ``\\u`` escapes, so no string in the data can close the element (``</script>``)
        or open a comment, and the page can be written as UTF-8.

    Raises
    ------
    ValueError
        If ``data`` holds NaN or an infinity (not JSON).
    TypeError
        If ``data`` holds a value JSON cannot represent.

    Examples
    --------
    >>> json_for_script({"notes": "</script><b>"})
    '{"notes":"\\\\u003c/script\\\\u003e\\\\u003cb\\\\u003e"}'
    """
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    # Names kept exactly from files that are not UTF-8 (a profile's columns) hold lone
    # surrogates, which the page (UTF-8) cannot hold; as escapes, JSON.parse reads them.
    return escape_surrogates(text.translate(_SCRIPT_ESCAPES))


@cache
def _asset(name: str) -> str:
    return (
        files("mlineage.views.report").joinpath("assets").joinpath(name).read_text(encoding="utf-8")
    )


def render_html(data: dict[str, Any]) -> str:
    """The report page for ``data`` (as built by :func:`build_report_data`).

    Parameters
    ----------
    data : dict
        The report data; its ``title`` and ``mlineage_version`` are also used in the head.

    Returns
    -------
    str
        A complete HTML document with no external references.
    """
    css, js = _asset("report.css"), _asset("report.js")
    # The assets are ours, but a stray closing tag would silently cut the page short.
    if "</style" in css.lower() or "</script" in js.lower() or "<!--" in js:
        raise RuntimeError("report assets must not contain </style>, </script> or <!--")
    return _TEMPLATE.format(
        csp=CSP,
        version=html.escape(str(data["mlineage_version"])),
        title=html.escape(str(data["title"])),
        css=css,
        data_id=DATA_ELEMENT_ID,
        data=json_for_script(data),
        js=js,
    )
