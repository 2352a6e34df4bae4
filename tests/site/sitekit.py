"""Shared pieces of the site tests: where the book is, its pages, a watched browser page.

Used by conftest.py and the tests; conftest.py says what these tests need.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("REGBOOK_BUILDDIR", ROOT / "_build")).resolve()
HTML = BUILD / "html"
ARTIFACTS = BUILD / "browser-artifacts"
CHROMIUM = os.environ.get("REGBOOK_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def pages() -> list[str]:
    """Every page of the book (relative paths of the HTML files Sphinx wrote for documents)."""
    if not HTML.is_dir():
        return []
    skip = {"genindex.html", "search.html", "py-modindex.html"}
    return sorted(p.relative_to(HTML).as_posix() for p in HTML.glob("*.html") if p.name not in skip)


def chapters() -> list[str]:
    """Pages that execute code (they offer an .ipynb download)."""
    return [p for p in pages() if (HTML / "_sources" / p.replace(".html", ".ipynb")).is_file()]


class Watched:
    """A page with every console error, failed request and non-local request recorded."""

    def __init__(self, browser: object, site: str, *, color_scheme: str = "light") -> None:
        self.errors: list[str] = []
        self.failed: list[str] = []
        self.external: list[str] = []
        self.context = browser.new_context(viewport={"width": 1280, "height": 900},  # type: ignore[attr-defined]
                                           color_scheme=color_scheme)
        self.page = self.context.new_page()
        local = re.compile(rf"^({re.escape(site)}/|data:|blob:|about:)")

        def route(r: object) -> None:
            url = r.request.url  # type: ignore[attr-defined]
            if local.match(url):
                r.continue_()  # type: ignore[attr-defined]
            else:
                self.external.append(url)
                r.abort()  # type: ignore[attr-defined]

        self.page.route("**/*", route)
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("requestfailed", lambda r: local.match(r.url) and self.failed.append(r.url))
        self.page.on("response", lambda r: r.status >= 400 and self.failed.append(f"{r.status} {r.url}"))

    def close(self) -> None:
        self.context.close()
