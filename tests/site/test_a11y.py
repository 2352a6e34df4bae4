"""Accessibility: axe-core on every page in light and dark mode, Lighthouse on the chapters.

axe-core (``node_modules/axe-core``, from package.json) is injected into each
page by Playwright after the page, its equations and its interactive figures
are ready, and must report no violation of WCAG 2.0 / 2.1, levels A and AA;
then the reader's system switches to dark mode (the site follows it: the
theme's default mode is "auto") and axe runs again. Everything on the page
counts, the theme's and the toolchain's markup included.

Lighthouse 12.2.3 (``node_modules/lighthouse``) must score 100 for
accessibility, best practices and SEO on every chapter.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from sitekit import CHROMIUM, HTML, NODE_MODULES, ROOT, Watched, chapters, wait_for_math

AXE = NODE_MODULES / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def every_page() -> list[str]:
    if not HTML.is_dir():
        return []
    return sorted(p.relative_to(HTML).as_posix() for p in HTML.rglob("*.html")
                  if not p.name.startswith("_regbook") and p.relative_to(HTML).parts[0] not in {"_static", "_sources"})


#: The rules whose outcome depends on colour: all a change of colour scheme can break (the markup is the same).
COLOUR_RULES = ["color-contrast", "link-in-text-block"]


def _axe(page: object, rules: list[str] | None = None) -> list[str]:
    """axe-core's WCAG A/AA violations on the page (only ``rules``, if given)."""
    if not page.evaluate("typeof axe !== 'undefined'"):  # type: ignore[attr-defined]
        page.add_script_tag(path=str(AXE))  # type: ignore[attr-defined]
    run_only = {"type": "rule", "values": rules} if rules else {"type": "tag", "values": TAGS}
    result = page.evaluate(  # type: ignore[attr-defined]
        "runOnly => axe.run(document, {runOnly, resultTypes: ['violations']})", run_only)
    return [f"{v['id']} ({v['impact']}): {v['help']} -- " +
            "; ".join(" ".join(n["target"]) if isinstance(n["target"][0], str) else str(n["target"])
                      for n in v["nodes"][:4]) + (f" (+{len(v['nodes']) - 4} more)" if len(v["nodes"]) > 4 else "")
            for v in result["violations"]]


def _ready(page: object) -> None:
    wait_for_math(page)
    page.wait_for_function(  # type: ignore[attr-defined]
        "[...document.querySelectorAll('.rb-widget')].every(w => w.dataset.ready === '1')", timeout=10_000)


@pytest.mark.parametrize("name", every_page())
def test_axe_finds_nothing_in_light_and_dark(watched: Watched, site: str, name: str) -> None:
    assert AXE.is_file(), f"axe-core is not installed at {AXE}: run `make npm-packages`"
    page = watched.page
    page.emulate_media(color_scheme="light")
    page.goto(f"{site}/{name}", wait_until="networkidle")
    _ready(page)
    assert page.evaluate("document.documentElement.dataset.theme") == "light"
    light = _axe(page)
    page.emulate_media(color_scheme="dark")  # the reader's system switches to dark mode
    page.wait_for_function("document.documentElement.dataset.theme === 'dark'", timeout=30_000)
    page.wait_for_timeout(300)  # colour transitions
    dark = _axe(page, COLOUR_RULES)  # the markup is the same: only colour can break
    assert (light, dark) == ([], []), f"axe, light: {light}\naxe, dark: {dark}"


def test_the_site_follows_the_system_colour_scheme(browser: object, site: str) -> None:
    for scheme in ("dark", "light"):
        w = Watched(browser, site, color_scheme=scheme)
        try:
            w.page.goto(f"{site}/index.html")
            w.page.wait_for_function(f"document.documentElement.dataset.theme === '{scheme}'", timeout=5_000)
            assert w.page.evaluate("document.documentElement.dataset.mode") == "auto"
        finally:
            w.close()


@pytest.mark.xdist_group("lighthouse")
def test_lighthouse_scores_100_on_the_chapters(site: str, tmp_path: Path) -> None:
    script = ROOT / "tests" / "site" / "lighthouse.mjs"
    assert (NODE_MODULES / "lighthouse").is_dir(), "Lighthouse is not installed: run `make npm-packages`"
    urls = [f"{site}/{c}" for c in chapters()]
    out = tmp_path / "lighthouse.json"
    env = {**os.environ, "CHROME_PATH": CHROMIUM, "NODE_PATH": str(NODE_MODULES)}
    run = subprocess.run(["node", str(script), str(out), *urls], cwd=ROOT, env=env, capture_output=True, text=True,
                         timeout=900)
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads(out.read_text())
    below = {u.replace(site + "/", ""): {"scores": r["scores"], "failing": [f["id"] for f in r["failing"]],
                                         "error": r["runtimeError"]}
             for u, r in results.items()
             if r["runtimeError"] or any(s != 1 for s in r["scores"].values())}
    assert set(results) == set(urls)
    assert below == {}, f"Lighthouse below 100: {below}"
