"""Offer every executed chapter as a Jupyter notebook that runs on its own.

myst-nb executes MyST text notebooks but publishes no ``.ipynb`` for them
(sphinx-book-theme copies one only when launch buttons are configured). This
extension writes ``_sources/<page>.ipynb`` for each executed page and points
the theme's download button at it. The notebook is made from the page's own
source, so it has no outputs: a reader runs it against the installed
``regbook``. For reading in Jupyter, the parts of MyST that Jupyter cannot
render are resolved at build time:

* ``{glue:text}`` / ``{glue}`` roles become the values the build computed;
* ``{literalinclude}`` of a ``regbook`` function becomes its source code;
* ``{glue:figure}`` becomes a pointer to the cell that draws the figure, and
  glued figures are displayed under that cell.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import nbformat
from glue_values import format_value, glue_file, glued_values
from myst_nb.core.read import read_myst_markdown_notebook

ROOT = Path(__file__).resolve().parents[2]

_GLUE_ROLE = re.compile(r"\{glue(?::text)?\}`([^`:]+)(?::([^`]*))?`")
_INCLUDE = re.compile(
    r"(`{3,})\{literalinclude\}\s+(\S+)\n((?::[\w-]+:.*\n)*)(?:\s*\n)?\1", re.M
)
_GLUE_FIG = re.compile(r"(`{3,}|:{3,})\{glue:figure\}\s+(\S+)\n(?:[^\n]*\n)*?\1", re.M)


def _function_source(path: Path, name: str) -> str | None:
    source = path.read_text()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.ClassDef) and node.name == name:
            return ast.get_source_segment(source, node)
    return None


def to_notebook(source: Path, glue_path: Path) -> nbformat.NotebookNode:
    """The downloadable notebook for one MyST page."""
    nb = read_myst_markdown_notebook(source.read_text(), path=str(source))
    glued = glued_values(glue_path)

    def glue_sub(m: re.Match[str]) -> str:
        key, spec = m.group(1).strip(), m.group(2)
        return format_value(glued[key], spec) if key in glued else f"`{key}`"

    def include_sub(m: re.Match[str]) -> str:
        target = (source.parent / m.group(2)).resolve()
        opts = dict(re.findall(r":([\w-]+):\s*(.*)", m.group(3)))
        code = None
        if target.is_file():
            code = _function_source(target, opts["pyobject"].strip()) if "pyobject" in opts else target.read_text()
        rel = target.relative_to(ROOT).as_posix() if target.is_relative_to(ROOT) else target.name
        return f"```python\n# from {rel}\n{code or ''}\n```"

    def figure_sub(m: re.Match[str]) -> str:
        return f"*(Figure `{m.group(2)}` appears under the code cell that makes it.)*"

    for cell in nb.cells:
        if cell.cell_type == "markdown":
            text = _INCLUDE.sub(include_sub, cell.source)
            text = _GLUE_FIG.sub(figure_sub, text)
            cell.source = _GLUE_ROLE.sub(glue_sub, text)
    intro = nbformat.v4.new_markdown_cell(
        f"*Downloaded from* Regularization in Deep Learning (`{source.name}`). Run it with the `regbook` "
        "package installed (`pip install -e .` in the book's repository). Numbers in the text are the "
        "values the book's build computed; the cells compute them again."
    )
    # The book glues figures with display=False and places them in the text;
    # in Jupyter, show each glued figure under the cell that makes it instead.
    show_figures = nbformat.v4.new_code_cell(
        "import myst_nb\n"
        "from IPython.display import display\n\n"
        "_book_glue = myst_nb.glue\n\n\n"
        "def _glue(name, variable, display=False):\n"
        "    _book_glue(name, variable, display=False)\n"
        "    if type(variable).__name__ == 'Figure':\n"
        "        globals()['display'](variable)\n\n\n"
        "myst_nb.glue = _glue"
    )
    nb.cells[0:0] = [intro, show_figures]
    nb.metadata.pop("file_format", None)
    nb.metadata.setdefault("language_info", {"name": "python"})
    return nb


def _page_context(app: Any, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    if pagename not in getattr(app.env, "regbook_deps", {}):
        return
    source = Path(app.env.doc2path(pagename))
    target = Path(app.outdir) / "_sources" / f"{pagename}.ipynb"
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(to_notebook(source, glue_file(app.outdir, pagename)), target)
    context["ipynb_source"] = f"{pagename}.ipynb"


def setup(app: Any) -> dict[str, Any]:
    app.connect("html-page-context", _page_context)  # before the theme's header buttons (priority 501)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
