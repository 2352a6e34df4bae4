"""Sphinx configuration for *Regularization in Deep Learning* (regbook).

The sources live in ``book/``; this file sits at the repository root, so the
build is ``sphinx-build -M html book _build -c .`` (see the Makefile).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import warnings
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent
# The Makefile passes its BUILDDIR, so several builds (e.g. one per chapter
# while writing it) can run side by side with their own caches.
BUILD = Path(os.environ.get("REGBOOK_BUILDDIR", ROOT / "_build")).resolve()

# Kernels are separate processes: make sure they import *this* checkout's regbook.
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "book" / "_ext"))
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))

# Pages execute in parallel (-j 2, one kernel per page) on a small machine:
# with torch's default one thread per core, two kernels oversubscribe the
# cores and small tensor ops slow down several-fold. One thread per kernel.
os.environ.setdefault("OMP_NUM_THREADS", "1")

# sphinx-autodoc-typehints 3.6 calls an API that Sphinx 9 deprecates; the
# Python warning is noise in every build log (Sphinx's own warnings stay errors).
warnings.filterwarnings("ignore", message=r".*set_application.*is deprecated")

project = "Regularization in Deep Learning"
author = "the regbook authors"
copyright = "2026, the regbook authors"
# Read the version without importing regbook (and torch): a no-change rebuild stays fast.
release = version = re.search(r'__version__ = "([^"]+)"', (ROOT / "regbook" / "__init__.py").read_text())[1]

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
    "regbook_deps",  # book/_ext: per-page cache keys on the regbook sources a page imports
    "regbook_notebooks",  # book/_ext: every executed chapter downloadable as a runnable .ipynb
    "regbook_claims",  # book/_ext: the claims ledger, filled with the chapters' glued values
    "regbook_viewcode",  # book/_ext: viewcode reads regbook from disk instead of importing it
    "regbook_chapters",  # book/_ext: plan, toctrees and API page from regbook.chapters.CHAPTERS
    "regbook_site",  # book/_ext: icons cut to those used, book PDF in the download menu, page descriptions
    "regbook_math",  # book/_ext: equations typeset at build time (MathJax under node), no MathJax in pages
]

root_doc = "index"
templates_path = ["book/_templates"]
exclude_patterns = ["**.ipynb_checkpoints", "**/README.md", "_static/**", "_ext/**", "claims/**"]

# `make page PAGE=<stem>`: build only that chapter (with the landing page, API
# and references) while writing it. Never used by `make html` or `make test`.
_only = os.environ.get("REGBOOK_ONLY")
if _only:
    _keep = {_only, "index", "api", "references", "claims"}
    exclude_patterns += [p.name for p in (ROOT / "book").glob("*.md") if p.stem not in _keep]
    suppress_warnings = ["toc.excluded", "toc.not_readable", "ref.doc"]
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb"}

# --- MyST ---------------------------------------------------------------
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist", "substitution"]
myst_heading_anchors = 3
myst_dmath_double_inline = True


# --- Execution (myst-nb + jupyter-cache) --------------------------------
# jupyter-cache keys a page on its own code cells only, but the chapters'
# numbers come from regbook. regbook_deps.py appends one hidden cell to every
# executed page holding a hash of exactly the regbook sources that page imports
# (followed through regbook's own imports): editing a module re-executes the
# pages that use it, and only those; a no-change rebuild is served from cache.
nb_execution_mode = "cache"
nb_execution_cache_path = str(BUILD / ".jupyter_cache")
nb_execution_raise_on_error = True  # a failing cell fails the build
nb_execution_show_tb = True
nb_execution_timeout = 300
nb_merge_streams = True
nb_render_markdown_format = "gfm"  # Markdown(...) output from cells may hold tables
nb_execution_excludepatterns: list[str] = []

# --- Equations ------------------------------------------------------------
# Typeset at build time (book/_ext/regbook_math.py): MathJax 3 from the
# sphinx-mathjax-offline wheel runs under node after the pages are written, and
# the pages carry finished math, so they load no MathJax script (it was 0.66 to
# 1.16 MB per page) and nothing from a CDN. Sphinx's mathjax extension still
# writes the TeX markup; regbook_math removes the script tags it would add.
# Only MathJax's web fonts are served, from _static.
_mj_src = Path(str(metadata.distribution("sphinx-mathjax-offline").locate_file(
    "sphinx-mathjax-offline/static/mathjax")))
_mj_fonts = "output/chtml/fonts/woff-v2"
_mj_dst = BUILD / "_mathjax_static" / "mathjax"
if not (_mj_dst / _mj_fonts).is_dir() or (_mj_dst / "tex-chtml.js").exists():
    shutil.rmtree(_mj_dst, ignore_errors=True)  # earlier builds copied the scripts too
    shutil.copytree(_mj_src / _mj_fonts, _mj_dst / _mj_fonts)
mathjax_path = "mathjax/tex-chtml.js"  # never loaded: regbook_math drops the tag

# --- HTML ---------------------------------------------------------------
html_theme = "sphinx_book_theme"
html_title = "Regularization in Deep Learning"
html_static_path = [str(BUILD / "_mathjax_static"), "book/_static"]
html_css_files = ["regbook.css", "site.css"]
html_favicon = "book/_static/favicon.svg"
html_search_scorer = "book/_static/search-scorer.js"
# The landing page's description (and the fallback for pages without a paragraph).
regbook_description = ("An executable textbook on regularization in deep learning: double descent, penalties, "
                       "augmentation, Mixup, label smoothing, dropout and normalization, every number computed.")
# Kernel-free interactive figures: plain JavaScript under book/_static/widgets/,
# loaded on every page (they are small and activate only where their markup is).
_widgets = ROOT / "book" / "_static" / "widgets"
html_js_files = [f"widgets/{p.name}" for p in sorted(_widgets.glob("*.js"))] + ["site.js"]
html_css_files += [f"widgets/{p.name}" for p in sorted(_widgets.glob("*.css"))]
html_theme_options = {
    "show_toc_level": 2,
    "use_download_button": True,
    "home_page_in_toc": True,
    "navigation_with_keys": False,
    # pydata-sphinx-theme 0.20 puts a second .primary-toggle/.secondary-toggle (and a
    # search button) into the top navbar when navbar_persistent is left to its default;
    # its script binds the first .primary-toggle it finds, so sphinx-book-theme's visible
    # toggles did nothing (pydata-sphinx-theme#2451, sphinx-book-theme#1000). No navbar
    # items: one toggle of each kind, in the article header. Search stays in the sidebar
    # and the article header.
    "navbar_persistent": [],
}
html_context = {"default_mode": "auto"}  # follow the reader's light/dark preference
html_last_updated_fmt = None
html_show_sourcelink = False

# --- Copy buttons -------------------------------------------------------
# Copy what runs: strip ">>> " / "... " prompts (and "$ " in shell blocks) and
# leave out the output lines of doctest-style examples.
copybutton_prompt_text = r">>> |\.\.\. |\$ "
copybutton_prompt_is_regexp = True
copybutton_only_copy_prompt_lines = True
copybutton_remove_prompts = True
copybutton_exclude = ".linenos, .gp, .go"

# --- References ---------------------------------------------------------
# The shared bibliography, plus any per-chapter additions in book/bib/.
_extra_bib = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "book" / "bib").glob("*.bib"))
bibtex_bibfiles = ["book/references.bib", *_extra_bib]
bibtex_default_style = "plain"
bibtex_reference_style = "author_year"

# --- API docs -----------------------------------------------------------
autodoc_member_order = "bysource"
autodoc_inherit_docstrings = False  # torch base classes (autograd.Function, nn.Module) have their own Sphinx markup
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
    (r"py:.*", r"(collections\.abc|typing|dataclasses|pathlib|os|colorsys)(\..*)?"),
    (r"py:data", r"Ellipsis"),  # the `...` of tuple[int, ...] in signatures
    (r"py:.*", r"(Tensor|Module|Callable|Sequence|Literal|Scalar|Optimizer)"),
]

# --- Doctest builder ----------------------------------------------------
# `>>>` lines in docstrings are run by `pytest --doctest-modules regbook`;
# the Sphinx doctest builder runs the {doctest} blocks of the chapters.
doctest_test_doctest_blocks = ""
doctest_global_setup = "import torch\nimport regbook"
