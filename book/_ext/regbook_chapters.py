"""Lay the book out from :data:`regbook.chapters.CHAPTERS`, the one list of chapters.

Directives (each page that uses one is re-read when ``regbook/chapters.py`` changes):

* ``{chapter-plan}`` -- the landing page's plan table (session, part, topic, chapter);
* ``{chapter-toc}`` -- the landing page's toctrees, one per session;
* ``{chapter-api}`` -- the API page: one section per module, chapters' modules first.

The claims ledger (``regbook_claims.py``) reads the same list.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "regbook" / "chapters.py"


def chapters() -> Any:
    """The ``regbook.chapters`` module, re-imported if its file changed (Sphinx may live across builds)."""
    import regbook.chapters as mod

    if getattr(mod, "_mtime", None) != SOURCE.stat().st_mtime_ns:
        mod = importlib.reload(mod)
        mod._mtime = SOURCE.stat().st_mtime_ns  # type: ignore[attr-defined]
    return mod


class _Generated(SphinxDirective):
    """Parse generated MyST Markdown in place of the directive."""

    def markdown(self) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def run(self) -> list[nodes.Node]:
        self.env.note_dependency(str(SOURCE))
        container = nodes.section() if self.match_titles else nodes.container()
        lines = self.markdown().splitlines()
        self.state.nested_parse(StringList(lines, source=str(SOURCE)), self.content_offset, container,
                                match_titles=self.match_titles)
        return list(container.children)

    match_titles = False


class ChapterPlan(_Generated):
    def markdown(self) -> str:
        rows = ["| Session | Part | Topic | Chapter |", "|---|---|---|---|"]
        last = None
        for c in chapters().CHAPTERS:
            session = c.session if c.session != last else ""
            last = c.session
            rows.append(f"| {session} | {c.part} | {c.title} | {{doc}}`{c.stem}` |")
        return "\n".join(rows)


class ChapterToc(_Generated):
    def markdown(self) -> str:
        out: list[str] = []
        sessions: dict[str, list[str]] = {}
        for c in chapters().CHAPTERS:
            sessions.setdefault(c.session, []).append(c.stem)
        for session, stems in sessions.items():
            caption = session if session == "Notebooks" else f"Session {session}"
            out += ["```{toctree}", ":hidden:", f":caption: {caption}", "", *stems, "```", ""]
        return "\n".join(out)


class ChapterApi(_Generated):
    """``{chapter-api}`` with an argument: ``ops`` (the op modules, in chapter order) or
    ``experiments`` (the experiments modules and the shared ones). Two pages keep each one light."""

    match_titles = True
    optional_arguments = 1

    def markdown(self) -> str:
        part = self.arguments[0] if self.arguments else "ops"
        out: list[str] = []
        for m in chapters().api_modules():
            shared = m.startswith("experiments.") or m in chapters().REFERENCE_MODULES
            if shared != (part == "experiments"):
                continue
            if not (ROOT / "regbook" / f"{m.replace('.', '/')}.py").is_file():
                continue
            out += [f"## `regbook.{m}`", "", "```{eval-rst}", f".. automodule:: regbook.{m}", "   :members:", "```", ""]
        return "\n".join(out)


def setup(app: Any) -> dict[str, Any]:
    app.add_directive("chapter-plan", ChapterPlan)
    app.add_directive("chapter-toc", ChapterToc)
    app.add_directive("chapter-api", ChapterApi)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
