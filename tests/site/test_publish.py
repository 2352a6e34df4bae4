"""Publishing: `make dist`, the GitHub Pages workflow, and the site away from the server's root.

`make dist` puts the deployable site in one folder: the HTML, the PDF, the
notebooks zip. The site keeps working under a sub-path (a GitHub Pages
project site is served at /<repository>/) and from disk (file://): pages
load without errors, links between pages resolve, downloads are there.
The workflow that deploys it (.github/workflows/pages.yml) uses the same
make target and passes actionlint; actionlint is shown to catch a broken one.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from sitekit import DIST, HTML, NOTEBOOKS_ZIP, PDF_NAME, ROOT, Watched, chapters, serve

WORKFLOW = ROOT / ".github" / "workflows" / "pages.yml"


def _actionlint() -> str:
    exe = shutil.which("actionlint", path=str(Path(sys.executable).parent)) or shutil.which("actionlint")
    assert exe, "actionlint is not installed (it comes with the test extra)"
    return exe


def test_the_workflow_passes_actionlint() -> None:
    run = subprocess.run([_actionlint(), "-no-color", str(WORKFLOW)], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout + run.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    broken = tmp_path / ".github" / "workflows" / "pages.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(WORKFLOW.read_text().replace("runs-on:", "runs_on:", 1).replace("${{ ", "${{ github.nope.", 1))
    run = subprocess.run([_actionlint(), "-no-color", str(broken)], cwd=tmp_path, capture_output=True, text=True)
    assert run.returncode != 0 and "runs-on" in run.stdout, run.stdout


def test_the_workflow_deploys_what_make_dist_builds() -> None:
    text = WORKFLOW.read_text()
    assert "make dist" in text and "_build/dist" in text
    assert "actions/upload-pages-artifact" in text and "actions/deploy-pages" in text


def test_dist_holds_the_site_the_pdf_and_the_notebooks() -> None:
    assert (DIST / "index.html").is_file(), f"no site in {DIST}: run `make dist`"
    assert (DIST / PDF_NAME).stat().st_size > 100_000
    assert (DIST / ".nojekyll").is_file()
    assert not (DIST / ".buildinfo").exists()
    with zipfile.ZipFile(DIST / NOTEBOOKS_ZIP) as zf:
        names = {Path(n).name for n in zf.namelist()}
    assert {c.replace(".html", ".ipynb") for c in chapters()} <= names
    assert sorted(p.relative_to(HTML).as_posix() for p in HTML.rglob("*.html")) == \
        sorted(p.relative_to(DIST).as_posix() for p in DIST.rglob("*.html"))


def _walk(w: Watched, start: str, chapter: str) -> None:
    page = w.page
    page.goto(start, wait_until="networkidle")
    page.locator(f"nav.bd-docs-nav a.reference.internal[href$='{chapter}']").first.click()
    page.wait_for_url(f"**/{chapter}", timeout=10_000)
    assert page.locator("article h1").first.is_visible()
    assert page.evaluate("[...document.images].every(i => i.complete && i.naturalWidth > 0)")
    for href in (f"_sources/{chapter.replace('.html', '.ipynb')}", PDF_NAME):
        assert page.locator(f"a[href$='{href}']").count() >= 1, f"no link to {href}"
    assert page.locator("link[rel=icon]").count() == 1


def test_the_site_works_under_a_sub_path(browser: object) -> None:
    with serve(DIST if (DIST / "index.html").is_file() else HTML, prefix="regbook") as site:
        w = Watched(browser, site)
        try:
            _walk(w, f"{site}/index.html", chapters()[0])
            for href in (PDF_NAME, NOTEBOOKS_ZIP, f"_sources/{chapters()[0].replace('.html', '.ipynb')}"):
                r = w.page.request.get(f"{site}/{href}")
                assert r.ok, f"{href} under /regbook/: {r.status}"
            assert w.errors == [] and w.failed == [] and w.external == []
        finally:
            w.close()


def test_the_site_works_from_disk(browser: object) -> None:
    root = DIST if (DIST / "index.html").is_file() else HTML
    w = Watched(browser, root.as_uri())
    try:
        _walk(w, (root / "index.html").as_uri(), chapters()[1])
        w.page.goto((root / "search.html").as_uri() + "?q=dropout", wait_until="networkidle")
        w.page.wait_for_selector("#search-results li a", timeout=30_000)
        assert w.errors == [], w.errors
        assert w.failed == []
        for href in (PDF_NAME, NOTEBOOKS_ZIP):
            assert (root / href).is_file()
    finally:
        w.close()


@pytest.mark.parametrize("name", ["index.html", "run_it_yourself.html"])
def test_the_landing_and_run_pages_link_the_pdf_and_the_notebooks(watched: Watched, site: str, name: str) -> None:
    watched.page.goto(f"{site}/{name}")
    article = watched.page.locator("article")
    assert article.locator(f"a[href$='{NOTEBOOKS_ZIP}']").count() >= 1
    if name == "index.html":
        assert article.locator(f"a[href$='{PDF_NAME}']").count() >= 1
