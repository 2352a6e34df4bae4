"""pytest plugin: record which ``regbook`` functions each test calls.

``tests/test_claims.py`` runs the tests behind the ledger's verified rows with
this plugin (``-p tests._calltrace``) and checks that each test really calls
the function its row is about. Output: JSON, test node id -> sorted list of
``module.qualname`` of every regbook function entered, to ``$REGBOOK_CALLTRACE``.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Generator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

PKG = str(Path(__file__).resolve().parents[1] / "regbook")
_calls: dict[str, list[str]] = {}


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    seen: set[str] = set()

    def profile(frame: FrameType, event: str, arg: Any) -> None:
        if event == "call" and frame.f_code.co_filename.startswith(PKG):
            seen.add(f"{frame.f_globals.get('__name__')}.{frame.f_code.co_qualname}")

    sys.setprofile(profile)
    try:
        yield
    finally:
        sys.setprofile(None)
        _calls[item.nodeid] = sorted(seen)


def pytest_sessionfinish(session: pytest.Session) -> None:
    out = os.environ.get("REGBOOK_CALLTRACE")
    if out:
        Path(out).write_text(json.dumps(_calls))
