"""Every downloadable chapter notebook runs on its own, and gives the book's numbers.

Each ``_sources/<chapter>.ipynb`` the build published is copied into an empty
folder outside the repository and executed top to bottom with nbclient,
against the installed ``regbook``; an error in any cell but the chapters'
pitfall cells (tagged ``raises-exception``) fails the test.

That second, independent execution is also the determinism check: every value
the chapter glues must come out identical, to the last printed digit, to the
value the build glued (``_build/jupyter_execute/<chapter>.glue.json``). Only
keys starting with ``timing_`` (wall-clock measurements) and figures are exempt.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from sitekit import BUILD, HTML, chapters

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

    again = {  # glue(..., display=False) stores its value under a mime prefix
        o.metadata["scrapbook"]["name"]: o.data.get(o.metadata["scrapbook"].get("mime_prefix", "") + "text/plain")
        for c in code for o in c.outputs
        if o.output_type == "display_data" and "scrapbook" in o.get("metadata", {})
    }
    built = {k: v["data"].get("text/plain") for k, v in
             json.loads((BUILD / "jupyter_execute" / f"{path.stem}.glue.json").read_text()).items()}
    assert set(again) == set(built), "the notebook glues other keys than the page"
    compared = {k for k, v in built.items() if not k.startswith("timing_") and not _is_figure(v)}
    differ = {k: (built[k], again[k]) for k in sorted(compared) if built[k] != again[k]}
    assert differ == {}, f"values that changed between two executions: {differ}"


def _is_figure(text_plain: object) -> bool:
    return isinstance(text_plain, str) and text_plain.startswith("<Figure size")
