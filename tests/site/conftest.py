"""Fixtures for the site tests: the built book served on localhost, and Chromium.

These tests need a built book (`make html` and `make pdf`, or `make dist`), Debian's
Chromium (`/usr/bin/chromium`, or $REGBOOK_CHROMIUM) and the npm packages of
package.json in ./node_modules (axe-core, lighthouse). `make test` builds and
installs all of it first; `make site-tests` runs the tests alone. Playwright
drives Chromium through `executable_path`, so it never downloads a browser.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sitekit import ARGS, CHROMIUM, HTML, Watched, serve


@pytest.fixture(scope="session")
def site() -> Iterator[str]:
    if not (HTML / "index.html").is_file():
        pytest.fail(f"no built book at {HTML}: run `make html` first")
    with serve(HTML) as url:
        yield url


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


@pytest.fixture
def phone(browser: object, site: str) -> Iterator[Watched]:
    w = Watched(browser, site, viewport=(390, 844))
    yield w
    w.close()
