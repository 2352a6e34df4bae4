"""Fixtures for the site tests: the built book served on localhost, and Chromium.

These tests need a built book (`make html`) and Debian's Chromium
(`/usr/bin/chromium`, or $REGBOOK_CHROMIUM). `make test` builds first and then
runs them; `make site-tests` runs them alone. Playwright drives Chromium through
`executable_path`, so it never downloads a browser.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sitekit import ARGS, CHROMIUM, HTML, Watched


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="session")
def site() -> Iterator[str]:
    if not (HTML / "index.html").is_file():
        pytest.fail(f"no built book at {HTML}: run `make html` first")
    handler = functools.partial(_Quiet, directory=str(HTML))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).is_file():
        pytest.fail(f"Chromium not found at {CHROMIUM} (apt-get install -y chromium; .ci/run does it)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def watched(browser: object, site: str) -> Iterator[Watched]:
    w = Watched(browser, site)
    yield w
    w.close()
