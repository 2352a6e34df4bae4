"""Every downloadable chapter notebook runs on its own, as a reader would run it.

Each ``_sources/<chapter>.ipynb`` the build published is copied into an empty
folder outside the repository and executed top to bottom with nbclient,
against the installed ``regbook``; an error in any cell but the chapters'
pitfall cells (tagged ``raises-exception``) fails the test.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from sitekit import HTML, chapters

NOTEBOOKS = [HTML / "_sources" / c.replace(".html", ".ipynb") for c in chapters()]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_downloaded_notebook_runs_standalone(path: Path, tmp_path: Path) -> None:
    local = tmp_path / path.name
    shutil.copy(path, local)
    nb = nbformat.read(local, as_version=4)
    assert not any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), "downloads carry no outputs"
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
