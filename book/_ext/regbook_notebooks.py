"""Offer every executed chapter as a Jupyter notebook that runs on its own, with the build's outputs.

myst-nb executes MyST text notebooks but publishes no ``.ipynb`` for them
(sphinx-book-theme copies one only when launch buttons are configured). This
extension writes ``_sources/<page>.ipynb`` for each executed page, points the
theme's download button at it, and packs all of them into
``regbook-notebooks.zip`` at the root of the site.

Each notebook is the page's own source, opened for Jupyter:

* it starts with a short note and a plain ``import regbook`` cell (the reader
  installs the package as the "Run it yourself" page says; nothing of the
  build's machinery is imported or patched);
* every code cell carries the outputs the build recorded (read from the
  execution cache, matched cell by cell), so the notebook reads like the page
  before it is run, and running it recomputes them;
* ``{glue:text}`` / ``{glue}`` roles become the values the build computed;
* ``{literalinclude}`` of a ``regbook`` function becomes its source code;
* a ``{glue:figure}`` becomes the figure the build drew, attached to the
  Markdown cell, with its caption; the cell that draws it computes it again.

The hidden cell that ``regbook_deps`` appends to each executed page (a hash of
the ``regbook`` sources, for the execution cache) is not part of the download.
"""

from __future__ import annotations

import base64
import re
import types
import zipfile
from pathlib import Path
from typing import Any

import nbformat
from glue_values import format_value, glue_file, glued_values
from myst_nb.core.read import read_myst_markdown_notebook
from sphinx.directives.code import LiteralIncludeReader
from sphinx.util import logging

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
ZIP_NAME = "regbook-notebooks.zip"

_GLUE_ROLE = re.compile(r"\{glue(?::text)?\}`([^`:]+)(?::([^`]*))?`")
_INCLUDE = re.compile(
    r"(`{3,})\{literalinclude\}\s+(\S+)\n((?::[\w-]+:.*\n)*)(?:\s*\n)?\1", re.M
)
_GLUE_FIG = re.compile(r"(`{3,}|:{3,})\{glue:figure\}\s+(\S+)\n((?:[^\n]*\n)*?)\1", re.M)
_IMAGE_MIMES = ("image/svg+xml", "image/png", "image/jpeg")
_RECORD = "application/papermill.record/"

SETUP = (
    "# This notebook runs on the book's package, regbook (installed as the book's\n"
    "# \"Run it yourself\" page says); every other import is in the cells below.\n"
    "import regbook\n\n"
    "print(\"regbook\", regbook.__version__)"
)


_INCLUDE_OPTIONS = ("pyobject", "start-at", "start-after", "end-at", "end-before", "lines", "dedent")


def _excerpt(path: Path, options: dict[str, str]) -> str:
    """What a ``{literalinclude}`` with these options shows: Sphinx's own reader does the cutting.

    MyST reads directive options as YAML, so a quoted value (``"# augment-start"``) loses its quotes.
    """
    opts: dict[str, Any] = {}
    for key, raw in options.items():
        if key not in _INCLUDE_OPTIONS:
            continue
        value = raw.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        opts[key] = int(value) if key == "dedent" else value
    config = types.SimpleNamespace(source_encoding="utf-8")
    text, _ = LiteralIncludeReader(str(path), opts, config).read()  # type: ignore[arg-type]
    return text.rstrip("\n")


def executed_notebook(executed_path: Path, cache_path: str | Path) -> nbformat.NotebookNode | None:
    """The notebook myst-nb executed for a page, with its outputs, from the jupyter-cache; None if not cached.

    ``executed_path`` is ``<build>/jupyter_execute/<page>.ipynb``: the notebook exactly as
    myst-nb parsed and executed it (hidden dependency cell included), without outputs.
    """
    from jupyter_cache import get_cache

    if not executed_path.is_file():
        return None
    nb = nbformat.read(executed_path, as_version=4)
    try:
        _, merged = get_cache(str(cache_path)).merge_match_into_notebook(nb)
    except KeyError:
        return None
    return merged


def _glued_figures(executed: nbformat.NotebookNode | None) -> dict[str, tuple[str, str]]:
    """Glue key -> (mime type, data) for every figure the page glued."""
    out: dict[str, tuple[str, str]] = {}
    for cell in executed.cells if executed is not None else []:
        for o in cell.get("outputs", []):
            name = o.get("metadata", {}).get("scrapbook", {}).get("name")
            if not name:
                continue
            for mime in _IMAGE_MIMES:
                data = o.get("data", {}).get(_RECORD + mime) or o.get("data", {}).get(mime)
                if data:
                    out[name] = (mime, "".join(data) if isinstance(data, list) else data)
                    break
    return out


def to_notebook(source: Path, glue_path: Path, executed: nbformat.NotebookNode | None = None) -> nbformat.NotebookNode:
    """The downloadable notebook for one MyST page (with the outputs of ``executed``, if given)."""
    nb = read_myst_markdown_notebook(source.read_text(), path=str(source))
    glued = glued_values(glue_path)
    figures = _glued_figures(executed)

    def glue_sub(m: re.Match[str]) -> str:
        key, spec = m.group(1).strip(), m.group(2)
        return format_value(glued[key], spec) if key in glued else f"`{key}`"

    def include_sub(m: re.Match[str]) -> str:
        target = (source.parent / m.group(2)).resolve()
        opts = dict(re.findall(r":([\w-]+):\s*(.*)", m.group(3)))
        code = _excerpt(target, opts) if target.is_file() else None
        rel = target.relative_to(ROOT).as_posix() if target.is_relative_to(ROOT) else target.name
        return f"```python\n# from {rel}\n{code or ''}\n```"

    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        attachments: dict[str, dict[str, str]] = {}

        def figure_sub(m: re.Match[str], attachments: dict[str, dict[str, str]] = attachments) -> str:
            key, body = m.group(2), m.group(3)
            opts = dict(re.findall(r"^:([\w-]+):\s*(.*)$", body, re.M))
            caption = "\n".join(line for line in body.splitlines() if not re.match(r"^:[\w-]+:", line)).strip()
            if key not in figures:
                return f"*(Figure `{key}` is drawn by the code cell that computes it.)*\n\n{caption}"
            mime, data = figures[key]
            ext = {"image/svg+xml": "svg", "image/png": "png", "image/jpeg": "jpg"}[mime]
            name = f"{key}.{ext}"
            if mime == "image/svg+xml":
                data = base64.b64encode(data.encode("utf-8")).decode("ascii")
            attachments[name] = {mime: data}
            alt = opts.get("alt") or caption.split(". ")[0].replace("\n", " ")[:150] or key
            alt = _GLUE_ROLE.sub(glue_sub, alt).replace("[", "(").replace("]", ")")
            return f"![{alt}](attachment:{name})\n\n*{caption}*" if caption else f"![{alt}](attachment:{name})"

        text = _INCLUDE.sub(include_sub, cell.source)
        text = _GLUE_FIG.sub(figure_sub, text)
        cell.source = _GLUE_ROLE.sub(glue_sub, text)
        if attachments:
            cell["attachments"] = attachments

    if executed is not None:
        _copy_outputs(nb, executed, source.name)
    intro = nbformat.v4.new_markdown_cell(
        f"*Downloaded from* Regularization in Deep Learning (`{source.name}`). The outputs below are the "
        "ones the book's build computed; run the notebook (with the `regbook` package installed, as the "
        "book's *Run it yourself* page says) and every cell computes them again. Numbers in the text "
        "are the build's values."
    )
    nb.cells[0:0] = [intro, nbformat.v4.new_code_cell(SETUP)]
    nb.metadata.pop("file_format", None)
    nb.metadata.pop("source_map", None)
    nb.metadata.setdefault("language_info", {"name": "python"})
    return nb


def _copy_outputs(nb: nbformat.NotebookNode, executed: nbformat.NotebookNode, name: str) -> None:
    """Give each code cell of ``nb`` the outputs of the same cell in ``executed`` (same order, same source)."""
    mine = [c for c in nb.cells if c.cell_type == "code"]
    theirs = [c for c in executed.cells if c.cell_type == "code"][: len(mine)]
    for i, (a, b) in enumerate(zip(mine, theirs, strict=True)):
        if a.source.strip() != b.source.strip():
            logger.warning("regbook_notebooks: %s: code cell %d differs from the executed one; "
                           "the download has no outputs from there on", name, i + 1, type="regbook", subtype="nb")
            return
        a.outputs = b.get("outputs", [])
        a.execution_count = b.get("execution_count")


def _page_context(app: Any, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    if pagename not in getattr(app.env, "regbook_deps", {}):
        return
    source = Path(app.env.doc2path(pagename))
    target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    executed = executed_notebook(Path(app.outdir).parent / "jupyter_execute" / f"{pagename}.ipynb",
                                 app.config.nb_execution_cache_path)
    if executed is None:
        logger.warning("regbook_notebooks: no executed notebook in the cache for %s: its download has no outputs",
                       pagename, type="regbook", subtype="nb")
    nbformat.write(to_notebook(source, glue_file(app.outdir, pagename), executed), target)
    context["ipynb_source"] = f"{pagename}.ipynb"


README = """Regularization in Deep Learning: the chapters as Jupyter notebooks
==================================================================

Each notebook is one chapter of the book, with the outputs the book's build
computed. To run them you need the book's Python package, regbook, and
Jupyter: see the book's "Run it yourself" page. In short, from a clone of
the book's repository:

    python3 -m venv .venv && source .venv/bin/activate
    pip install torch==2.13.0          # or another torch >= 2.4 for your machine
    pip install -e ".[notebooks]"      # regbook, myst-nb (for glue), ipykernel, JupyterLab
    jupyter lab

Open a notebook and run all cells: every number is computed again.
"""


def write_zip(outdir: Path) -> Path | None:
    """All chapter notebooks of the site in one zip (fixed timestamps, so the same notebooks give the same file)."""
    notebooks = sorted((outdir / "_sources").glob("*.ipynb"))
    if not notebooks:
        return None
    target = outdir / ZIP_NAME
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in [("regbook-notebooks/README.txt", README.encode()),
                           *((f"regbook-notebooks/{p.name}", p.read_bytes()) for p in notebooks)]:
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return target


def _build_finished(app: Any, exception: Exception | None) -> None:
    if exception is None and app.builder.format == "html":
        write_zip(Path(app.outdir))


def setup(app: Any) -> dict[str, Any]:
    app.connect("html-page-context", _page_context)  # before the theme's header buttons (priority 501)
    app.connect("build-finished", _build_finished)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
