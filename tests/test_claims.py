"""The claims ledger's data: every row that says it is checked has a check behind it.

The ledger page (book/claims.md) renders book/claims/*.toml; the build fails if
a glue key has no executed value. These tests catch the rest before the build:
unknown statuses, rows marked verified/reproduced/not-reproduced/corrected with
no test, tests or sections that do not exist, glue keys that no cell computes,
citation keys missing from the bibliography.
"""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
FILES = sorted((BOOK / "claims").glob("*.toml"))
STATUSES = {"verified", "measured", "corrected", "cited"}
CHECKED = STATUSES - {"cited"}


def rows() -> list[tuple[str, dict[str, object]]]:
    out = []
    for f in FILES:
        for claim in tomllib.loads(f.read_text()).get("claim", []):
            out.append((f.stem, claim))
    return out


ROWS = rows()
IDS = [f"{stem}:{c.get('id', '?')}" for stem, c in ROWS]
TARGETS = {m for p in BOOK.glob("*.md") for m in re.findall(r"^\(([\w-]+)\)=\s*$", p.read_text(), re.M)}
BIB_KEYS = {m for p in [BOOK / "references.bib", *(BOOK / "bib").glob("*.bib")] if p.is_file()
            for m in re.findall(r"^@\w+\{([^,\s]+),", p.read_text(), re.M)}


def test_every_claims_file_belongs_to_a_chapter_of_the_book() -> None:
    from regbook.chapters import stems

    for f in FILES:
        assert (BOOK / f"{f.stem}.md").is_file(), f"claims/{f.name} has no chapter {f.stem}.md"
        assert f.stem in stems(), f"claims/{f.name}: {f.stem} is not in regbook.chapters.CHAPTERS"


def test_ids_are_unique_and_kebab_case() -> None:
    ids = [c.get("id") for _, c in ROWS]
    assert len(ids) == len(set(ids)), [i for i in ids if ids.count(i) > 1]
    for i in ids:
        assert isinstance(i, str) and re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", i), i


def _test_exists(node_id: str) -> bool:
    path, _, name = node_id.partition("::")
    name = name.split("[")[0]
    file = ROOT / path
    if not file.is_file() or not name:
        return False
    parts = name.split("::")
    tree = ast.parse(file.read_text())
    scope: list[ast.stmt] = tree.body
    for part in parts:
        found = [n for n in scope if isinstance(n, ast.FunctionDef | ast.ClassDef) and n.name == part]
        if not found:
            return False
        scope = found[0].body
    return True


def _glue_pattern(key: str, text: str) -> bool:
    """Does the page glue ``key``: literally, through an f-string, or as a key of a dict it loops over?

    The build is the final word: a key that no cell glues is a build error on the ledger page.
    """
    if re.search(rf"glue\(\s*['\"]{re.escape(key)}['\"]", text):
        return True
    if "glue(" in text and re.search(rf"['\"]{re.escape(key)}['\"]\s*:", text):
        return True
    for fstring in re.findall(r"glue\(\s*f['\"]([^'\"]+)['\"]", text):
        pattern = re.sub(r"\\\{[^}]*\\\}", r"\\w+", re.escape(fstring).replace(r"\{", "\\{").replace(r"\}", "\\}"))
        if re.fullmatch(pattern, key):
            return True
    return False


@pytest.mark.parametrize(("stem", "claim"), ROWS, ids=IDS)
def test_row_is_backed(stem: str, claim: dict[str, object]) -> None:
    for key in ("id", "lines", "claim", "status"):
        assert claim.get(key), f"missing {key!r}"
    status = claim["status"]
    assert status in STATUSES, f"unknown status {status!r}"
    assert re.fullmatch(r"\d+(-\d+)?(, ?\d+(-\d+)?)*", str(claim["lines"])), f"bad lecture lines {claim['lines']!r}"
    if status in CHECKED:
        assert claim.get("test"), f"a {status} claim needs the test that checks it"
        assert claim.get("evidence"), f"a {status} claim needs the section that shows it"
    if status == "corrected":
        assert claim.get("lecture_value"), "a corrected claim shows the lecture's value"
        assert claim.get("glue"), "a corrected claim shows the exact value, glued"
    if status == "cited":
        assert claim.get("cite"), "a cited claim gives its reference"
    if status == "measured":
        assert claim.get("effect"), "a measured claim names the glued Estimate its status is computed from"
        assert claim.get("direction") in ("+", "-"), "a measured claim gives the lecture's direction, '+' or '-'"
        assert not claim.get("glue"), "a measured claim shows its effect (the Estimate), not another value"
    else:
        assert not claim.get("effect") and not claim.get("direction"), "effect/direction belong to measured rows"
    if status == "verified":
        assert re.fullmatch(r"regbook(\.\w+)+", str(claim.get("function", ""))), \
            "a verified claim names the regbook function it is about (function = 'regbook.module.name')"
    if claim.get("test"):
        assert _test_exists(str(claim["test"])), f"no such test: {claim['test']}"
    if claim.get("evidence"):
        assert claim["evidence"] in TARGETS, f"no MyST target ({claim['evidence']})= in book/*.md"
    for field in ("glue", "effect"):
        if claim.get(field):
            page_stem = str(claim.get("page", stem))
            page = (BOOK / f"{page_stem}.md").read_text()
            assert _glue_pattern(str(claim[field]), page), f"{page_stem}.md never glues {claim[field]!r}"
    if claim.get("cite"):
        assert claim["cite"] in BIB_KEYS, f"unknown citation key {claim['cite']!r}"


def test_ledger_is_not_empty() -> None:
    assert len(ROWS) >= 10


def test_verified_rows_tests_call_the_function_they_are_about(tmp_path: Path) -> None:
    """Not merely a test of that name: the test, when run, enters the row's function."""
    verified = [(stem, c) for stem, c in ROWS if c.get("status") == "verified" and c.get("function")]
    if not verified:
        pytest.skip("no verified rows name their function yet")
    ids = sorted({str(c["test"]).split("[")[0] for _, c in verified})
    out = tmp_path / "calls.json"
    env = {**os.environ, "REGBOOK_CALLTRACE": str(out), "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                           "-p", "tests._calltrace", *ids], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    calls: dict[str, list[str]] = json.loads(out.read_text())
    missing = []
    for stem, c in verified:
        node = str(c["test"])
        called = {f for nid, fs in calls.items() if nid == node or nid.startswith(node.split("[")[0] + "[")
                  for f in fs}
        want = str(c["function"])
        if not any(f == want or f.startswith(want + ".") for f in called):
            missing.append(f"{stem}:{c['id']}: {node} never calls {want}")
    assert not missing, "\n".join(missing)
