"""mkdocs hooks: ROADMAP.md and CONTRIBUTING.md, kept beside docs/, as pages of the site.

Both files live at the repository's root (where GitHub shows them) and link into docs/
as ``docs/page.md``. Here they become the site's ``roadmap.md`` and ``contributing.md``,
their links rewritten to the site's pages, so that no link of the site points outside it
(``validation.links.not_found: warn`` in mkdocs.yml makes a broken one fail the build).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parents[1]
#: Root file -> the site page it becomes.
PAGES = {"ROADMAP.md": "roadmap.md", "CONTRIBUTING.md": "contributing.md"}
_LINK = re.compile(r"\]\((?:\./)?([^)#\s]+)(#[^)\s]*)?\)")


def site_markdown(text: str) -> str:
    """``text`` of a root file with its links pointing at the site's pages."""

    def relink(match: re.Match[str]) -> str:
        target, anchor = match.group(1), match.group(2) or ""
        if target.startswith("docs/"):
            target = target.removeprefix("docs/")
        elif target in PAGES:
            target = PAGES[target]
        elif target == "README.md":
            target = "index.md"
        return f"]({target}{anchor})"

    return _LINK.sub(relink, text)


def on_files(files: Any, config: Any) -> Any:
    """Add the root files as generated pages."""
    from mkdocs.structure.files import File

    for source, page in PAGES.items():
        content = site_markdown((ROOT / source).read_text(encoding="utf-8"))
        files.append(File.generated(config, page, content=content))
    return files
