"""Every public name of regbook keeps its contract under hostile input (tests/contracts/opinfo.py).

The registries ``tests/contracts/ops_*.py`` each define ``OPS`` (a list of
:class:`~opinfo.OpInfo`) and may define ``NOT_CALLABLE`` (public names that are
data, e.g. constants). A public name that no registry covers fails
:func:`test_every_public_name_is_covered`; every (op, parameter, hostile value)
is one case of :func:`test_contract`; :func:`test_a_broken_check_is_caught`
shows the suite fails when a validation is broken on purpose.
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path

import pytest
import torch._dynamo  # noqa: F401  (its first import takes seconds under load: not charged to one case's time limit)

from regbook.chapters import api_modules
from tests.contracts.opinfo import Case, OpInfo, check_case, hostile_cases

HERE = Path(__file__).parent
REGISTRIES = [importlib.import_module(f"tests.contracts.{p.stem}") for p in sorted(HERE.glob("ops_*.py"))]
OPS: list[OpInfo] = [op for r in REGISTRIES for op in r.OPS]
NOT_CALLABLE: set[str] = {n for r in REGISTRIES for n in getattr(r, "NOT_CALLABLE", ())}
CASES = [(op, case) for op in OPS for case in hostile_cases(op)]


def public_names() -> list[str]:
    out = []
    for m in api_modules():
        mod = importlib.import_module(f"regbook.{m}")
        for name in getattr(mod, "__all__", []):
            obj = getattr(mod, name)
            if getattr(obj, "__module__", mod.__name__) != mod.__name__ and not inspect.ismodule(obj):
                continue  # re-exported from elsewhere: covered where it is defined
            out.append(f"regbook.{m}.{name}")
    return out


def test_every_public_name_is_covered() -> None:
    covered = {op.name for op in OPS}
    prefixes = {n.rsplit(".", 1)[0] for n in covered}
    missing = [n for n in public_names() if n not in covered and n not in prefixes and n not in NOT_CALLABLE]
    assert not missing, f"public names no contract registry covers: {missing}"


def test_registry_names_are_public() -> None:
    names = set(public_names())
    stale = [op.name for op in OPS if op.name not in names and op.name.rsplit(".", 1)[0] not in names]
    assert not stale, f"registry entries for names that are not public: {stale}"


@pytest.mark.parametrize(("op", "case"), CASES, ids=[f"{op.name.removeprefix('regbook.')}-{c.param}-{c.label}"
                                                     for op, c in CASES])
def test_contract(op: OpInfo, case: Case) -> None:
    problem = check_case(op, case)
    assert problem is None, problem


def test_every_op_has_a_valid_sample_that_runs() -> None:
    broken = []
    for op in OPS:
        s = op.sample()
        try:
            op.fn(*s.args, **s.kwargs)
        except Exception as err:
            broken.append(f"{op.name}: {type(err).__name__}: {err}")
    assert not broken, broken


def test_a_broken_check_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """Mutation check: make the shared checks accept anything; the suite must notice."""
    import regbook._checks as checks

    monkeypatch.setattr(checks, "check_bool", lambda name, value: value)
    monkeypatch.setattr(checks, "check_int", lambda name, value, **kw: value)
    monkeypatch.setattr(checks, "check_real", lambda name, value: value)
    for m in api_modules():  # modules bind the names at import: patch their copies too
        mod = importlib.import_module(f"regbook.{m}")
        for name in ("check_bool", "check_int", "check_real"):
            if hasattr(mod, name):
                monkeypatch.setattr(mod, name, getattr(checks, name))
    failures = sum(check_case(op, case) is not None for op, case in CASES
                   if case.must_raise and case.label in ("bool", "float", "truthy_str", "str"))
    assert failures > 0, "breaking the shared checks did not make any contract case fail"
