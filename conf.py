"""Sphinx configuration for *Regularization in Deep Learning* (regbook).

The sources live in ``book/``; this file sits at the repository root, so the
build is ``sphinx-build -M html book _build -c .`` (see the Makefile).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
import warnings
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent
BUILD = ROOT / "_build"

# Kernels are separate processes: make sure they import *this* checkout's regbook.
sys.path.insert(0, str(ROOT))
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))

import regbook  # noqa: E402

# sphinx-autodoc-typehints 3.6 calls an API that Sphinx 9 deprecates; the
# Python warning is noise in every build log (Sphinx's own warnings stay errors).
warnings.filterwarnings("ignore", message=r".*set_application.*is deprecated")

project = "Regularization in Deep Learning"
author = "the regbook authors"
copyright = "2026, the regbook authors"
release = version = regbook.__version__

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx_autodoc_typehints",  # after napoleon
    "sphinx.ext.doctest",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "sphinxcontrib.bibtex",
    "sphinx_design",
    "sphinx_copybutton",
    "sphinx_togglebutton",
]

root_doc = "index"
exclude_patterns = ["**.ipynb_checkpoints", "**/README.md", "_static/**", "claims/**"]
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb"}

# --- MyST ---------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist", "substitution"]
myst_heading_anchors = 3
myst_dmath_double_inline = True


# --- Execution (myst-nb + jupyter-cache) --------------------------------
def _package_fingerprint() -> str:
    """Hash of every file in regbook/ (names and bytes).

    jupyter-cache keys a page on its own code cells only; the chapters'
    numbers also depend on regbook. Keying the cache folder on this hash
    means an edit to any regbook file re-executes the pages instead of
    serving stale outputs.
    """
    digest = hashlib.sha256()
    for path in sorted((ROOT / "regbook").rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts:
            digest.update(path.relative_to(ROOT).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


_cache_root = BUILD / ".jupyter_cache"
_cache_dir = _cache_root / _package_fingerprint()
if _cache_root.is_dir():  # drop caches keyed on older versions of regbook
    for old in _cache_root.iterdir():
        if old != _cache_dir:
            shutil.rmtree(old, ignore_errors=True)

nb_execution_mode = "cache"
nb_execution_cache_path = str(_cache_dir)
nb_execution_raise_on_error = True  # a failing cell fails the build
nb_execution_show_tb = True
nb_execution_timeout = 300
nb_merge_streams = True
nb_execution_excludepatterns: list[str] = []

# --- Offline MathJax ----------------------------------------------------
# Sphinx would load MathJax from a CDN. sphinx-mathjax-offline ships MathJax 3
# on PyPI; copy only what tex-chtml needs into the build tree and serve it from
# _static (its own extension is not parallel-safe).
_mj_src = Path(str(metadata.distribution("sphinx-mathjax-offline").locate_file(
    "sphinx-mathjax-offline/static/mathjax")))
_mj_dst = BUILD / "_mathjax_static" / "mathjax"
if not (_mj_dst / "tex-chtml.js").is_file():
    for part in ("output/chtml/fonts", "input/tex/extensions"):
        shutil.copytree(_mj_src / part, _mj_dst / part, dirs_exist_ok=True)
    shutil.copy2(_mj_src / "tex-chtml.js", _mj_dst / "tex-chtml.js")
mathjax_path = "mathjax/tex-chtml.js"

# --- HTML ---------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_title = "Regularization in Deep Learning"
html_static_path = [str(BUILD / "_mathjax_static"), "book/_static"]
html_css_files = ["regbook.css"]
# Kernel-free interactive figures: plain JavaScript under book/_static/widgets/,
# loaded on every page (they are small and activate only where their markup is).
_widgets = ROOT / "book" / "_static" / "widgets"
html_js_files = [f"widgets/{p.name}" for p in sorted(_widgets.glob("*.js"))]
html_css_files += [f"widgets/{p.name}" for p in sorted(_widgets.glob("*.css"))]
html_theme_options = {
    "show_toc_level": 2,
    "use_download_button": True,
    "home_page_in_toc": True,
    "navigation_with_keys": False,
}
html_context = {"default_mode": "light"}
html_last_updated_fmt = None
html_show_sourcelink = False

# --- References ---------------------------------------------------------
bibtex_bibfiles = ["book/references.bib"]
bibtex_default_style = "plain"
bibtex_reference_style = "author_year"

# --- API docs -----------------------------------------------------------
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": False}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
typehints_use_signature = False
always_use_bars_union = True

# Strict (-n) builds: no intersphinx offline, so references into torch, numpy
# and the standard library cannot resolve. Ignore those modules only.
nitpicky = True
nitpick_ignore_regex = [
    (r"py:.*", r"(torch|numpy|np|nn|matplotlib|sklearn)(\..*)?"),
    (r"py:.*", r"(collections\.abc|typing|dataclasses)\..*"),
    (r"py:.*", r"(Tensor|Module|Callable|Sequence|Literal|Scalar|Optimizer)"),
]

# --- Doctest builder ----------------------------------------------------
# `>>>` lines in docstrings are run by `pytest --doctest-modules regbook`;
# the Sphinx doctest builder runs the {doctest} blocks of the chapters.
doctest_test_doctest_blocks = ""
doctest_global_setup = "import torch\nimport regbook"
