"""The published site: what the theme does not do for us, done at build time.

* **Icons.** pydata-sphinx-theme loads Font Awesome as ``fontawesome.js``
  (1.5 MB: every icon, drawn by script). The template ``book/_templates/layout.html``
  drops that script; the theme's own CSS still names each icon's glyph, and this
  extension subsets the Font Awesome webfonts to exactly the glyphs the written
  pages use (``_static/icons/*.woff2``, a few kB) and points the font faces at
  them (``_static/icons.css``).
* **The download menu** offers the PDF of the whole book (``make pdf`` writes it
  next to ``index.html``) instead of printing the current page.
* **A description** for every page (``<meta name="description">``): its first
  paragraph, shortened; the landing page's is the book's.
* **Search results** rank chapters above API entries (``_static/search-scorer.js``).
* **Math in the bibliography**: pybtex leaves ``$...$`` in titles as text; in the
  entries' titles it becomes math (typeset like every equation of the book).
* **Accessible markup where the toolchain's is not** (axe, WCAG 2.1 A/AA): the
  bibliography is a list of list items (docutils writes ``role="list"`` around
  ``role="doc-biblioentry"`` entries, a role ARIA 1.2 deprecated and that a list
  may not hold); a hidden code cell's toggle is named by its visible text
  ("Show code cell source"), not by myst-nb's ``aria-label="Toggle hidden content"``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from docutils import nodes
from sphinx.transforms.post_transforms import SphinxPostTransform

PDF_NAME = "regularization-in-deep-learning.pdf"
NOTEBOOKS_ZIP = "regbook-notebooks.zip"

#: Font Awesome style class -> (the theme's webfont, the CSS font-weight of its face, its family).
_FACES = {
    "solid": ("fa-solid-900.woff2", 900, "Font Awesome 7 Free"),
    "regular": ("fa-regular-400.woff2", 400, "Font Awesome 7 Free"),
    "brands": ("fa-brands-400.woff2", 400, "Font Awesome 7 Brands"),
}
_STYLE_ALIASES = {"fas": "solid", "fa-solid": "solid", "far": "regular", "fa-regular": "regular",
                  "fab": "brands", "fa-brands": "brands", "fa": "solid"}
_CLASS_ATTR = re.compile(r'class="([^"]*\bfa[a-z-]*\b[^"]*)"')
# Utility classes that are not icons (sizes, widths, animations, lists, stacking).
_NOT_ICONS = re.compile(r"^fa-(solid|regular|brands|classic|xs|sm|lg|xl|2xs|2xl|\dx|fw|width-\w+|ul|li|border|"
                        r"pull-\w+|beat|beat-fade|bounce|fade|flip|shake|spin|spin-pulse|spin-reverse|pulse|"
                        r"rotate-\w+|flip-\w+|stack|stack-1x|stack-2x|inverse|layers|sr-only)$")


def describe(doctree: nodes.document | None, fallback: str, limit: int = 155) -> str:
    """A page's description: its first real paragraph, cut at a word near ``limit`` characters."""
    if doctree is not None:
        for para in doctree.findall(nodes.paragraph):
            if para.parent is not None and isinstance(para.parent, nodes.system_message | nodes.field_body):
                continue
            text = " ".join(para.astext().split())
            if len(text) >= 40:
                if len(text) > limit:
                    text = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:") + "…"
                return text
    return fallback


_DOLLARS = re.compile(r"\$([^$]+)\$")


class BibliographyMath(SphinxPostTransform):
    """``$...$`` in a rendered bibliography entry (a title such as "the $\\ell_1$-ball") becomes math."""

    default_priority = 50  # after sphinxcontrib-bibtex renders the entries (5)

    def run(self, **kwargs: Any) -> None:
        for citation in self.document.findall(nodes.citation):
            for text in list(citation.findall(nodes.Text)):
                if "$" not in text or isinstance(text.parent, nodes.math | nodes.literal):
                    continue
                parts: list[nodes.Node] = []
                last = 0
                for m in _DOLLARS.finditer(str(text)):
                    parts += [nodes.Text(str(text)[last:m.start()]), nodes.math(m.group(1), m.group(1))]
                    last = m.end()
                if parts:
                    parts.append(nodes.Text(str(text)[last:]))
                    text.parent.replace(text, parts)


def visit_citation(self: Any, node: nodes.citation) -> None:
    if not isinstance(node.previous_sibling(), nodes.citation):
        self.body.append('<div role="list" class="citation-list">\n')
    self.body.append(self.starttag(node, "div", classes=[node.tagname], role="listitem"))


def depart_citation(self: Any, node: nodes.citation) -> None:
    self.body.append("</div>\n")
    if not isinstance(node.next_node(descend=False, siblings=True), nodes.citation):
        self.body.append("</div>\n")


def visit_hidden_cell(self: Any, node: Any) -> None:
    from html import escape

    classes = " ".join(node["classes"])
    self.body.append(f'<details class="admonition hide {classes}">\n<summary>\n')
    self.body.append(f'<p class="collapsed admonition-title">{escape(node["prompt_show"])}</p>\n')
    self.body.append(f'<p class="expanded admonition-title">{escape(node["prompt_hide"])}</p>\n')
    self.body.append("</summary>\n")


def depart_hidden_cell(self: Any, node: Any) -> None:
    self.body.append("</details>\n")


def _page_context(app: Any, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    book = app.config.regbook_description
    context["regbook_description"] = book if pagename == app.config.root_doc else describe(doctree, book)
    pathto = context["pathto"]
    for group in context.get("header_buttons", []):
        if group.get("label") != "download-buttons":
            continue
        group["tooltip"] = "Download"
        buttons = [b for b in group["buttons"] if b.get("label") != "download-pdf-button"]
        buttons.append({
            "type": "link",
            "url": pathto(PDF_NAME, 1),
            "text": "Book (.pdf)",
            "tooltip": "The whole book as one PDF",
            "icon": "fas fa-file-pdf",
            "label": "download-book-pdf-button",
        })
        group["buttons"] = buttons


def used_icons(html_root: Path) -> dict[str, set[str]]:
    """Font Awesome icons named in the written pages: style ("solid", ...) -> icon names."""
    used: dict[str, set[str]] = {}
    for page in html_root.rglob("*.html"):
        for attr in _CLASS_ATTR.findall(page.read_text(encoding="utf-8", errors="replace")):
            classes = attr.split()
            styles = {_STYLE_ALIASES[c] for c in classes if c in _STYLE_ALIASES}
            icons = {c[3:] for c in classes if c.startswith("fa-") and not _NOT_ICONS.match(c)}
            if icons:
                for style in styles or {"solid"}:
                    used.setdefault(style, set()).update(icons)
    return used


def _codepoints(theme_css: str, names: set[str]) -> dict[str, int]:
    """Icon name -> codepoint, read from the theme's CSS (``.fa-bars,.fa-navicon{--fa:"\\f0c9"}``)."""
    out: dict[str, int] = {}
    for selectors, code in re.findall(r"((?:\.fa-[\w-]+,?)+)\{--fa:\"\\([0-9a-f]+)\"", theme_css):
        for sel in selectors.split(","):
            name = sel.strip()[4:]
            if name in names:
                out[name] = int(code, 16)
    return out


_ICON_TABLE = re.compile(r"(?:\.fa-[\w-]+,?)+\{--fa:\"\\[0-9a-f]+\"\}")
_PUA_ESCAPE = re.compile(r"\\([ef][0-9a-f]{3})\b")


def css_glyphs(static: Path) -> set[int]:
    """Icon glyphs the stylesheets draw themselves (admonition and link icons, ...).

    Characters of Unicode's private use area (where Font Awesome keeps its icons) written
    in any stylesheet of the site, literally or as a CSS escape, outside Font Awesome's own
    table of icon classes.
    """
    out: set[int] = set()
    for css in static.rglob("*.css"):
        text = _ICON_TABLE.sub("", css.read_text(encoding="utf-8", errors="replace"))
        out.update(ord(ch) for ch in text if 0xE000 <= ord(ch) <= 0xF8FF)
        out.update(int(code, 16) for code in _PUA_ESCAPE.findall(text))
    return out


def write_icon_subset(outdir: Path, theme_static: Path) -> dict[str, dict[str, int]]:
    """Subset the theme's Font Awesome webfonts to the icons the site uses; write ``_static/icons.css``."""
    from fontTools import subset

    css_text = (theme_static / "styles" / "pydata-sphinx-theme.css").read_text(encoding="utf-8")
    used = used_icons(outdir)
    drawn_by_css = css_glyphs(outdir / "_static")
    fonts_dir = outdir / "_static" / "icons"
    fonts_dir.mkdir(parents=True, exist_ok=True)
    rules = ["/* Generated by book/_ext/regbook_site.py: Font Awesome faces cut to the icons this site uses. */"]
    found: dict[str, dict[str, int]] = {}
    for style, (font, weight, family) in _FACES.items():
        codes = _codepoints(css_text, used.get(style, set()))
        found[style] = codes
        target = fonts_dir / font
        source_path = theme_static / "vendor" / "fontawesome" / "webfonts" / font
        cmap = subset.load_font(str(source_path), subset.Options()).getBestCmap()
        wanted = sorted({*codes.values(), *(c for c in drawn_by_css if c in cmap)})
        if not wanted:
            # No icon of this style: a face with no source, so the full font is never fetched.
            rules.append(f'@font-face{{font-family:"{family}";font-style:normal;font-weight:{weight};'
                         'font-display:block;src:local("regbook-no-such-font")}')
            continue
        options = subset.Options()
        options.flavor = "woff2"
        options.layout_features = ["*"]
        options.name_IDs = ["*"]
        source = subset.load_font(str(source_path), options)
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=wanted)
        subsetter.subset(source)
        subset.save_font(source, str(target), options)
        rules.append(f'@font-face{{font-family:"{family}";font-style:normal;font-weight:{weight};'
                     f'font-display:block;src:url(icons/{font}) format("woff2")}}')
    (outdir / "_static" / "icons.css").write_text("\n".join(rules) + "\n", encoding="utf-8")
    return found


THEME_CSS = "styles/pydata-sphinx-theme.regbook.css"


def write_theme_css(outdir: Path, theme_static: Path, used: set[str]) -> int:
    """The theme's stylesheet without the rules of the icons the site does not use (and no source map).

    pydata-sphinx-theme.css carries one rule per Font Awesome icon (about 2,000 rules, 66 kB);
    the layout template links this copy instead. Returns the number of icon rules kept.
    """
    text = (theme_static / "styles" / "pydata-sphinx-theme.css").read_text(encoding="utf-8")
    kept = 0

    def keep(m: re.Match[str]) -> str:
        nonlocal kept
        names = {sel.strip()[4:] for sel in m.group(1).split(",")}
        if names & used:
            kept += 1
            return m.group(0)
        return ""

    text = re.sub(r"((?:\.fa-[\w-]+,?)+)\{--fa:\"\\[0-9a-f]+\"\}", keep, text)
    text = re.sub(r"/\*# sourceMappingURL=[^*]*\*/", "", text)
    (outdir / "_static" / THEME_CSS).write_text(text, encoding="utf-8")
    return kept


def _build_finished(app: Any, exception: Exception | None) -> None:
    if exception is not None or app.builder.format != "html":
        return
    import pydata_sphinx_theme

    theme_static = Path(pydata_sphinx_theme.__file__).parent / "theme" / "pydata_sphinx_theme" / "static"
    outdir = Path(app.outdir)
    write_icon_subset(outdir, theme_static)
    write_theme_css(outdir, theme_static, set().union(*used_icons(outdir).values()))


def setup(app: Any) -> dict[str, Any]:
    app.add_config_value("regbook_description", "", "html", types=[str])
    app.add_css_file("icons.css")
    app.add_post_transform(BibliographyMath)
    from myst_nb.sphinx_ import HideCodeCellNode

    app.add_node(nodes.citation, override=True, html=(visit_citation, depart_citation))
    app.add_node(HideCodeCellNode, override=True, html=(visit_hidden_cell, depart_hidden_cell))
    app.connect("html-page-context", _page_context, priority=600)  # after the theme's header buttons (501)
    app.connect("build-finished", _build_finished)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
