"""The execution cache can never serve stale numbers (book/_ext/regbook_deps.py).

A page's cache key covers exactly the regbook modules it imports, followed
through regbook's own imports. These tests build a small fake package and
check, by hand, which edits change which page's key.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "book" / "_ext"))
import regbook_deps as deps

PAGE_A = "---\nfile_format: mystnb\n---\n```{code-cell} ipython3\nfrom regbook import dropout\n```\n"
PAGE_B = "---\nfile_format: mystnb\n---\n```{code-cell} ipython3\nfrom regbook.norms import layer_norm\n```\n"
PAGE_C = "---\nfile_format: mystnb\n---\n```{code-cell} ipython3\nimport regbook\nregbook.plotting.use()\n```\n"


@pytest.fixture
def pkg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path
    p = root / "regbook"
    p.mkdir()
    (p / "__init__.py").write_text("from regbook import dropout, norms, plotting\n")
    (p / "_checks.py").write_text("def check(): ...\n")
    (p / "dropout.py").write_text("from regbook._checks import check\n")
    (p / "norms.py").write_text("from regbook import _checks\nfrom regbook.plotting import x\n")
    (p / "plotting.py").write_text("x = 1\n")
    monkeypatch.setattr(deps, "ROOT", root)
    monkeypatch.setattr(deps, "PKG", p)
    return p


def test_page_modules_and_closure(pkg: Path) -> None:
    assert deps.page_modules(PAGE_A) == {"dropout"}
    assert deps.page_modules(PAGE_B) == {"norms"}
    assert deps.page_modules(PAGE_C) == {"plotting"}
    assert deps.closure({"dropout"}) == {"dropout", "_checks"}
    assert deps.closure({"norms"}) == {"norms", "_checks", "plotting"}


def test_editing_a_module_changes_the_key_of_exactly_the_pages_that_use_it(pkg: Path) -> None:
    before = {name: deps.fingerprint(text)[0] for name, text in (("a", PAGE_A), ("b", PAGE_B), ("c", PAGE_C))}
    (pkg / "dropout.py").write_text("from regbook._checks import check\n# edited\n")
    after = {name: deps.fingerprint(text)[0] for name, text in (("a", PAGE_A), ("b", PAGE_B), ("c", PAGE_C))}
    assert after["a"] != before["a"] and after["b"] == before["b"] and after["c"] == before["c"]
    (pkg / "_checks.py").write_text("def check(): return 1\n")  # imported by dropout and norms
    again = {name: deps.fingerprint(text)[0] for name, text in (("a", PAGE_A), ("b", PAGE_B), ("c", PAGE_C))}
    assert again["a"] != after["a"] and again["b"] != after["b"] and again["c"] == after["c"]


def test_editing_the_package_init_changes_every_key(pkg: Path) -> None:
    before = [deps.fingerprint(t)[0] for t in (PAGE_A, PAGE_B, PAGE_C)]
    (pkg / "__init__.py").write_text("from regbook import dropout, norms, plotting\n# edited\n")
    after = [deps.fingerprint(t)[0] for t in (PAGE_A, PAGE_B, PAGE_C)]
    assert all(x != y for x, y in zip(before, after, strict=True))


def test_bare_import_depends_on_everything(pkg: Path) -> None:
    assert deps.page_modules("import regbook\n") == {"dropout", "norms", "plotting", "_checks"}


def test_the_hidden_cell_is_added_only_to_executed_pages(pkg: Path) -> None:
    source = [PAGE_A]

    class Env:
        pass

    class App:
        env = Env()

    deps._source_read(App(), "a", source)
    assert source[0].startswith(PAGE_A) and ":tags: [remove-cell]" in source[0]
    assert App.env.regbook_deps["a"] == deps.fingerprint(PAGE_A)[0]  # type: ignore[attr-defined]
    plain = ["# Just prose\n"]
    deps._source_read(App(), "p", plain)
    assert plain == ["# Just prose\n"]


# --- subpackages: dotted imports, relative imports, parent packages ----------

PAGE_X = "---\nfile_format: mystnb\n---\n```{code-cell} ipython3\nfrom regbook.experiments import dropout as ex\n```\n"
PAGE_Y = ("---\nfile_format: mystnb\n---\n```{code-cell} ipython3\nimport regbook.experiments.norms\n"
          "regbook.experiments.norms.run()\n```\n")
PAGE_Z = "---\nfile_format: mystnb\n---\n```{code-cell} ipython3\nfrom regbook.experiments.harness import fit\n```\n"


@pytest.fixture
def subpkg(pkg: Path) -> Path:
    ex = pkg / "experiments"
    ex.mkdir()
    (ex / "__init__.py").write_text('"""Experiments."""\n')
    (ex / "harness.py").write_text("from regbook import plotting\n")
    (ex / "dropout.py").write_text("from . import harness\nfrom regbook.dropout import x\n")
    (ex / "norms.py").write_text("from .harness import fit\nfrom .. import norms\n")
    return pkg


def _keys() -> dict[str, str]:
    return {n: deps.fingerprint(t)[0] for n, t in (("a", PAGE_A), ("b", PAGE_B), ("c", PAGE_C),
                                                     ("x", PAGE_X), ("y", PAGE_Y), ("z", PAGE_Z))}


def test_dotted_page_imports_name_submodules(subpkg: Path) -> None:
    assert deps.page_modules(PAGE_X) == {"experiments", "experiments.dropout"}
    assert deps.page_modules(PAGE_Y) == {"experiments.norms"}
    assert deps.page_modules(PAGE_Z) == {"experiments.harness"}
    assert deps.closure({"experiments.dropout"}) == {
        "experiments.dropout", "experiments", "experiments.harness", "plotting", "dropout", "_checks"}
    assert deps.closure({"experiments.norms"}) == {
        "experiments.norms", "experiments", "experiments.harness", "plotting", "norms", "_checks"}


@pytest.mark.parametrize(("edited", "stale"), [
    ("experiments/dropout.py", {"x"}),
    ("experiments/norms.py", {"y"}),
    ("experiments/harness.py", {"x", "y", "z"}),
    ("experiments/__init__.py", {"x", "y", "z"}),
    ("dropout.py", {"a", "x"}),           # an op module, reached from inside the subpackage
    ("plotting.py", {"b", "c", "x", "y", "z"}),
])
def test_editing_a_file_re_keys_exactly_the_pages_that_import_it(subpkg: Path, edited: str, stale: set[str]) -> None:
    before = _keys()
    path = subpkg / edited
    path.write_text(path.read_text() + "# edited\n")
    after = _keys()
    assert {n for n in before if before[n] != after[n]} == stale
