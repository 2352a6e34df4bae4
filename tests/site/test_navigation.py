"""Getting around the book at every width, in Chromium.

On a phone (390 px) the chapter list opens from the button at the top of the
page and any chapter is two taps away; on a desktop (1280 px) the same button
collapses the sidebar and brings it back. pydata-sphinx-theme 0.20 broke both
by adding a second ``.primary-toggle`` to the navbar (its script wires the
first one only); conf.py leaves the navbar empty, so each toggle exists once.
"""

from __future__ import annotations

import pytest
from sitekit import Watched, chapters, pages

CHAPTERS = chapters()


@pytest.mark.parametrize("name", pages())
def test_each_toggle_exists_once(watched: Watched, site: str, name: str) -> None:
    watched.page.goto(f"{site}/{name}")
    for selector in (".primary-toggle", ".secondary-toggle"):
        assert watched.page.locator(selector).count() <= 1, f"{selector} twice: the theme wires only the first"
    assert watched.page.locator(".primary-toggle").count() == 1


@pytest.mark.parametrize("start", ["index.html", CHAPTERS[-1] if CHAPTERS else "index.html"])
def test_phone_opens_the_chapter_list_and_follows_a_link(phone: Watched, site: str, start: str) -> None:
    page = phone.page
    page.goto(f"{site}/{start}", wait_until="networkidle")
    sidebar_links = page.locator("#pst-primary-sidebar nav.bd-docs-nav a.reference.internal")
    assert not sidebar_links.first.is_visible(), "on a phone the chapter list starts closed"
    toggle = page.locator(".primary-toggle")
    assert toggle.is_visible(), "the sidebar button is not visible on a phone"
    box = toggle.bounding_box()
    assert box is not None and box["width"] >= 24 and box["height"] >= 24, f"tap target too small: {box}"
    toggle.click()  # tap 1
    dialog = page.locator("#pst-primary-sidebar-modal")
    page.wait_for_function("document.querySelector('#pst-primary-sidebar-modal').open", timeout=5_000)
    links = dialog.locator("nav.bd-docs-nav a.reference.internal")
    assert links.count() >= len(CHAPTERS), "the opened list does not hold every chapter"
    target = CHAPTERS[0] if start != CHAPTERS[0] else CHAPTERS[1]
    link = dialog.locator(f"nav.bd-docs-nav a.reference.internal[href$='{target}']").first
    assert link.is_visible()
    link.click()  # tap 2
    page.wait_for_url(f"**/{target}", timeout=10_000)
    assert page.locator("article h1").first.is_visible()
    assert phone.errors == [] and phone.failed == []


def test_phone_closes_the_list_with_escape(phone: Watched, site: str) -> None:
    page = phone.page
    page.goto(f"{site}/{CHAPTERS[0]}", wait_until="networkidle")
    page.locator(".primary-toggle").click()
    page.wait_for_function("document.querySelector('#pst-primary-sidebar-modal').open", timeout=5_000)
    page.keyboard.press("Escape")
    page.wait_for_function("!document.querySelector('#pst-primary-sidebar-modal').open", timeout=5_000)
    assert page.evaluate("document.activeElement.classList.contains('primary-toggle')"), "focus returns to the button"


def test_phone_opens_the_page_contents(phone: Watched, site: str) -> None:
    page = phone.page
    page.goto(f"{site}/{CHAPTERS[0]}", wait_until="networkidle")
    toggle = page.locator(".secondary-toggle")
    assert toggle.is_visible()
    toggle.click()
    page.wait_for_function("document.querySelector('#pst-secondary-sidebar-modal').open", timeout=5_000)
    assert page.locator("#pst-secondary-sidebar-modal nav a").count() >= 2


def test_desktop_collapses_and_restores_the_sidebar(watched: Watched, site: str) -> None:
    page = watched.page
    page.goto(f"{site}/{CHAPTERS[0]}", wait_until="networkidle")
    sidebar = page.locator("#pst-primary-sidebar")
    article = page.locator("article.bd-article")
    assert sidebar.is_visible()
    width_before = article.bounding_box()["width"]  # type: ignore[index]
    page.locator(".primary-toggle").click()
    sidebar.wait_for(state="hidden", timeout=5_000)
    assert not page.evaluate("document.querySelector('#pst-primary-sidebar-modal').open"), \
        "on a desktop the button collapses the sidebar; it must not open the phone's dialog"
    assert article.bounding_box()["width"] > width_before + 100, "the article does not take the room"  # type: ignore[index]
    page.locator(".primary-toggle").click()
    sidebar.wait_for(state="visible", timeout=5_000)
    assert sidebar.locator("nav.bd-docs-nav a.reference.internal").first.is_visible()
    assert watched.errors == []
