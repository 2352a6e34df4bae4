"""Every downloadable chapter notebook carries the build's outputs, runs on its own, and gives the book's numbers.

Each ``_sources/<chapter>.ipynb`` the build published starts with a note and a
plain ``import regbook`` cell (nothing of the build's machinery imported or
patched) and carries, cell by cell, the outputs the build recorded. It is
copied into an empty folder outside the repository and executed top to bottom
with nbclient, against the installed ``regbook``; an error in any cell but the
chapters' pitfall cells (tagged ``raises-exception``) fails the test.

That second, independent execution is also the determinism check: every value
the chapter glues must come out identical, to the last printed digit, to the
value the build glued (``_build/jupyter_execute/<chapter>.glue.json``). Only
keys starting with ``timing_`` (wall-clock measurements) and figures are exempt.
"""

from __future__ import annotations

import json
import re
import shutil
import zipfile
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup
from nbclient import NotebookClient
from sitekit import BUILD, HTML, NOTEBOOKS_ZIP, ROOT, chapters

NOTEBOOKS = [HTML / "_sources" / c.replace(".html", ".ipynb") for c in chapters()]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_downloaded_notebook_runs_standalone(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The kernel imports this checkout's regbook, as the build's kernels do (conf.py sets the same).
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    local = tmp_path / path.name
    shutil.copy(path, local)
    nb = nbformat.read(local, as_version=4)
    nbformat.validate(nb)
    _starts_plainly(nb)
    shipped = _glued(nb)
    assert shipped, "the download carries no outputs of the build"
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    code = [c for c in nb.cells if c.cell_type == "code"]

    def raised(c: nbformat.NotebookNode) -> bool:
        return any(o.output_type == "error" for o in c.outputs)

    # nbclient stops at the first unexpected error; a cell tagged raises-exception
    # (the chapters' pitfall cells) must raise, as it does in the book.
    pitfalls = [c for c in code if "raises-exception" in c.metadata.get("tags", [])]
    assert all(raised(c) for c in pitfalls), "a pitfall cell no longer raises"
    unexpected = [c.source[:80] for c in code if raised(c) and c not in pitfalls]
    assert unexpected == []

    again = _glued(nb)
    built = {k: v["data"].get("text/plain") for k, v in
             json.loads((BUILD / "jupyter_execute" / f"{path.stem}.glue.json").read_text()).items()}
    assert set(again) == set(built), "the notebook glues other keys than the page"
    compared = {k for k, v in built.items() if not k.startswith("timing_") and not _is_figure(v)}
    differ = {k: (built[k], again[k]) for k in sorted(compared) if built[k] != again[k]}
    assert differ == {}, f"values that changed between two executions: {differ}"
    stale = {k: (shipped.get(k), built[k]) for k in sorted(compared) if shipped.get(k) != built[k]}
    assert stale == {}, f"outputs in the download that are not the build's: {stale}"


def _glued(nb: nbformat.NotebookNode) -> dict[str, object]:
    """Glue key -> its text/plain value, from the outputs of a notebook's code cells."""
    return {  # glue(..., display=False) stores its value under a mime prefix
        o.metadata["scrapbook"]["name"]: o.data.get(o.metadata["scrapbook"].get("mime_prefix", "") + "text/plain")
        for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
        if o.output_type == "display_data" and "scrapbook" in o.get("metadata", {})
    }


def _starts_plainly(nb: nbformat.NotebookNode) -> None:
    code = [c for c in nb.cells if c.cell_type == "code"]
    first = [line for line in code[0].source.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    assert first[0] == "import regbook", f"the first code cell is not a plain import of regbook: {code[0].source!r}"
    everything = "\n".join(c.source for c in code)
    for patch in ("myst_nb.glue =", "_book_glue", "regbook sources behind this page", "sys.path", "PYTHONPATH"):
        assert patch not in everything, f"build machinery in the download: {patch!r}"


def test_the_zip_holds_every_chapter_notebook() -> None:
    with zipfile.ZipFile(HTML / NOTEBOOKS_ZIP) as zf:
        names = {Path(n).name: n for n in zf.namelist()}
        assert "README.txt" in names
        for path in NOTEBOOKS:
            assert path.name in names, f"{path.name} not in {NOTEBOOKS_ZIP}"
            assert zf.read(names[path.name]) == path.read_bytes(), f"{path.name} in the zip differs from the download"


def test_figures_travel_with_the_notebooks() -> None:
    """Every figure a chapter shows is in its notebook download: as the output of the cell that drew
    it, or (a ``{glue:figure}``) attached to the Markdown cell that shows it."""
    total = 0
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        images = 0
        for c in nb.cells:
            for name, bundle in c.get("attachments", {}).items():
                assert f"attachment:{name}" in c.source
                assert any(m.startswith("image/") for m in bundle)
                images += 1
            for out in c.get("outputs", []):
                images += any(m.startswith("image/") for m in out.get("data", {}))
        article = BeautifulSoup((HTML / f"{path.stem}.html").read_text(), "html.parser").select_one("article")
        assert article is not None, path.stem
        shown = len(article.select("img"))
        assert images == shown, f"{path.stem}: the page shows {shown} figures, its notebook carries {images}"
        total += shown
    assert total >= 5, f"only {total} figures in the whole book"


def _is_figure(text_plain: object) -> bool:
    return isinstance(text_plain, str) and text_plain.startswith("<Figure size")


def test_library_listings_are_the_excerpts_the_page_shows() -> None:
    """A ``{literalinclude}`` cut with start-after/end-before (or pyobject) reaches the notebook as the
    same excerpt Sphinx printed on the page, not as the whole module."""
    listings = 0
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        article = BeautifulSoup((HTML / f"{path.stem}.html").read_text(), "html.parser").select_one("article")
        assert article is not None, path.stem
        shown = {"\n".join(line.rstrip() for line in pre.get_text().strip().splitlines())
                 for pre in article.select("div.highlight pre")}
        for cell in nb.cells:
            for code in re.findall(r"```python\n# from regbook/[^\n]*\n(.*?)\n```", cell.source, re.S):
                code = "\n".join(line.rstrip() for line in code.strip().splitlines())
                assert code in shown, f"{path.stem}: a notebook listing the page does not show:\n{code[:300]}"
                listings += 1
    assert listings >= 5, f"only {listings} library listings in the notebooks"
