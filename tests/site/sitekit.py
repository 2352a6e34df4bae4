"""Shared pieces of the site tests: where the book is, its pages, a local server, a watched browser page.

Used by conftest.py, the tests and ``weights.py``; conftest.py says what these tests need.
"""

from __future__ import annotations

import functools
import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BUILD = Path(os.environ.get("REGBOOK_BUILDDIR", ROOT / "_build")).resolve()
HTML = BUILD / "html"
DIST = BUILD / "dist"
ARTIFACTS = BUILD / "browser-artifacts"
CHROMIUM = os.environ.get("REGBOOK_CHROMIUM", "/usr/bin/chromium")
NODE_MODULES = Path(os.environ.get("REGBOOK_NODE_MODULES", ROOT / "node_modules"))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
PDF_NAME = "regularization-in-deep-learning.pdf"
NOTEBOOKS_ZIP = "regbook-notebooks.zip"

# MathJax typesets after the page has loaded: wait until every math element holds its rendering.
MATH_DONE = ("document.querySelectorAll('.math mjx-container').length >= "
             "document.querySelectorAll('.math').length")


def pages() -> list[str]:
    """Every page of the book (relative paths of the HTML files Sphinx wrote for documents)."""
    if not HTML.is_dir():
        return []
    skip = {"genindex.html", "search.html", "py-modindex.html"}
    return sorted(p.relative_to(HTML).as_posix() for p in HTML.glob("*.html") if p.name not in skip)


def chapters() -> list[str]:
    """Pages that execute code (they offer an .ipynb download)."""
    return [p for p in pages() if (HTML / "_sources" / p.replace(".html", ".ipynb")).is_file()]


def all_pages() -> list[str]:
    """Every HTML page a reader can reach: the book's pages, search, index, module index and the sources of modules."""
    if not HTML.is_dir():
        return []
    return sorted(p.relative_to(HTML).as_posix() for p in HTML.rglob("*.html")
                  if not p.relative_to(HTML).parts[0].startswith("_") or p.relative_to(HTML).parts[0] == "_modules")


def wait_for_math(page: object, timeout: float = 30_000) -> None:
    if page.locator(".math").count():  # type: ignore[attr-defined]
        page.wait_for_function(MATH_DONE, timeout=timeout)  # type: ignore[attr-defined]


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve(directory: Path, prefix: str = "") -> Iterator[str]:
    """Serve ``directory`` on 127.0.0.1 (under ``/prefix/`` if given, like a GitHub Pages project site)."""

    class Handler(_Quiet):
        def translate_path(self, path: str) -> str:
            if prefix:
                if not path.startswith(f"/{prefix}/"):
                    return str(directory / "__outside_the_site__")
                path = path[len(prefix) + 1:]
            return super().translate_path(path)

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(directory)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        yield f"{base}/{prefix}" if prefix else base
    finally:
        server.shutdown()
        server.server_close()


class Watched:
    """A page with every console error, failed request and non-local request recorded.

    ``weight()`` adds up the bodies of every response from the site so far (uncompressed bytes).
    """

    def __init__(self, browser: object, site: str, *, color_scheme: str = "light",
                 viewport: tuple[int, int] = (1280, 900)) -> None:
        self.errors: list[str] = []
        self.failed: list[str] = []
        self.external: list[str] = []
        self.responses: list[object] = []
        self.context = browser.new_context(  # type: ignore[attr-defined]
            viewport={"width": viewport[0], "height": viewport[1]}, color_scheme=color_scheme)
        self.page = self.context.new_page()
        local = re.compile(rf"^({re.escape(site)}/|data:|blob:|about:)")

        def route(r: object) -> None:
            url = r.request.url  # type: ignore[attr-defined]
            if local.match(url):
                r.continue_()  # type: ignore[attr-defined]
            else:
                self.external.append(url)
                r.abort()  # type: ignore[attr-defined]

        def record(r: object) -> None:
            if r.status >= 400:  # type: ignore[attr-defined]
                self.failed.append(f"{r.status} {r.url}")  # type: ignore[attr-defined]
            elif local.match(r.url) and not r.url.startswith("data:"):  # type: ignore[attr-defined]
                self.responses.append(r)

        self.page.route("**/*", route)
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("requestfailed", lambda r: local.match(r.url) and self.failed.append(r.url))
        self.page.on("response", record)

    def sizes(self) -> dict[str, int]:
        """URL -> bytes of its body, for every response from the site so far (uncompressed)."""
        out: dict[str, int] = {}
        for r in self.responses:
            try:
                out[r.url] = len(r.body())  # type: ignore[attr-defined]
            except Exception:  # no body (a redirect, or a request the page cancelled): nothing was loaded
                out.setdefault(r.url, 0)  # type: ignore[attr-defined]
        return out

    def weight(self) -> int:
        """Bytes loaded so far (every response body from the site, uncompressed)."""
        return sum(self.sizes().values())

    def close(self) -> None:
        self.context.close()
