"""The claims ledger: every quantitative sentence of the lecture, with its status and evidence.

The data live in ``book/claims/<chapter>.toml`` (format: ``book/claims/README.md``),
one file per chapter of :data:`regbook.chapters.CHAPTERS`, shown in that order.
The ``{claims-ledger}`` directive renders one card per claim (readable at any
width), grouped by chapter, with filters by status and by chapter
(``_static/claims-filter.js``) and the status counts on top.

A row's *measured* value is never typed into the data file. It is the value
the chapter's executed code glued, read from myst-nb's ``<page>.glue.json``
once every page has executed. For a ``measured`` row that value is an
:class:`regbook.experiments.stats.Estimate` (mean, 95% interval, seeds), and the
row's status is computed from it by :func:`regbook.experiments.stats.claim_status`,
the book's one rule: reproduced, not reproduced, or inconclusive. A row that
names a glue key its page did not produce is a build error.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from docutils import nodes
from docutils.statemachine import StringList
from glue_values import format_value, glue_file, glued_json, glued_values
from sphinx.addnodes import pending_xref
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
CLAIMS = ROOT / "book" / "claims"
#: status -> label shown; "measured" rows get one of the three computed ones.
LABELS = {
    "verified": "verified exactly",
    "reproduced": "reproduced",
    "not-reproduced": "not reproduced",
    "inconclusive": "inconclusive",
    "corrected": "corrected",
    "cited": "cited only",
}
DATA_STATUSES = ("verified", "measured", "corrected", "cited")
logger = logging.getLogger(__name__)


def load(stem: str) -> list[dict[str, Any]]:
    path = CLAIMS / f"{stem}.toml"
    if not path.is_file():
        return []
    return list(tomllib.loads(path.read_text()).get("claim", []))


class measured(nodes.Inline, nodes.TextElement):
    """Placeholder for a glued value (and, for a measured row, its computed status)."""


class status_counts(nodes.General, nodes.Element):
    """Placeholder for the table of status counts; filled once the measured rows have statuses."""


def _badge(status: str) -> nodes.inline:
    label = LABELS.get(status, status)
    return nodes.inline(label, label, classes=["claim-status", f"claim-{status}"])


class ClaimsLedger(SphinxDirective):
    """``{claims-ledger}``: every chapter's claims, in book order (from regbook.chapters)."""

    has_content = True

    def run(self) -> list[nodes.Node]:
        from regbook_chapters import SOURCE, chapters

        stems = [s.strip() for s in self.content if s.strip()] or [c.stem for c in chapters().CHAPTERS]
        self.env.note_dependency(str(SOURCE))
        titles = {c.stem: c.title for c in chapters().CHAPTERS}
        out: list[nodes.Node] = [status_counts(), self._filters(stems, titles)]
        for stem in stems:
            rows = load(stem)
            if (CLAIMS / f"{stem}.toml").is_file():
                self.env.note_dependency(str(CLAIMS / f"{stem}.toml"))
            if not rows:
                continue
            sec = nodes.section(ids=[f"claims-{stem}"], names=[f"claims-{stem}"], classes=["claims-chapter"])
            self.state.document.note_explicit_target(sec, sec)  # so chapters can {ref} their rows
            title = nodes.title()
            ref = pending_xref("", refdomain="std", reftype="doc", reftarget=f"/{stem}", refexplicit=True,
                               refdoc=self.env.docname)
            ref += nodes.Text(titles.get(stem, stem))
            title += ref
            sec += title
            for c in rows:
                sec += self._card(stem, c)
            out.append(sec)
        return out

    def _filters(self, stems: list[str], titles: dict[str, str]) -> nodes.raw:
        opts = "".join(f'<option value="{s}">{titles.get(s, s)}</option>' for s in stems)
        statuses = "".join(f'<option value="{k}">{v}</option>' for k, v in LABELS.items())
        html = (
            '<form class="claims-filter" hidden aria-label="Filter the claims">'
            '<label>Status <select name="status"><option value="">any</option>' + statuses + "</select></label>"
            '<label>Chapter <select name="chapter"><option value="">any</option>' + opts + "</select></label>"
            '<output class="claims-shown" aria-live="polite"></output></form>'
        )
        return nodes.raw("", html, format="html")

    def _card(self, stem: str, c: dict[str, Any]) -> nodes.container:
        for key in ("id", "claim", "status", "lines"):
            if key not in c:
                logger.warning(f"claims/{stem}.toml: a claim lacks {key!r}: {c}", location=self.get_location())
        status = c.get("status", "?")
        if status not in DATA_STATUSES:
            logger.warning(f"claims/{stem}.toml: {c.get('id')}: unknown status {status!r}",
                           location=self.get_location())
        card = nodes.container(ids=[f"claim-{c.get('id')}"],
                               classes=["claim-card", f"claim-chapter-{stem}", f"claim-is-{status}"])
        head = nodes.paragraph(classes=["claim-head"])
        if status == "measured":  # the status comes from the interval, once the page's glue is read
            head += measured("", "", stem=c.get("page", stem), key=c.get("effect", ""), fmt="", claim=c.get("id"),
                             direction=c.get("direction", "+"), role="status")
        else:
            head += _badge(status)
        head += nodes.Text(" ")
        head += nodes.inline(f"lecture, lines {c.get('lines', '?')}", f"lecture, lines {c.get('lines', '?')}",
                             classes=["claim-lines"])
        card += head
        text = nodes.paragraph(classes=["claim-text"])
        text += nodes.Text(c.get("claim", ""))
        card += text
        facts = nodes.definition_list(classes=["claim-facts"])
        if c.get("lecture_value"):
            facts += _item("Lecture says", nodes.Text(str(c["lecture_value"])))
        key = c.get("effect") or c.get("glue")
        if key:
            value = measured("", "", stem=c.get("page", stem), key=key, fmt=c.get("fmt", ""), claim=c.get("id"),
                             direction=c.get("direction", "+"), role="value")
            facts += _item("Measured here", value)
        if c.get("note"):
            facts += _item("Note", nodes.Text(c["note"]))
        if c.get("evidence"):
            ev = pending_xref("", refdomain="std", reftype="ref", reftarget=c["evidence"], refexplicit=False,
                              refdoc=self.env.docname)
            ev += nodes.inline("", c["evidence"])
            facts += _item("Evidence", ev)
        if c.get("cite"):
            para = nodes.paragraph()
            self.state.nested_parse(StringList([f"{{cite:t}}`{c['cite']}`"]), self.content_offset, para)
            only = para.children[0] if len(para.children) == 1 else None
            cite = only if isinstance(only, nodes.paragraph) else para
            facts += _item("Source", cite)
        card += facts
        return card


def _item(term: str, body: nodes.Node) -> nodes.definition_list_item:
    item = nodes.definition_list_item()
    item += nodes.term(term, term)
    definition = nodes.definition()
    para = body if isinstance(body, nodes.paragraph) else nodes.paragraph("", "", body)
    definition += para
    item += definition
    return item


def _fill(app: Any, doctree: nodes.document, docname: str) -> None:
    from regbook.experiments.stats import Estimate, claim_status

    text_cache: dict[str, dict[str, str]] = {}
    json_cache: dict[str, dict[str, object]] = {}
    counts = dict.fromkeys(LABELS, 0)
    for card in doctree.findall(lambda n: isinstance(n, nodes.container) and "claim-card" in n["classes"]):
        fixed = next((c[len("claim-is-"):] for c in card["classes"] if c.startswith("claim-is-")), "")
        if fixed in counts:
            counts[fixed] += 1
    for node in list(doctree.findall(measured)):
        stem, key = node["stem"], node["key"]
        values = text_cache.setdefault(stem, glued_values(glue_file(app.outdir, stem)))
        if key not in values:
            logger.warning(f"claims: {node['claim']}: glue key {key!r} was not produced by {stem}.md",
                           location=(docname, None))
            node.replace_self(nodes.Text("?"))
            continue
        if node["role"] == "value":
            node.replace_self(nodes.literal(text=format_value(values[key], node["fmt"])))
            continue
        data = json_cache.setdefault(stem, glued_json(glue_file(app.outdir, stem))).get(key)
        if not isinstance(data, dict) or not {"mean", "lo", "hi", "n"} <= data.keys():
            logger.warning(f"claims: {node['claim']}: a measured row's effect {key!r} must be a glued Estimate",
                           location=(docname, None))
            node.replace_self(nodes.Text("?"))
            continue
        est = Estimate(float(data["mean"]), float(data["lo"]), float(data["hi"]), int(data["n"]),
                       tuple(float(v) for v in data.get("values", [])))
        if est.n < 5:
            logger.warning(f"claims: {node['claim']}: {key!r} rests on {est.n} seeds; the book needs at least 5",
                           location=(docname, None))
        status = claim_status(est, node["direction"])
        counts[status] += 1
        card = node.parent.parent
        card["classes"] = [c for c in card["classes"] if c != "claim-is-measured"] + [f"claim-is-{status}"]
        node.replace_self(_badge(status))
    for placeholder in list(doctree.findall(status_counts)):
        placeholder.replace_self(_counts_table(counts))


def _counts_table(counts: dict[str, int]) -> nodes.table:
    table = nodes.table(ids=["claims-counts"], classes=["claims-counts"])
    group = nodes.tgroup(cols=2)
    table += group
    group += nodes.colspec(colwidth=3)
    group += nodes.colspec(colwidth=1)
    thead = nodes.thead()
    row = nodes.row()
    for h in ("status", "claims"):
        row += nodes.entry("", nodes.paragraph(h, h))
    thead += row
    group += thead
    body = nodes.tbody()
    for status, n in [*counts.items(), ("total", sum(counts.values()))]:
        row = nodes.row()
        first = nodes.paragraph()
        first += _badge(status) if status != "total" else nodes.Text("total")
        row += nodes.entry("", first)
        row += nodes.entry("", nodes.paragraph(str(n), str(n)))
        body += row
    group += body
    return table


def _always_rewrite(app: Any, env: Any) -> list[str]:
    # The ledger shows values glued on other pages: write it anew every build.
    return [d for d in env.found_docs if d == "claims"]


def _script(app: Any, pagename: str, templatename: str, context: dict[str, Any], doctree: Any) -> None:
    if pagename == "claims":
        app.add_js_file("claims-filter.js", loading_method="defer")


def setup(app: Any) -> dict[str, Any]:
    app.add_node(measured)
    app.add_node(status_counts)
    app.add_directive("claims-ledger", ClaimsLedger)
    app.connect("doctree-resolved", _fill)
    app.connect("env-get-updated", _always_rewrite)
    app.connect("html-page-context", _script)
    return {"version": "2.0", "parallel_read_safe": True, "parallel_write_safe": True}
