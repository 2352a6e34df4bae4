"""What readers notice: copy buttons, search, the bibliography.

* A copy button on an example with ``>>>`` prompts copies only the code, with
  the prompts stripped and the outputs left out, so a paste runs.
* Search lists the book's pages above API entries, and the text shown under
  a result comes from the page's article, not from the theme's menus, table
  of contents or buttons (Sphinx took it from the whole ``[role=main]``).
* The bibliography renders the LaTeX in titles (no ``$`` or ``\\`` left) and
  links every DOI and arXiv id an entry has.
"""

from __future__ import annotations

import re

import pytest
from bs4 import BeautifulSoup
from sitekit import HTML, ROOT, Watched

API = re.compile(r"(^|/)(api(_[a-z]+)?\.html|_modules/)")  # the API pages (ops; experiments) and module sources


def _prompt_blocks() -> list[tuple[str, int]]:
    """(page, index among the page's div.highlight) of code blocks with >>> prompts and an output line."""
    found = []
    for page in sorted(HTML.glob("*.html")):
        soup = BeautifulSoup(page.read_text(), "html.parser")
        for i, block in enumerate(soup.select("div.highlight")):
            lines = block.get_text().splitlines()
            if any(line.startswith(">>> ") for line in lines) and any(
                    line and not line.startswith((">>> ", "... ")) for line in lines):
                found.append((page.name, i))
    return found


def test_copy_buttons_copy_runnable_code(browser: object, site: str) -> None:
    blocks = _prompt_blocks()
    assert blocks, "no example with >>> prompts and output in the book: nothing to check"
    w = Watched(browser, site)
    try:
        w.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=site)
        for page_name, index in blocks[:3]:
            w.page.goto(f"{site}/{page_name}", wait_until="networkidle")
            block = w.page.locator("div.highlight").nth(index)
            shown = block.inner_text()
            block.hover()
            block.locator("xpath=..").locator("button.copybtn").first.click(force=True)
            copied = w.page.evaluate("navigator.clipboard.readText()")
            expected = [line[4:] for line in shown.splitlines() if line.startswith((">>> ", "... "))]
            assert copied.splitlines() == expected, f"{page_name}: copied {copied!r}"
            assert ">>>" not in copied
    finally:
        w.close()


@pytest.mark.parametrize("query", ["dropout", "batch normalization", "label smoothing"])
def test_search_lists_chapters_before_api_entries(watched: Watched, site: str, query: str) -> None:
    page = watched.page
    page.goto(f"{site}/search.html?q={query}", wait_until="networkidle")
    page.wait_for_selector("#search-results li a", timeout=30_000)
    page.wait_for_function("!document.querySelector('#search-progress')?.textContent.includes('Preparing')")
    hrefs = page.eval_on_selector_all("#search-results li > a", "els => els.map(e => e.getAttribute('href'))")
    kinds = [bool(API.search(h)) for h in hrefs]
    assert not kinds[0], f"first result for {query!r} is an API entry: {hrefs[:5]}"
    assert kinds == sorted(kinds), f"an API entry ranks above a page for {query!r}: {hrefs[:12]}"
    assert False in kinds and True in kinds, hrefs


def test_search_summaries_come_from_the_article(watched: Watched, site: str) -> None:
    """The text under a result is a piece of that page's article: no menu, table of contents or button text."""
    page = watched.page
    page.goto(f"{site}/search.html?q=weight decay", wait_until="networkidle")
    page.wait_for_function("document.querySelectorAll('#search-results li p.context').length >= 3",
                           timeout=30_000)
    results = page.eval_on_selector_all(
        "#search-results li", "els => els.map(e => [e.querySelector('a').getAttribute('href'),"
        " (e.querySelector('p.context') || {}).textContent || ''])")
    checked = 0
    for href, summary in results:
        if not summary:
            continue
        doc = BeautifulSoup((HTML / href.split("#")[0].split("?")[0]).read_text(), "html.parser")
        article = doc.select_one("article.bd-article")
        assert article is not None
        for el in article.select(".headerlink, script, style, button, summary"):
            el.decompose()
        text = _squash(article.get_text(""))
        piece = _squash(summary.strip(". "))
        assert piece[:60] in text, f"{href}: summary not from the article: {summary[:100]!r}"
        checked += 1
    assert checked >= 3
    assert watched.errors == []


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_the_bibliography_renders_latex_and_links_ids() -> None:
    soup = BeautifulSoup((HTML / "references.html").read_text(), "html.parser")
    entries = soup.select("article .citation")
    assert len(entries) >= 20
    for e in entries:
        text = e.get_text(" ", strip=True)
        raw = [m for m in re.findall(r"\$[^$]*\$|\\[a-zA-Z]+|[{}]", text)]
        assert raw == [] or e.select(".math, mjx-container"), f"LaTeX left raw in {text[:120]!r}: {raw}"
    bib = (ROOT / "book" / "references.bib").read_text()
    dois = re.findall(r"^\s*doi\s*=\s*\{([^}]+)\}", bib, re.M)
    arxiv = re.findall(r"^\s*eprint\s*=\s*\{([^}]+)\}", bib, re.M)
    assert len(dois) + len(arxiv) >= 20, "entries carry too few DOIs / arXiv ids"
    hrefs = [a.get("href", "") for a in soup.select("article .citation a")]
    for doi in dois:
        assert f"https://doi.org/{doi}" in hrefs, f"DOI {doi} not linked"
    for eprint in arxiv:
        assert f"https://arxiv.org/abs/{eprint}" in hrefs, f"arXiv {eprint} not linked"
