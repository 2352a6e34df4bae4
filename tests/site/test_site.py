"""The built book in a real browser (Chromium driven by Playwright).

Every page: no console errors, no failed requests, nothing fetched from
outside the site, math typeset by the bundled MathJax, every image loaded.
Search finds a chapter by a word in it. Each interactive figure builds itself,
answers keyboard and mouse input by changing the numbers it shows, and falls
back to its text without JavaScript. A screenshot of every chapter is kept in
``_build/browser-artifacts/``.
"""

from __future__ import annotations

import json
import urllib.request

import pytest
from sitekit import ARTIFACTS, HTML, Watched, chapters, pages

PAGES = pages()
CHAPTERS = chapters()
WIDGET_PAGES = [p for p in PAGES if 'class="rb-widget"' in (HTML / p).read_text()]


def test_the_book_has_pages() -> None:
    assert "index.html" in PAGES and len(CHAPTERS) >= 1


@pytest.mark.parametrize("name", PAGES)
def test_page_loads_cleanly(watched: Watched, site: str, name: str) -> None:
    page = watched.page
    page.goto(f"{site}/{name}", wait_until="networkidle")
    n_math = page.locator(".math").count()
    if n_math:
        # MathJax typesets asynchronously: wait until every math element holds its rendering.
        page.wait_for_function("document.querySelectorAll('.math mjx-container').length >= "
                               "document.querySelectorAll('.math').length", timeout=30_000)
        assert page.locator("mjx-merror").count() == 0, "MathJax reported a TeX error"
    broken = page.evaluate("[...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)")
    assert broken == [], f"images that did not load: {broken}"
    assert watched.external == [], f"requests to outside the site: {watched.external}"
    assert watched.failed == [], f"failed requests: {watched.failed}"
    assert watched.errors == [], f"console errors: {watched.errors}"
    if name in CHAPTERS:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / name.replace(".html", ".png")), full_page=True)


@pytest.mark.parametrize("name", CHAPTERS)
def test_chapter_offers_its_notebook(watched: Watched, site: str, name: str) -> None:
    page = watched.page
    page.goto(f"{site}/{name}")
    link = page.locator("a[href$='.ipynb']").first
    href = link.get_attribute("href")
    assert href is not None and href.endswith(name.replace(".html", ".ipynb"))
    with urllib.request.urlopen(f"{site}/{href}") as r:
        nb = json.loads(r.read())
    assert nb["nbformat"] == 4 and any(c["cell_type"] == "code" for c in nb["cells"])


def test_search_finds_a_chapter_by_a_word_in_it(watched: Watched, site: str) -> None:
    page = watched.page
    page.goto(f"{site}/search.html?q=leash")
    page.wait_for_selector("#search-results li a", timeout=30_000)
    hrefs = page.eval_on_selector_all("#search-results li a", "els => els.map(e => e.getAttribute('href'))")
    assert any("penalties" in h for h in hrefs), hrefs
    assert watched.errors == []


def _outputs(widget: object) -> list[str]:
    return widget.locator("output").all_inner_texts()  # type: ignore[attr-defined, no-any-return]


@pytest.mark.parametrize("name", WIDGET_PAGES)
def test_interactive_figures_respond(watched: Watched, site: str, name: str) -> None:
    page = watched.page
    page.goto(f"{site}/{name}", wait_until="networkidle")
    widgets = page.locator(".rb-widget")
    assert widgets.count() >= 1
    for i in range(widgets.count()):
        widget = widgets.nth(i)
        kind = widget.get_attribute("data-widget")
        page.wait_for_function("w => w.dataset.ready === '1'", arg=widget.element_handle(), timeout=10_000)
        assert not widget.locator(".rb-widget-fallback").is_visible(), f"{kind}: fallback still shown"
        assert widget.locator("output").count() >= 1, f"{kind}: shows no numbers"
        sliders = widget.locator("input[type=range]")
        assert sliders.count() >= 1, f"{kind}: no slider"
        for s in range(sliders.count()):
            slider = sliders.nth(s)
            before = _outputs(widget)
            slider.focus()  # keyboard
            for _ in range(3):
                slider.press("ArrowRight")
            slider.press("End")
            after_keys = _outputs(widget)
            assert after_keys != before, f"{kind}: slider {s} did not change the numbers from the keyboard"
            box = slider.bounding_box()  # mouse: click near the left end
            assert box is not None
            page.mouse.click(box["x"] + 3, box["y"] + box["height"] / 2)
            assert _outputs(widget) != after_keys, f"{kind}: slider {s} did not answer the mouse"
        toggles = widget.locator("input[type=checkbox], input[type=radio], button")
        changed = []
        for t in range(toggles.count()):
            toggle = toggles.nth(t)
            if not toggle.is_visible() or not toggle.is_enabled():
                continue
            before_html = widget.inner_html()
            toggle.click()
            changed.append(widget.inner_html() != before_html)
        # Some toggles act over time (an animation switch); at least one must redraw at once.
        assert not changed or any(changed), f"{kind}: no button or toggle changed the figure"
    assert watched.errors == [], watched.errors


@pytest.mark.parametrize("name", WIDGET_PAGES)
def test_interactive_figures_fall_back_without_javascript(browser: object, site: str, name: str) -> None:
    context = browser.new_context(java_script_enabled=False)  # type: ignore[attr-defined]
    try:
        page = context.new_page()
        page.goto(f"{site}/{name}")
        fallbacks = page.locator(".rb-widget-fallback")
        assert fallbacks.count() >= 1
        for i in range(fallbacks.count()):
            assert fallbacks.nth(i).is_visible() and fallbacks.nth(i).inner_text().strip()
    finally:
        context.close()
