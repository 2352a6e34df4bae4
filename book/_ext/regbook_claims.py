"""The claims ledger: every quantitative sentence of the lecture, with its status and evidence.

The data live in ``book/claims/<chapter>.toml`` (format: ``book/claims/README.md``).
The ``{claims-ledger}`` directive renders them as one table per chapter, with
the status counts on top. Each row links to the section of the book that
carries its evidence, and its *measured* column is the value the chapter's
executed code glued (read from myst-nb's ``<chapter>.glue.json`` once every
page has been executed), never a number typed into the data file. A row that
names a glue key the chapter did not produce is a build error.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from docutils import nodes
from glue_values import format_value, glue_file, glued_values
from sphinx.addnodes import pending_xref
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
CLAIMS = ROOT / "book" / "claims"
STATUSES = {
    "verified": "verified exactly",
    "reproduced": "reproduced",
    "not-reproduced": "not reproduced here",
    "corrected": "corrected",
    "cited": "cited only",
}
logger = logging.getLogger(__name__)


def load(stem: str) -> list[dict[str, Any]]:
    path = CLAIMS / f"{stem}.toml"
    if not path.is_file():
        return []
    return list(tomllib.loads(path.read_text()).get("claim", []))


class measured(nodes.Inline, nodes.TextElement):
    """Placeholder for a glued value; filled in once every page has executed."""


class ClaimsLedger(SphinxDirective):
    """``{claims-ledger}`` with one chapter stem per content line, in book order."""

    has_content = True

    def run(self) -> list[nodes.Node]:
        stems = [s.strip() for s in self.content if s.strip()]
        rows = {s: load(s) for s in stems}
        for s in stems:
            if (CLAIMS / f"{s}.toml").is_file():
                self.env.note_dependency(str(CLAIMS / f"{s}.toml"))
        counts = {k: sum(r["status"] == k for rs in rows.values() for r in rs) for k in STATUSES}
        out: list[nodes.Node] = [self._counts_table(counts)]
        for stem in stems:
            if not rows[stem]:
                continue
            sec = nodes.section(ids=[f"claims-{stem}"], names=[f"claims-{stem}"])
            self.state.document.note_explicit_target(sec, sec)  # so chapters can {ref} their rows
            title = nodes.title()
            ref = pending_xref("", refdomain="std", reftype="doc", reftarget=f"/{stem}", refexplicit=False,
                               refdoc=self.env.docname)
            ref += nodes.literal(stem, stem)
            title += ref
            sec += title
            sec += self._table(stem, rows[stem])
            out.append(sec)
        return out

    def _counts_table(self, counts: dict[str, int]) -> nodes.table:
        head = ["status", "claims"]
        body = [[STATUSES[k], str(v)] for k, v in counts.items()]
        body.append(["total", str(sum(counts.values()))])
        return _table(head, [[nodes.Text(c) for c in row] for row in body], ids=["claims-counts"])

    def _table(self, stem: str, claims: list[dict[str, Any]]) -> nodes.table:
        head = ["claim", "lecture", "status", "lecture says", "measured here", "evidence"]
        body = []
        for c in claims:
            for key in ("id", "claim", "status", "lines"):
                if key not in c:
                    logger.warning(f"claims/{stem}.toml: a claim lacks {key!r}: {c}", location=self.get_location())
            status = c.get("status", "?")
            if status not in STATUSES:
                logger.warning(f"claims/{stem}.toml: {c.get('id')}: unknown status {status!r}",
                               location=self.get_location())
            badge = nodes.inline(STATUSES.get(status, status), STATUSES.get(status, status),
                                 classes=["claim-status", f"claim-{status}"])
            value: nodes.Node = nodes.Text("")
            if c.get("glue"):
                # `page`: the glue lives on another page than the chapter's own (e.g. its lab)
                value = measured("", "", stem=c.get("page", stem), key=c["glue"], fmt=c.get("fmt", ""),
                                 claim=c.get("id"))
            ev: nodes.Node
            if c.get("evidence"):
                # refexplicit=False: Sphinx writes the target section's own title as the link text
                ev = pending_xref("", refdomain="std", reftype="ref", reftarget=c["evidence"], refexplicit=False,
                                  refdoc=self.env.docname)
                ev += nodes.inline("", c["evidence"])
            elif c.get("cite"):  # cited only: the key, linked to the bibliography
                ev = pending_xref("", refdomain="std", reftype="doc", reftarget="/references", refexplicit=True,
                                  refdoc=self.env.docname)
                ev += nodes.literal(c["cite"], c["cite"])
            else:
                ev = nodes.Text("")
            cell_claim = nodes.inline()
            cell_claim += nodes.Text(c.get("claim", ""))
            if c.get("note"):
                cell_claim += nodes.Text(" ")
                cell_claim += nodes.emphasis(c["note"], c["note"])
            target = nodes.inline(ids=[f"claim-{c.get('id')}"])
            target += cell_claim
            body.append([target, nodes.Text(f"l. {c.get('lines', '?')}"), badge,
                         nodes.Text(str(c.get("lecture_value", ""))), value, ev])
        return _table(head, body, ids=[f"claims-table-{stem}"])


def _table(head: list[str], body: list[list[nodes.Node]], *, ids: list[str]) -> nodes.table:
    table = nodes.table(ids=ids, classes=["claims-table"])
    group = nodes.tgroup(cols=len(head))
    table += group
    for _ in head:
        group += nodes.colspec(colwidth=1)
    thead = nodes.thead()
    row = nodes.row()
    for h in head:
        row += nodes.entry("", nodes.paragraph(h, h))
    thead += row
    group += thead
    tbody = nodes.tbody()
    for cells in body:
        row = nodes.row()
        for cell in cells:
            entry = nodes.entry()
            para = nodes.paragraph()
            para += cell
            entry += para
            row += entry
        tbody += row
    group += tbody
    return table


def _fill(app: Any, doctree: nodes.document, docname: str) -> None:
    cache: dict[str, dict[str, str]] = {}
    for node in list(doctree.findall(measured)):
        stem, key = node["stem"], node["key"]
        values = cache.setdefault(stem, glued_values(glue_file(app.outdir, stem)))
        if key not in values:
            logger.warning(f"claims: {node['claim']}: glue key {key!r} was not produced by {stem}.md",
                           location=(docname, None))
            node.replace_self(nodes.Text("?"))
            continue
        node.replace_self(nodes.literal(text=format_value(values[key], node["fmt"])))


def _always_rewrite(app: Any, env: Any) -> list[str]:
    # The ledger shows values glued on other pages: write it anew every build.
    return [d for d in env.found_docs if d == "claims"]


def setup(app: Any) -> dict[str, Any]:
    app.add_node(measured)
    app.add_directive("claims-ledger", ClaimsLedger)
    app.connect("doctree-resolved", _fill)
    app.connect("env-get-updated", _always_rewrite)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
