"""The documentation site builds with ``mkdocs build --strict`` and loads nothing from
elsewhere: no web fonts, no CDN scripts or styles."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
#: Hosts the built pages must never load from.
OUTSIDE = re.compile(
    r"fonts\.googleapis|fonts\.gstatic|unpkg\.com|cdn\.jsdelivr|cdnjs|googletagmanager"
)
#: An asset loaded from another site: <script src>, <link href> (styles, icons, fonts),
#: <img src>, or a CSS url()/@import.
EXTERNAL_ASSET = re.compile(
    r"""<(?:script|img|iframe|source)\b[^>]*\bsrc=["']?(?:https?:)?//"""
    r"""|<link\b[^>]*\bhref=["']?(?:https?:)?//"""
    r"""|url\(\s*["']?(?:https?:)?//|@import\s+["']?(?:https?:)?//""",
    re.IGNORECASE,
)
CHROMIUM = os.environ.get("MLINEAGE_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if shutil.which("mkdocs") is None and not _importable("mkdocs"):
        print("skipped: mkdocs is not installed (pip install -e '.[docs]')")
        pytest.skip("mkdocs is not installed (pip install -e '.[docs]')")
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT / "src"), os.environ.get("PYTHONPATH")) if p
    )
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def test_the_site_builds_with_every_page_and_the_api_reference(site: Path) -> None:
    for page in ("index.html", "api/index.html", "report/index.html", "concepts/index.html"):
        assert (site / page).is_file(), page
    reference = (site / "reference" / "mlineage" / "index.html").read_text()
    for name in ("mlineage.Tracker", "mlineage.ModelVersion", "mlineage.views.to_pandas"):
        assert f'id="{name}"' in reference, name
    for page in ("analysis", "storage", "report"):
        assert "doc-object" in (site / "reference" / page / "index.html").read_text()
    front = (site / "index.html").read_text()
    assert "img/report.png" in front and (site / "img" / "report.png").is_file()
    text = html.unescape(re.sub(r"<[^>]+>", "", front))
    assert "$ mlineage log --graph fraud-detector\n* " in text and "\n|/\n" in text


def test_no_page_or_stylesheet_loads_anything_from_elsewhere(site: Path) -> None:
    for path in [*site.rglob("*.html"), *site.rglob("*.css")]:
        text = path.read_text(errors="replace")
        assert not OUTSIDE.search(text), path
        assert not EXTERNAL_ASSET.search(text), (path, EXTERNAL_ASSET.search(text))


def test_pages_make_no_network_request_in_a_browser(site: Path) -> None:
    """Material's script holds fallbacks it fetches only when needed (a ResizeObserver
    polyfill for old browsers, mermaid for diagrams, which no page has): a real browser
    opening the pages must request nothing but local files."""
    pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        print(f"skipped: no Chromium at {CHROMIUM} (apt-get install chromium)")
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    pages = [(site / n).as_uri() for n in ("index.html", "reference/mlineage/index.html")]
    # In a process of its own: Playwright's sync API refuses to start in a thread where an
    # event loop runs, which other tests of the session (the report's browser, a Jupyter
    # client) may leave behind.
    result = subprocess.run(
        [sys.executable, "-c", _BROWSE, CHROMIUM, *pages],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


_BROWSE = """
import json, sys
from playwright.sync_api import sync_playwright

requests = []

def record(route):
    url = route.request.url
    if url.startswith(("file:", "data:", "blob:")):
        route.continue_()
    else:
        requests.append(url)
        route.abort()

with sync_playwright() as playwright:
    browser = playwright.chromium.launch(
        executable_path=sys.argv[1], args=["--no-sandbox", "--disable-gpu"]
    )
    page = browser.new_page()
    page.route("**/*", record)
    for url in sys.argv[2:]:
        page.goto(url)
        page.wait_for_load_state("load")
        page.wait_for_timeout(300)
    browser.close()
print(json.dumps(requests))
"""


def test_front_page_examples_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    page = (ROOT / "docs" / "index.md").read_text()
    blocks = re.findall(r"```python\n(.*?)```", page, flags=re.S)
    assert blocks
    monkeypatch.chdir(tmp_path)
    exec(compile("\n".join(blocks), "docs/index.md", "exec"), {"__name__": "docs"})


def test_no_link_on_the_site_leads_to_a_missing_page(site: Path) -> None:
    # ROADMAP.md and CONTRIBUTING.md (at the root) are pages of the site, their links into
    # docs/ rewritten; 404.html is served from anywhere, so its links are absolute.
    assert "Next" in (site / "roadmap" / "index.html").read_text()
    assert "Adding a store backend" in (site / "contributing" / "index.html").read_text()
    missing = []
    for page in site.rglob("*.html"):
        if page.name == "404.html" and page.parent == site:
            continue
        for href in re.findall(r'href="([^"]+)"', page.read_text()):
            target = html.unescape(href).split("#")[0].split("?")[0]
            if not target or re.match(r"[a-z]+:|//", target):
                continue
            path = (page.parent / target).resolve()
            if not (path / "index.html" if path.is_dir() else path).exists():
                missing.append((str(page.relative_to(site)), href))
    assert missing == []


def test_the_cli_reference_is_generated_from_every_command(site: Path) -> None:
    import click

    from mlineage.cli import cli

    text = html.unescape(re.sub(r"<[^>]+>", "", (site / "cli" / "index.html").read_text()))
    todo: list[tuple[str, click.Command]] = [("mlineage", cli)]
    while todo:
        path, command = todo.pop()
        assert path in text, path
        for param in command.params:
            if isinstance(param, click.Option):
                assert param.opts[-1] in text, (path, param.opts)
        if isinstance(command, click.Group):
            todo += [(f"{path} {name}", sub) for name, sub in command.commands.items()]
