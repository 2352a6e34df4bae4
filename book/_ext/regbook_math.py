"""Equations typeset at build time: the pages carry finished math and load no MathJax.

Sphinx's ``mathjax`` extension writes each equation as TeX between delimiters
(``<span class="math ...">\\(...\\)</span>``, ``<div class="math ...">\\[...\\]</div>``)
and adds MathJax (0.66 MB of script, plus its font data) to every page with math,
which typesets in the reader's browser. Here the same MathJax 3 (the copy that
the ``sphinx-mathjax-offline`` wheel ships) runs once at build time, under node
(``regbook_math.cjs``): after Sphinx has written the pages, every equation is
replaced by MathJax's CommonHTML markup, with its hidden MathML for screen
readers, and each page gets a small stylesheet for the characters it uses. The
page needs only MathJax's web fonts (``_static/mathjax/output/chtml/fonts``),
fetched for the glyphs it shows; equations are in place before the first paint,
so nothing jumps and nothing waits for a script, in the browser or in the PDF.

A TeX error is a build warning (an error under ``-W``), naming the page and the TeX.
Pages already typeset (an incremental build rewrites only what changed) are left alone.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

from sphinx.errors import ExtensionError
from sphinx.util import logging

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
FONTS = "_static/mathjax/output/chtml/fonts/woff-v2"

_INLINE = re.compile(r'(<span class="math notranslate nohighlight">)\\\((.*?)\\\)(</span>)', re.S)
_DISPLAY = re.compile(r'(<div class="math notranslate nohighlight[^"]*"[^>]*>\s*(?:<span class="eqno">.*?</span>)?)'
                      r'\s*\\\[(.*?)\\\]\s*(</div>)', re.S)


def mathjax_dir() -> Path:
    """MathJax 3 as the ``sphinx-mathjax-offline`` wheel installs it (node-main.js and components)."""
    return Path(str(metadata.distribution("sphinx-mathjax-offline").locate_file(
        "sphinx-mathjax-offline/static/mathjax")))


def node_executable() -> str:
    node = os.environ.get("REGBOOK_NODE") or shutil.which("node") or shutil.which("nodejs")
    if not node:
        raise ExtensionError("regbook_math: node (Node.js >= 18) is needed to typeset the equations at build "
                             "time; `make html` installs Debian's nodejs, or set REGBOOK_NODE=/path/to/node")
    return node


def find_math(text: str) -> list[tuple[int, int, str, str, str, bool]]:
    """Untypeset equations in a page: (start, end, opening markup, TeX, closing markup, display), in order."""
    found = [(m.start(), m.end(), m.group(1), html.unescape(m.group(2)), m.group(3), False)
             for m in _INLINE.finditer(text)]
    found += [(m.start(), m.end(), m.group(1), html.unescape(m.group(2)), m.group(3), True)
              for m in _DISPLAY.finditer(text)]
    return sorted(found)


def typeset(pages: dict[str, str], node: str | None = None) -> dict[str, dict[str, Any]]:
    """Run MathJax on the equations of ``pages`` (name -> HTML); name -> {"html", "css", "errors"}."""
    request = [{"page": name, "items": [[tex, display] for *_, tex, _, display in find_math(text)]}
               for name, text in pages.items()]
    with tempfile.TemporaryDirectory() as tmp:
        req, ans = Path(tmp) / "request.json", Path(tmp) / "answer.json"
        req.write_text(json.dumps(request), encoding="utf-8")
        with req.open("rb") as stdin:
            run = subprocess.run([node or node_executable(), str(HERE / "regbook_math.cjs"), str(mathjax_dir()),
                                  str(ans)], stdin=stdin, capture_output=True, text=True, timeout=600)
        if run.returncode != 0 or not ans.is_file():
            raise ExtensionError(f"regbook_math: MathJax under node failed:\n{run.stderr[-3000:]}")
        return {a["page"]: a for a in json.loads(ans.read_text(encoding="utf-8"))}


def rewrite(text: str, result: dict[str, Any], font_url: str) -> str:
    """``text`` with each equation replaced by its typeset markup and the page's stylesheet in ``<head>``."""
    out, last = [], 0
    for (start, end, opening, _tex, closing, _display), markup in zip(find_math(text), result["html"], strict=True):
        out += [text[last:start], opening, markup, closing]
        last = end
    out.append(text[last:])
    css = result["css"].replace("MATHJAX_FONT_URL", font_url)
    return "".join(out).replace("</head>", f'<style id="regbook-math-css">{css}</style>\n</head>', 1)


def _drop_mathjax_scripts(app: Any, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    """Sphinx adds MathJax to pages with math; here the math is typeset already."""
    files = context.get("script_files")
    if not files:
        return
    mathjax = app.config.mathjax_path  # Sphinx files it as "_static/<mathjax_path>"
    keep = [js for js in files
            if not os.fspath(getattr(js, "filename", "") or "").endswith(mathjax)
            and not str(getattr(js, "attributes", {}).get("body", "")).startswith("window.MathJax")]
    files[:] = keep


def _build_finished(app: Any, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)
    for stale in (outdir / "_static" / "mathjax").rglob("*.js"):  # scripts copied by earlier builds
        stale.unlink()
    pages: dict[str, str] = {}
    for path in outdir.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        if find_math(text):
            pages[path.relative_to(outdir).as_posix()] = text
    if not pages:
        return
    results = typeset(pages)
    for name, text in pages.items():
        result = results[name]
        for tex in result["errors"]:
            logger.warning("MathJax could not typeset %r", tex, location=name, type="regbook", subtype="math")
        depth = name.count("/")
        font_url = "../" * depth + FONTS
        (outdir / name).write_text(rewrite(text, result, font_url), encoding="utf-8")
    logger.info("regbook_math: typeset the equations of %d page(s)", len(pages))


def _check_node(app: Any) -> None:
    if app.builder.format == "html":
        node_executable()


def setup(app: Any) -> dict[str, Any]:
    app.connect("builder-inited", _check_node)
    app.connect("html-page-context", _drop_mathjax_scripts, priority=900)  # after sphinx.ext.mathjax (500)
    app.connect("build-finished", _build_finished)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
