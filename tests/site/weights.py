"""How much each page of the built book loads, measured in Chromium.

A page's weight is the sum of the bodies of every response it receives from
the site (uncompressed bytes), counted after it has loaded, MathJax has
typeset and the network has gone quiet: HTML, CSS, scripts, fonts, images.

Run it on a built book (``make html``) to print a table, largest first::

    .venv/bin/python tests/site/weights.py [--builddir _build] [--markdown]

``make weights`` does exactly that, and ``make bench`` can call it the same way.
The site tests (``test_weight.py``) hold the limits: median chapter <= 1.5 MB,
every page <= 2.5 MB.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
from pathlib import Path

MB = 1_000_000
CHAPTER_MEDIAN_LIMIT = 1.5 * MB
PAGE_LIMIT = 2.5 * MB
PNG_LIMIT = 200_000


def kind(url: str) -> str:
    path = url.split("?")[0].split("#")[0]
    if "/mathjax/" in path:
        return "mathjax"
    for ext, name in ((".html", "html"), (".css", "css"), (".js", "js"), (".woff2", "font"), (".woff", "font"),
                      (".png", "image"), (".svg", "image"), (".jpg", "image"), (".jpeg", "image"),
                      (".webp", "image"), (".ico", "image")):
        if path.endswith(ext):
            return name
    return "other"


def settle(w: object, quiet_ms: int = 500) -> None:
    """Wait until no response has arrived for ``quiet_ms`` (fonts and images requested after typesetting)."""
    seen = -1
    while seen != len(w.responses):  # type: ignore[attr-defined]
        seen = len(w.responses)  # type: ignore[attr-defined]
        w.page.wait_for_timeout(quiet_ms)  # type: ignore[attr-defined]


def measure(browser: object, site: str, name: str) -> tuple[int, dict[str, int], object]:
    """Load ``name`` and return (total bytes, URL -> bytes, the Watched page, still open)."""
    from sitekit import Watched, wait_for_math

    w = Watched(browser, site)
    w.page.goto(f"{site}/{name}", wait_until="networkidle")
    wait_for_math(w.page)
    settle(w)
    sizes = w.sizes()
    return sum(sizes.values()), sizes, w


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--builddir", default=os.environ.get("REGBOOK_BUILDDIR", "_build"))
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = ap.parse_args()
    os.environ["REGBOOK_BUILDDIR"] = str(Path(args.builddir).resolve())
    sys.path.insert(0, str(Path(__file__).parent))
    from playwright.sync_api import sync_playwright
    from sitekit import ARGS, CHROMIUM, HTML, chapters, pages, serve

    if not (HTML / "index.html").is_file():
        raise SystemExit(f"no built book at {HTML}: run `make html` first")
    rows = []
    with serve(HTML) as site, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        for name in pages():
            total, sizes, w = measure(browser, site, name)
            w.close()  # type: ignore[attr-defined]
            by_kind: dict[str, int] = {}
            for url, n in sizes.items():
                by_kind[kind(url)] = by_kind.get(kind(url), 0) + n
            rows.append((name, total, by_kind))
        browser.close()
    chaps = set(chapters())
    cols = ["html", "css", "js", "mathjax", "font", "image", "other"]
    sep = " | " if args.markdown else "  "
    head = ["page", "total kB", *[f"{c} kB" for c in cols]]
    if args.markdown:
        print("| " + " | ".join(head) + " |\n|" + "---|" * len(head))
    else:
        print(sep.join(f"{h:>10}" if i else f"{h:<24}" for i, h in enumerate(head)))
    for name, total, by_kind in sorted(rows, key=lambda r: -r[1]):
        cells = [name + (" *" if name in chaps else ""), f"{total / 1000:.0f}",
                 *[f"{by_kind.get(c, 0) / 1000:.0f}" for c in cols]]
        if args.markdown:
            print("| " + " | ".join(cells) + " |")
        else:
            print(sep.join(f"{c:>10}" if i else f"{c:<24}" for i, c in enumerate(cells)))
    chapter_totals = [t for n, t, _ in rows if n in chaps]
    if chapter_totals:
        print(f"\nchapters (*): median {statistics.median(chapter_totals) / MB:.2f} MB "
              f"(limit {CHAPTER_MEDIAN_LIMIT / MB:.1f}); heaviest page {max(t for _, t, _ in rows) / MB:.2f} MB "
              f"(limit {PAGE_LIMIT / MB:.1f})")


if __name__ == "__main__":
    main()
