"""The PDF edition (`make pdf`), read back with poppler's pdftotext and pdfinfo.

It must be the whole book: a title page, a table of contents with page
numbers, every chapter (by its title) in reading order, numbered pages, the
worked examples' numbers (the L2 step's 1.848, and BatchNorm's output vector
as the build glued it), every interactive figure as a still with its sentence,
and no TeX left untypeset.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from bs4 import BeautifulSoup
from sitekit import BUILD, HTML, PDF_NAME, ROOT, chapters

sys.path.insert(0, str(ROOT / "book" / "_ext"))
import regbook_pdf

PDF = HTML / PDF_NAME


@pytest.fixture(scope="module")
def sheets() -> list[str]:
    assert PDF.is_file(), f"no PDF at {PDF}: run `make pdf`"
    text = subprocess.run(["pdftotext", "-layout", str(PDF), "-"], check=True, capture_output=True, text=True).stdout
    return text.split("\f")[:-1] if text.endswith("\f") else text.split("\f")


def _title(page: str) -> str:
    soup = BeautifulSoup((HTML / page).read_text(), "html.parser")
    h1 = soup.select_one("article h1")
    assert h1 is not None, page
    return " ".join(h1.get_text(" ", strip=True).replace("#", "").split())


def _squash(s: str) -> str:
    return re.sub(r"\s+", " ", s)


def _contents(sheets: list[str]) -> dict[str, int]:
    """Title -> page number, as the table of contents (second sheet) gives them."""
    out = {}
    for line in sheets[1].splitlines():
        m = re.match(r"^\s*(\S.*?\S)\s*[ ._]*\s(\d+)\s*$", line)
        if m:
            out[_squash(m.group(1))] = int(m.group(2))
    return out


@pytest.mark.xdist_group("pdf")
def test_the_pdf_has_the_whole_book(sheets: list[str]) -> None:
    info = subprocess.run(["pdfinfo", str(PDF)], check=True, capture_output=True, text=True).stdout
    n = int(re.search(r"Pages:\s+(\d+)", info).group(1))  # type: ignore[union-attr]
    assert n == len(sheets)
    assert n >= 10 * len(chapters()), f"{n} pages for {len(chapters())} chapters: not the whole book"
    assert "Regularization in Deep Learning" in _squash(sheets[0]), "no title page"
    assert "Contents" in sheets[1], "no table of contents after the title page"
    contents = _contents(sheets)
    order = [page for page, _, _ in regbook_pdf.reading_order(HTML)]
    assert set(chapters()) <= set(order), "a chapter is missing from the reading order"
    last = 0
    for page in order:  # every page of the book, in the sidebar's order, starts where the contents say
        title = _title(page)
        assert title in contents, f"{title!r} ({page}) is not in the contents: {sorted(contents)}"
        start = contents[title]
        assert start > last, f"{page} out of reading order"
        head = _squash(" ".join(sheets[start - 1].strip().splitlines()[:3]))  # the page's heading comes first
        head = re.sub(r"(?<=\w)- (?=\w)", "-", head)  # a heading broken after its hyphen
        assert title in head, f"the contents send {title!r} to page {start}; that page begins {head[:80]!r}"
        last = start


@pytest.mark.xdist_group("pdf")
def test_pages_are_numbered(sheets: list[str]) -> None:
    numbered = 0
    for i, sheet in enumerate(sheets):
        lines = [line.strip() for line in sheet.strip().splitlines() if line.strip()]
        if lines and lines[-1] == str(i + 1):
            numbered += 1
    assert numbered >= 0.95 * len(sheets), f"only {numbered} of {len(sheets)} pages end with their number"


@pytest.mark.xdist_group("pdf")
def test_the_worked_examples_and_the_math_are_there(sheets: list[str]) -> None:
    text = "\n".join(sheets)
    assert "1.848" in text, "the L2 worked step's 1.848 is not in the PDF"
    glued = json.loads((BUILD / "jupyter_execute" / "batchnorm.glue.json").read_text())
    y = glued["bn_y_exact"]["data"]["text/plain"].strip("'\"")
    assert y in _squash(text), f"BatchNorm's worked example y = {y} is not in the PDF"
    # Math delimiters left in the text would be an equation MathJax did not typeset (TeX inside
    # code listings, such as a docstring's :math:`...`, is code and stays as it is).
    assert not re.search(r"\\\(|\\\)|\\\[|\\\]", text), "untypeset math in the PDF"


@pytest.mark.xdist_group("pdf")
def test_interactive_figures_are_stills_with_a_sentence(sheets: list[str]) -> None:
    widgets = sum(p.read_text().count('class="rb-widget"') for p in HTML.glob("*.html"))
    assert widgets >= 1
    text = _squash("\n".join(sheets))
    assert text.count("This figure is interactive in the web edition") == widgets
