"""`make pdf`: the whole book as one PDF, printed by Chromium from the built HTML.

    python book/_ext/regbook_pdf.py --html _build/html [--out FILE] [--base-url URL]

Reads the built site (``make html``; nothing is executed or re-read), takes the
article of every page in the book's reading order (the sidebar's order), and
assembles one print document next to ``index.html`` (so figures and fonts
resolve): a title page, a table of contents with page numbers, then each page
starting on a new sheet. Ids are made unique per page and links between pages
become links inside the PDF; links to things that exist only on the web site
(module sources, downloads, search) point at ``--base-url`` if one is given
and are plain text otherwise. Hidden code cells stay hidden (as on the page);
folded solutions are printed open. Every interactive figure is replaced by its still fallback and a sentence
saying that it is interactive on the web. Equations are typeset already (the
build does it), so nothing has to run in the page before printing.

Chromium (driven by Playwright, ``/usr/bin/chromium`` or ``$REGBOOK_CHROMIUM``)
prints it on A4 with page numbers in the footer. It prints twice from one
loaded page: a quick first pass finds on which sheet each page of the book
starts (read back with ``pdftotext``); the numbers go into the contents and
the final pass prints a tagged PDF (structure for screen readers) with the
headings as its outline. The script fails if an image does not load.
"""

from __future__ import annotations

import argparse
import copy
import datetime
import os
import re
import subprocess
import tempfile
import time
from pathlib import Path

from bs4 import BeautifulSoup, Tag

PDF_NAME = "regularization-in-deep-learning.pdf"
PRINT_NAME = "_regbook-print.html"
CHROMIUM = os.environ.get("REGBOOK_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
WEB_ONLY = re.compile(r"^(_modules/|_sources/|genindex\.html|py-modindex\.html|search\.html|.*\.(zip|ipynb|pdf)$)")
INTERACTIVE = ("This figure is interactive in the web edition of the book{where}: there you can move its "
               "sliders and buttons. Here it is shown as a still, described in the text above.")

PRINT_CSS = """
@page { size: A4; margin: 18mm 16mm 20mm 16mm; }
html, body { background: #fff !important; color: #000; }
body { font-size: 10.5pt; margin: 0; }
.rb-print-page { break-before: page; }
.rb-title { height: 240mm; display: flex; flex-direction: column; justify-content: center; text-align: center; }
.rb-title h1 { font-size: 28pt; margin: 0 0 .4em; border: 0; }
.rb-title p { font-size: 13pt; margin: .3em 0; }
.rb-toc ol { list-style: none; padding-left: 0; }
.rb-toc li { display: flex; align-items: baseline; margin: .25em 0; }
.rb-toc li a { color: #000; text-decoration: none; }
.rb-toc li .rb-toc-fill { flex: 1; border-bottom: 1px dotted #888; margin: 0 .4em; }
.rb-toc li.rb-toc-part { font-weight: 600; margin-top: .9em; }
a { color: #0b4f8a; }
pre, .highlight { white-space: pre-wrap; word-break: break-word; }
div.cell_output img, figure img, img { max-width: 100%; height: auto; break-inside: avoid; }
figure, table, div.math, .cell_output, mjx-container[display="true"] { break-inside: avoid; }
h1, h2, h3 { break-after: avoid; }
details > summary { list-style: none; font-weight: 600; }
details > summary::-webkit-details-marker, details > summary::marker { display: none; content: ""; }
details > *:not(summary) { display: block !important; }
.rb-interactive-note { font-style: italic; border-left: 3px solid #0b4f8a; padding-left: .6em; }
.headerlink, .copybtn, button, .toggle-details__summary, .d-print-none { display: none !important; }
"""


def reading_order(html_dir: Path) -> list[tuple[str, str, str]]:
    """(page file, title, caption of its part) in the order of the book's sidebar, the landing page first."""
    soup = BeautifulSoup((html_dir / "index.html").read_text(encoding="utf-8"), "html.parser")
    nav = soup.select_one("nav.bd-docs-nav")
    if nav is None:
        raise SystemExit("no navigation in index.html: is this a sphinx-book-theme build?")
    order: list[tuple[str, str, str]] = []
    caption = ""
    for el in nav.find_all(["p", "a"]):
        if el.name == "p" and "caption" in (el.get("class") or []):
            caption = el.get_text(" ", strip=True)
        elif el.name == "a" and "reference" in (el.get("class") or []) and "internal" in (el.get("class") or []):
            href = str(el.get("href", "")).split("#")[0]
            if href and href.endswith(".html") and href not in [o[0] for o in order]:
                order.append((href, el.get_text(" ", strip=True), caption))
    if not order or order[0][0] != "index.html":
        order.insert(0, ("index.html", soup.title.get_text(strip=True).split("—")[0].strip() if soup.title else "", ""))
    return order


def _anchor(page: str, frag: str = "") -> str:
    stem = page[:-5] if page.endswith(".html") else page
    return f"{stem}--{frag}" if frag else stem


def _fix_links(article: Tag, page: str, pages: set[str], base_url: str | None) -> None:
    for el in article.find_all(id=True):
        el["id"] = _anchor(page, str(el["id"]))
    for a in article.find_all("a", href=True):
        href = str(a["href"])
        if href.startswith(("http://", "https://", "mailto:")):
            continue
        target, _, frag = href.partition("#")
        if not target:
            a["href"] = "#" + _anchor(page, frag)
        elif target in pages:
            a["href"] = "#" + _anchor(target, frag)
        elif base_url and WEB_ONLY.match(target):
            a["href"] = base_url.rstrip("/") + "/" + href
        else:
            a.unwrap()


def _widgets(article: Tag, soup: BeautifulSoup, where: str) -> int:
    n = 0
    for w in article.select(".rb-widget"):
        fallback = w.select_one(".rb-widget-fallback")
        note = soup.new_tag("p", attrs={"class": "rb-interactive-note"})
        note.string = INTERACTIVE.format(where=where)
        keep = soup.new_tag("div", attrs={"class": "rb-widget-still"})
        if fallback is not None:
            fb = copy.copy(fallback)
            fb["class"] = ["rb-widget-fallback-print"]
            keep.append(fb)
        keep.append(note)
        w.replace_with(keep)
        n += 1
    return n


def assemble(html_dir: Path, base_url: str | None = None) -> tuple[str, int]:
    """The print document (HTML) and the number of interactive figures replaced by stills.

    The contents leave the page numbers empty (``<span class="rb-toc-num" data-for="page.html">``):
    they are filled in, in the loaded page, once a first print has shown where each page starts.
    """
    order = reading_order(html_dir)
    pages = {p for p, _, _ in order}
    index = BeautifulSoup((html_dir / "index.html").read_text(encoding="utf-8"), "html.parser")
    head_links = [str(link) for link in index.head.find_all("link", rel="stylesheet")
                  if "widgets/" not in str(link.get("href", ""))]
    math_css: list[str] = []
    bodies: list[str] = []
    widgets = 0
    for page, _title, _caption in order:
        text = (html_dir / page).read_text(encoding="utf-8")
        style = re.search(r'<style id="regbook-math-css">(.*?)</style>', text, re.S)
        if style is not None:
            math_css.append(style.group(1))
        start, end = text.find('<article class="bd-article">'), text.rfind("</article>")
        if start < 0 or end < 0:
            continue
        soup = BeautifulSoup(text[start:end + len("</article>")], "html.parser")  # the article alone: faster
        article = soup.article
        if article is None:
            continue
        # As the page shows it before anything is clicked: hidden code cells stay out; folded
        # solutions (dropdowns) are printed open, under their title.
        for el in article.select("script, .headerlink, button, .d-print-none, details.hide"):
            el.decompose()
        for d in article.find_all("details"):
            d["open"] = ""
        where = f" ({base_url.rstrip('/')}/{page})" if base_url else ""
        widgets += _widgets(article, soup, where)
        _fix_links(article, page, pages, base_url)
        article.name = "section"
        article["class"] = ["rb-print-page", "bd-article"]
        article["id"] = _anchor(page)
        bodies.append(str(article))

    title = index.title.get_text(strip=True).split("—")[0].strip() if index.title else "The book"
    title = re.sub(r"\s*[-—|].*$", "", title) or title
    toc = ['<section class="rb-print-page rb-toc" id="contents"><h1>Contents</h1><ol>']
    last = None
    for page, name, caption in order:
        if caption and caption != last:
            toc.append(f'<li class="rb-toc-part">{caption}</li>')
            last = caption
        toc.append(f'<li><a href="#{_anchor(page)}">{name}</a><span class="rb-toc-fill"></span>'
                   f'<span class="rb-toc-num" data-for="{page}"></span></li>')
    toc.append("</ol></section>")
    today = datetime.date.today().isoformat()
    web = f"<p>Web edition: {base_url}</p>" if base_url else ""
    title_page = (f'<section class="rb-title" id="title"><h1>{title}</h1>'
                  "<p>An executable textbook on regularization in deep learning</p>"
                  f"<p>The regbook authors</p>{web}<p>Printed from the built book on {today}.</p></section>")
    doc = ("<!DOCTYPE html>\n<html lang=\"en\" data-theme=\"light\" data-mode=\"light\"><head><meta charset=\"utf-8\">"
           f"<title>{title}</title>{''.join(head_links)}"
           f"<style>{''.join(math_css)}</style><style>{PRINT_CSS}</style></head>"
           f"<body><main class=\"bd-main\">{title_page}{''.join(toc)}{''.join(bodies)}</main></body></html>")
    return doc, widgets


FOOTER = '<div style="font-size:8pt;width:100%;text-align:center;color:#444;"><span class="pageNumber"></span></div>'


def _open(browser: object, html_file: Path) -> object:
    page = browser.new_page()  # type: ignore[attr-defined]
    page.goto(html_file.as_uri(), wait_until="networkidle")
    page.evaluate("document.fonts.ready")
    broken = page.evaluate("[...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src)")
    if broken:
        raise SystemExit(f"images that did not load in the print document: {broken}")
    page.emulate_media(media="print")
    return page


def _print(page: object, pdf: Path, *, final: bool) -> None:
    """Print on A4 with page numbers; the final print is tagged, with the headings as the PDF's outline."""
    page.pdf(path=str(pdf), format="A4", print_background=True, display_header_footer=True,  # type: ignore[attr-defined]
             header_template="<div></div>", footer_template=FOOTER, prefer_css_page_size=True,
             outline=final, tagged=final)


MARK = "RBPAGESTART"


def _mark_starts(page: object, order: list[tuple[str, str, str]]) -> None:
    """Put an out-of-flow marker (``RBPAGESTART:<anchor>``) at the top of each page of the book.

    The markers take no room (absolutely positioned, 1 px), so the draft paginates as the final
    print does; ``start_pages`` reads them back and ``_unmark`` removes them before the final print.
    """
    anchors = {_anchor(name): name for name, _, _ in order}
    page.evaluate(  # type: ignore[attr-defined]
        """([mark, anchors]) => anchors.forEach(id => {
             const s = document.getElementById(id);
             if (!s) return;
             const m = document.createElement('span');
             m.className = 'rb-start-mark';
             m.textContent = mark + ':' + id;
             m.style.cssText = 'position:absolute;font-size:1px;line-height:1px;color:#fff;';
             s.prepend(m);
           })""", [MARK, list(anchors)])


def _unmark(page: object) -> None:
    page.evaluate("document.querySelectorAll('.rb-start-mark').forEach(m => m.remove())")  # type: ignore[attr-defined]


def start_pages(pdf: Path, order: list[tuple[str, str, str]]) -> dict[str, int]:
    """On which sheet each page of the book starts, read back from the markers in the draft PDF."""
    text = subprocess.run(["pdftotext", "-raw", str(pdf), "-"], check=True, capture_output=True,
                          text=True).stdout
    by_anchor = {_anchor(name): name for name, _, _ in order}
    numbers: dict[str, int] = {}
    for i, sheet in enumerate(text.split("\f")):
        for anchor in re.findall(MARK + r":([A-Za-z0-9_-]+)", sheet):
            if anchor in by_anchor and by_anchor[anchor] not in numbers:
                numbers[by_anchor[anchor]] = i + 1
    return numbers


def build(html_dir: Path, out: Path, base_url: str | None = None) -> tuple[int, int]:
    """Write the PDF; return (interactive figures replaced, pages of the book found in it)."""
    from playwright.sync_api import sync_playwright

    order = reading_order(html_dir)
    print_file = html_dir.resolve() / PRINT_NAME
    try:
        with sync_playwright() as p, tempfile.TemporaryDirectory() as tmp:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            draft = Path(tmp) / "draft.pdf"
            t0 = time.perf_counter()
            doc, widgets = assemble(html_dir, base_url)
            untypeset = len(re.findall(r'class="math notranslate nohighlight', doc)) - doc.count("<mjx-container")
            if untypeset > 0:
                raise SystemExit(f"{untypeset} equations in the built pages are not typeset: rebuild with `make html`")
            print_file.write_text(doc, encoding="utf-8")
            t1 = time.perf_counter()
            page = _open(browser, print_file)
            _mark_starts(page, order)
            _print(page, draft, final=False)  # where does each page of the book start?
            _unmark(page)
            t2 = time.perf_counter()
            numbers = start_pages(draft, order)
            missing = [name for name, _, _ in order if name not in numbers]
            if missing:
                raise SystemExit(f"the draft print does not show where these pages start: {missing}")
            page.evaluate("""numbers => document.querySelectorAll('.rb-toc-num').forEach(
                s => { s.textContent = numbers[s.dataset.for] || ''; })""", numbers)  # type: ignore[attr-defined]
            out.parent.mkdir(parents=True, exist_ok=True)
            _print(page, out, final=True)
            t3 = time.perf_counter()
            browser.close()
            print(f"assembled in {t1 - t0:.0f} s, printed in {t2 - t1:.0f} + {t3 - t2:.0f} s")
    finally:
        print_file.unlink(missing_ok=True)
    return widgets, len(numbers)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--html", type=Path, default=Path("_build/html"))
    ap.add_argument("--out", type=Path, default=None, help=f"default: <html>/{PDF_NAME}")
    ap.add_argument("--base-url", default=os.environ.get("REGBOOK_BASE_URL") or None,
                    help="where the web edition lives (links to web-only things point there)")
    args = ap.parse_args()
    if not (args.html / "index.html").is_file():
        raise SystemExit(f"no built book at {args.html}: run `make html` first")
    out = args.out or args.html / PDF_NAME
    widgets, found = build(args.html, out, args.base_url)
    sheets = subprocess.run(["pdfinfo", str(out)], check=True, capture_output=True, text=True).stdout
    n = re.search(r"Pages:\s+(\d+)", sheets)
    print(f"PDF written: {out} ({n.group(1) if n else '?'} pages, {out.stat().st_size / 1e6:.1f} MB; "
          f"{found} pages of the book located; {widgets} interactive figures shown as stills)")


if __name__ == "__main__":
    main()
