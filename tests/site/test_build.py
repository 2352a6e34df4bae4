"""The build's behaviour on failure, tried on a two-page copy of the book's machinery.

A failing cell must fail `make html`, and must not leave the previous build's
pages in place looking current: the Makefile removes the HTML and the saved
environment and keeps only the execution report.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from sitekit import ROOT

INDEX = "# Mini book\n\n```{toctree}\npage\n```\n"
PAGE = """---
file_format: mystnb
kernelspec:
  name: python3
  display_name: Python 3
---

# Page

```{{code-cell}} ipython3
from myst_nb import glue
glue("answer", {value}, display=False)
```

The answer is {{glue:text}}`answer`.
"""


def make_html(project: Path) -> subprocess.CompletedProcess[str]:
    # A clean environment: the outer make (e.g. `make test BUILDDIR=...`) exports its
    # command-line variables through MAKEFLAGS, and the site tests set REGBOOK_BUILDDIR.
    env = {k: v for k, v in os.environ.items()
           if k not in {"MAKEFLAGS", "MFLAGS", "MAKELEVEL", "REGBOOK_BUILDDIR", "REGBOOK_ONLY"}}
    return subprocess.run(["make", "html", f"VENV={ROOT / '.venv'}", "JOBS=1", "BUILDDIR=_build"], cwd=project,
                          capture_output=True, text=True, timeout=300, env=env)


def test_a_failing_cell_fails_the_build_and_leaves_no_stale_page(tmp_path: Path) -> None:
    project = tmp_path / "mini"
    for name in ("conf.py", "Makefile", "pyproject.toml"):  # copy2 keeps mtimes: the venv stamp stays valid
        (project / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, project / name)
    shutil.copytree(ROOT / "regbook", project / "regbook", ignore=shutil.ignore_patterns("__pycache__"))
    for part in ("_ext", "_static"):
        shutil.copytree(ROOT / "book" / part, project / "book" / part, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(ROOT / "book" / "references.bib", project / "book" / "references.bib")
    (project / "book" / "index.md").write_text(INDEX)
    (project / "book" / "page.md").write_text(PAGE.format(value="42"))

    ok = make_html(project)
    assert ok.returncode == 0, ok.stdout[-2000:] + ok.stderr[-2000:]
    html = project / "_build" / "html" / "page.html"
    assert 'The answer is <span class="pasted-text">42</span>' in html.read_text()

    (project / "book" / "page.md").write_text(PAGE.format(value='1 / 0  # ZeroDivisionError'))
    bad = make_html(project)
    assert bad.returncode != 0, "a failing cell must fail the build"
    assert "ZeroDivisionError" in bad.stdout + bad.stderr
    assert not (project / "_build" / "html").exists(), "the previous HTML must not survive a failed build"
    assert not (project / "_build" / "doctrees").exists(), "nor the saved environment"
    assert "No output was kept" in bad.stderr
