"""Pages stay light: what each page loads, measured in Chromium.

A page's weight is the sum of the bodies of every response it receives
(uncompressed), after it has loaded and gone quiet (``weights.py`` measures;
``make weights`` prints the table). The median chapter loads at most 1.5 MB
and every page at most 2.5 MB. What used to make them heavy is checked
directly: no Font Awesome script and no full icon font (only the glyphs the
site uses), no MathJax script (equations are typeset at build time), the
search index only on the search page, and no image over 200 kB.
"""

from __future__ import annotations

import json
import re
import statistics
from pathlib import Path

import pytest
from filelock import FileLock
from sitekit import HTML, chapters, pages
from weights import CHAPTER_MEDIAN_LIMIT, PAGE_LIMIT, PNG_LIMIT, measure

PAGES = pages()
CHAPTERS = chapters()


def _measure_all(browser: object, site: str) -> dict[str, tuple[int, dict[str, int]]]:
    out = {}
    for name in PAGES:
        total, sizes, w = measure(browser, site, name)
        assert w.errors == [] and w.failed == [], (name, w.errors, w.failed)  # type: ignore[attr-defined]
        w.close()  # type: ignore[attr-defined]
        out[name] = (total, {u.replace(site, ""): n for u, n in sizes.items()})
    return out


@pytest.fixture(scope="session")
def weights(browser: object, site: str, tmp_path_factory: pytest.TempPathFactory,
            worker_id: str) -> dict[str, tuple[int, dict[str, int]]]:
    """Every page measured once per test run: the first xdist worker to get here measures, the other
    reads its file (these tests are not always scheduled on one worker)."""
    if worker_id == "master":
        return _measure_all(browser, site)
    shared = tmp_path_factory.getbasetemp().parent / "page-weights.json"
    with FileLock(f"{shared}.lock"):
        if not shared.is_file():
            shared.write_text(json.dumps(_measure_all(browser, site)))
        return {name: (total, sizes) for name, (total, sizes) in json.loads(shared.read_text()).items()}


@pytest.mark.xdist_group("weights")
def test_median_chapter_is_light(weights: dict[str, tuple[int, dict[str, int]]]) -> None:
    totals = {n: weights[n][0] for n in CHAPTERS}
    median = statistics.median(totals.values())
    assert median <= CHAPTER_MEDIAN_LIMIT, f"median chapter loads {median / 1e6:.2f} MB: " + \
        ", ".join(f"{n} {t / 1e6:.2f}" for n, t in sorted(totals.items(), key=lambda x: -x[1]))


@pytest.mark.xdist_group("weights")
def test_every_page_is_light(weights: dict[str, tuple[int, dict[str, int]]]) -> None:
    heavy = {}
    for name, (total, sizes) in weights.items():
        if total > PAGE_LIMIT:
            top = sorted(sizes.items(), key=lambda x: -x[1])[:3]
            heavy[name] = f"{total / 1e6:.2f} MB, most from " + ", ".join(f"{u} ({n / 1e3:.0f} kB)" for u, n in top)
    assert heavy == {}, f"pages over {PAGE_LIMIT / 1e6:.1f} MB: {heavy}"


@pytest.mark.xdist_group("weights")
def test_no_image_over_200_kb(weights: dict[str, tuple[int, dict[str, int]]]) -> None:
    """Figures (PNG, SVG with embedded rasters, photos) are the chapters'; this names page and file."""
    big = {}
    for name, (_, sizes) in weights.items():
        for url, n in sizes.items():
            if re.search(r"\.(png|svg|jpe?g|webp|gif)(\?|$)", url) and n > PNG_LIMIT:
                big.setdefault(name, []).append(f"{url.split('/')[-1][:16]}… {n / 1e3:.0f} kB")
    assert big == {}, f"images over {PNG_LIMIT / 1e3:.0f} kB (photos as JPEG/WebP, plots as small SVG/PNG): {big}"


@pytest.mark.xdist_group("weights")
def test_what_used_to_be_heavy_is_gone(weights: dict[str, tuple[int, dict[str, int]]]) -> None:
    for name, (_, sizes) in weights.items():
        urls = list(sizes)
        assert not [u for u in urls if "fontawesome" in u], f"{name}: Font Awesome script or full font loaded"
        assert not [u for u in urls if "/mathjax/" in u and u.split("?")[0].endswith(".js")], \
            f"{name}: a MathJax script was loaded (equations are typeset at build time)"
        search = [u for u in urls if re.search(r"searchindex\.js|searchtools\.js", u)]
        assert not search, f"{name}: the search index or tools load outside the search page"
    icons = sorted((HTML / "_static" / "icons").glob("*.woff2"))
    assert icons and sum(p.stat().st_size for p in icons) < 20_000, [(p.name, p.stat().st_size) for p in icons]


def test_the_search_page_loads_the_index(watched: object, site: str) -> None:
    page = watched.page  # type: ignore[attr-defined]
    page.goto(f"{site}/search.html?q=dropout", wait_until="networkidle")
    page.wait_for_selector("#search-results li", timeout=30_000)
    assert any("searchindex.js" in r.url for r in watched.responses)  # type: ignore[attr-defined]


def test_icons_in_use_are_in_the_cut_font() -> None:
    """Every Font Awesome icon a page names has its glyph in the subset font (else the browser falls back)."""
    import sys

    from fontTools.ttLib import TTFont

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "book" / "_ext"))
    import regbook_site

    used = regbook_site.used_icons(HTML)
    assert used.get("solid"), "no icon found in the pages: the scan is broken"
    css = (HTML / "_static" / regbook_site.THEME_CSS).read_text()
    for style, names in used.items():
        font, *_ = regbook_site._FACES[style]
        cmap = TTFont(HTML / "_static" / "icons" / font).getBestCmap()
        codes = regbook_site._codepoints(css, names)
        assert set(codes) == names, f"icons without a rule in the stylesheet: {names - set(codes)}"
        missing = {n for n, c in codes.items() if c not in cmap}
        assert not missing, f"{style} icons missing from the cut font: {missing}"
    kept = len(re.findall(r'\{--fa:"', css))
    assert kept < 100, f"{kept} icon rules kept in the theme stylesheet"
