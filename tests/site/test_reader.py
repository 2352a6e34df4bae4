"""The page a student reads (issue 15), checked in Chromium at 1280 and 390 px.

On every chapter page: no build plumbing visible (``glue(``, ``assert``), no
raw docstring markup, no traceback and no path of any machine; code takes at
most a quarter of the page's height; every figure has alt text that says
something (not a file name) and type no smaller than 11 px on a desktop; no
display equation is wider than its column on a desktop; nothing makes the page
scroll sideways on a phone. The claims ledger works on a phone: cards, a
filter by status and by chapter, author-year citations.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sitekit import Watched, chapters

CHAPTERS = chapters()

PLUMBING = re.compile(r"\bglue\(|^\s*assert\b|:math:`|:func:`|:class:`|^\s*(Args|Raises|Returns):\s*$", re.M)
MACHINE = re.compile(r"Traceback \(most recent call last\)|/work/|/home/|/root/|/tmp/|site-packages|\.venv/")


@pytest.fixture
def phone(browser: object, site: str) -> Iterator[Watched]:
    w = Watched(browser, site)
    w.page.set_viewport_size({"width": 390, "height": 844})
    yield w
    w.close()


VISIBLE_CODE = """() => [...document.querySelectorAll('article .cell_input, article div.highlight')]
  .filter(e => e.offsetParent !== null && e.getClientRects().length && !e.closest('details:not([open])'))"""


@pytest.mark.parametrize("name", CHAPTERS)
def test_only_the_reader_layer_is_visible(watched: Watched, site: str, name: str) -> None:
    page = watched.page
    page.goto(f"{site}/{name}", wait_until="networkidle")
    code = page.evaluate(f"({VISIBLE_CODE})().map(e => e.innerText)")
    shown = [m.group(0).strip() for text in code for m in PLUMBING.finditer(text)]
    assert not shown, f"build plumbing or docstring markup in visible code: {sorted(set(shown))}"
    text = page.evaluate("document.querySelector('article').innerText")
    leaks = sorted({m.group(0) for m in MACHINE.finditer(text)})
    assert not leaks, f"a traceback or a machine path on the page: {leaks}"
    article = page.evaluate("document.querySelector('article').getBoundingClientRect().height")
    code_h = page.evaluate(f"({VISIBLE_CODE})().filter(e => !e.parentElement.closest('.cell_input, div.highlight'))"
                           ".reduce((s, e) => s + e.getBoundingClientRect().height, 0)")
    assert code_h <= 0.25 * article, f"code takes {code_h / article:.0%} of the page's height (at most 25%)"


@pytest.mark.parametrize("name", CHAPTERS)
def test_figures_have_alt_text_and_legible_type(watched: Watched, site: str, name: str) -> None:
    page = watched.page
    page.goto(f"{site}/{name}", wait_until="networkidle")
    imgs = page.evaluate("""() => [...document.querySelectorAll('article img')].filter(i => i.offsetParent !== null)
        .map(i => ({src: i.currentSrc || i.src, alt: i.getAttribute('alt'), w: i.getBoundingClientRect().width,
                    decorative: i.getAttribute('role') === 'presentation'
                                || i.getAttribute('aria-hidden') === 'true'}))""")
    bad_alt = [i["src"].rsplit("/", 1)[-1] for i in imgs if not i["decorative"] and (
        not i["alt"] or len(i["alt"].split()) < 4 or re.search(r"\.(png|svg|jpe?g|webp)$", i["alt"].strip(), re.I))]
    assert not bad_alt, f"figures whose alt text does not describe them: {bad_alt}"
    small = []
    for img in imgs:
        if not img["src"].endswith(".svg"):
            continue
        svg = page.evaluate("u => fetch(u).then(r => r.text())", img["src"])
        m = re.search(r'viewBox="[\d.\-]+ [\d.\-]+ ([\d.]+) [\d.]+"', svg)
        if not m:
            continue
        scale = img["w"] / float(m.group(1))  # screen px per SVG user unit (pt)
        # Text to read; not the size-variant glyph fonts (STIXSize*) that draw radicals and big
        # delimiters, whose font size is a scale fitted to what they enclose.
        sizes = [float(s) for s, family in re.findall(
            r"font(?:-size)?:\s*(?:[a-z]+\s+)*([\d.]+)px;\s*font-family:\s*'?([\w ]+)", svg)
            if not family.startswith("STIXSize")]
        if sizes and min(sizes) * scale < 11 - 1e-6:
            small.append(f"{img['src'].rsplit('/', 1)[-1]}: {min(sizes) * scale:.1f} px")
    assert not small, f"figure type smaller than 11 px at 1280: {small}"


@pytest.mark.parametrize("name", CHAPTERS)
def test_no_display_equation_is_clipped_on_a_desktop(watched: Watched, site: str, name: str) -> None:
    page = watched.page
    page.goto(f"{site}/{name}", wait_until="networkidle")
    if page.locator(".math").count():
        page.wait_for_function("document.querySelectorAll('.math mjx-container').length >= "
                               "document.querySelectorAll('.math').length", timeout=30_000)
    wide = page.evaluate("""() => [...document.querySelectorAll('div.math, mjx-container[display="true"]')]
        .filter(d => d.scrollWidth > d.clientWidth + 1).map(d => d.textContent.slice(0, 60))""")
    assert not wide, f"display equations wider than the column at 1280 px: {wide}"


@pytest.mark.parametrize("name", [*CHAPTERS, "index.html", "claims.html"])
def test_no_sideways_scroll_on_a_phone(phone: Watched, site: str, name: str) -> None:
    page = phone.page
    page.goto(f"{site}/{name}", wait_until="networkidle")
    if page.locator(".math").count():
        page.wait_for_function("document.querySelectorAll('.math mjx-container').length >= "
                               "document.querySelectorAll('.math').length", timeout=30_000)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page is {width} px wide on a 390 px phone"


def test_timings_are_marked(watched: Watched, site: str) -> None:
    """Machine-dependent numbers carry the class `timing` (and its visible marker)."""
    found = 0
    for name in CHAPTERS:
        watched.page.goto(f"{site}/{name}")
        found += watched.page.locator("article .timing").count()
        marker = watched.page.evaluate("""() => { const t = document.querySelector('article .timing');
            return t ? getComputedStyle(t, '::after').content : null; }""")
        assert marker in (None, '" ⏱"'), marker
    assert found >= 1, "no timing on any chapter is marked as machine-dependent"


def test_figures_have_a_dark_variant(browser: object, site: str) -> None:
    w = Watched(browser, site, color_scheme="dark")
    try:
        w.page.goto(f"{site}/{CHAPTERS[0]}", wait_until="networkidle")
        w.page.evaluate("document.documentElement.dataset.theme = 'dark'")
        f = w.page.eval_on_selector("article figure img, article .cell_output img", "i => getComputedStyle(i).filter")
        assert "invert" in f and "hue-rotate" in f, f
    finally:
        w.close()


def test_the_claims_ledger_works_on_a_phone(phone: Watched, site: str) -> None:
    page = phone.page
    page.goto(f"{site}/claims.html", wait_until="networkidle")
    cards = page.locator(".claim-card")
    n = cards.count()
    assert n >= 100
    box = cards.first.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    form = page.locator("form.claims-filter")
    assert form.is_visible()
    form.locator("select[name=status]").select_option("verified")
    shown = page.locator(".claim-card:not([hidden])").count()
    assert 0 < shown < n
    assert page.locator(".claim-card:not([hidden]) .claim-status").all_inner_texts() == ["verified exactly"] * shown
    form.locator("select[name=status]").select_option("")
    form.locator("select[name=chapter]").select_option("dropout")
    ids = page.eval_on_selector_all(".claim-card:not([hidden])", "els => els.map(e => e.id)")
    assert ids and all(i.startswith("claim-dropout") for i in ids), ids
    cites = page.locator(".claim-card a[href*='references']")
    assert cites.count() >= 10
    assert re.search(r"\d{4}", cites.first.inner_text()), "citations read author-year"


@pytest.mark.parametrize(("name", "anchor", "words"), [
    ("prenorm.html", "fig-prenorm-blocks", ("pre-norm", "post-norm")),
    ("batchnorm.html", "fig-bn-modes", ("train", "eval")),
])
def test_the_lectures_diagrams_are_drawn(watched: Watched, site: str, name: str, anchor: str,
                                         words: tuple[str, ...]) -> None:
    """The pre-norm/post-norm block diagram and BatchNorm's train/eval diagram: figures, with a caption and alt
    text that say what they show, drawn with text a reader can see."""
    page = watched.page
    page.goto(f"{site}/{name}", wait_until="networkidle")
    fig = page.locator(f"figure#{anchor}")
    assert fig.count() == 1, f"no figure #{anchor} on {name}"
    img = fig.locator("img").first
    assert img.is_visible() and img.evaluate("i => i.complete && i.naturalWidth > 0")
    said = (fig.locator("figcaption").inner_text() + " " + (img.get_attribute("alt") or "")).lower()
    assert all(w in said for w in words), f"caption and alt text of #{anchor} do not mention {words}: {said[:200]}"
