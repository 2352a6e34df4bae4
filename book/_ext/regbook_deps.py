"""Key each executed page's cache entry on the ``regbook`` sources it imports.

jupyter-cache (behind myst-nb's ``nb_execution_mode = "cache"``) keys a page on
its own code cells. The chapters' numbers also depend on ``regbook``, so an
edit to the package would otherwise leave stale outputs in the book.

This extension finds the ``regbook`` modules a page imports, follows
``regbook``'s own imports from there, hashes those files (plus
``regbook/__init__.py``), and appends one hidden cell holding the hash to the
page's source as Sphinx reads it. Changing a module changes that cell, so the
pages that use the module, and only those, are executed again. It also tells
Sphinx to re-read such a page even though its own file did not change.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "regbook"

_FROM = re.compile(r"^\s*from\s+regbook(?:\.(\w+))?\s+import\s+(\([^)]*\)|[^\n]+)", re.M)
_ATTR = re.compile(r"\bregbook\.(\w+)")
_BARE = re.compile(r"^\s*import\s+regbook\s*(?:$|#)", re.M)


def _module_file(name: str) -> Path | None:
    for cand in (PKG / f"{name}.py", PKG / name / "__init__.py"):
        if cand.is_file():
            return cand
    return None


def _all_modules() -> set[str]:
    return {p.stem for p in PKG.glob("*.py") if p.stem != "__init__"}


def _names(text: str) -> list[str]:
    return [n.split(" as ")[0].strip() for n in text.strip("() \n").replace("\n", " ").split(",") if n.strip()]


def page_modules(text: str) -> set[str]:
    """``regbook`` modules named by a page's imports and attribute uses."""
    mods: set[str] = set()
    for sub, names in _FROM.findall(text):
        if sub:
            mods.add(sub)
        else:
            mods.update(n for n in _names(names) if _module_file(n))
    mods.update(m for m in _ATTR.findall(text) if _module_file(m))
    if _BARE.search(text) and not mods:
        mods = _all_modules()
    return mods


def _imports_of(module: str) -> set[str]:
    path = _module_file(module)
    if path is None:
        return set()
    stat = path.stat()
    return _parse_imports(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=256)
def _parse_imports(path_str: str, mtime_ns: int, size: int) -> frozenset[str]:
    """regbook modules imported by one file (cached on its path, mtime and size)."""
    path = Path(path_str)
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level == 1 or base.startswith("regbook"):
                sub = base.removeprefix("regbook").lstrip(".") if node.level == 0 else base
                if sub:
                    out.add(sub.split(".")[0])
                else:
                    out.update(a.name for a in node.names if _module_file(a.name))
        elif isinstance(node, ast.Import):
            out.update(a.name.split(".")[1] for a in node.names if a.name.startswith("regbook."))
    return frozenset(out)


def closure(modules: set[str]) -> set[str]:
    """``modules`` plus every ``regbook`` module they import, transitively."""
    seen: set[str] = set()
    todo = list(modules)
    while todo:
        m = todo.pop()
        if m in seen or _module_file(m) is None:
            continue
        seen.add(m)
        todo.extend(_imports_of(m) - seen)
    return seen


def fingerprint(text: str) -> tuple[str, list[str]]:
    """Hash of the regbook files behind a page, and their module names."""
    mods = sorted(closure(page_modules(text)))
    digest = hashlib.sha256()
    for path in [PKG / "__init__.py", *(_module_file(m) for m in mods)]:
        assert path is not None
        digest.update(path.relative_to(ROOT).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16], mods


def _executes(text: str) -> bool:
    return "file_format: mystnb" in text and "{code-cell}" in text


def cell(key: str, mods: list[str]) -> str:
    return (
        "\n\n```{code-cell} ipython3\n:tags: [remove-cell]\n"
        f"# regbook sources behind this page's outputs: {', '.join(mods) or '(none)'} -> {key}\n```\n"
    )


def _source_read(app: Any, docname: str, source: list[str]) -> None:
    text = source[0]
    if not _executes(text):
        return
    key, mods = fingerprint(text)
    source[0] = text + cell(key, mods)
    app.env.regbook_deps = getattr(app.env, "regbook_deps", {})
    app.env.regbook_deps[docname] = key


def _outdated(app: Any, env: Any, added: set[str], changed: set[str], removed: set[str]) -> list[str]:
    stale = []
    for docname, key in getattr(env, "regbook_deps", {}).items():
        if docname in removed or docname in changed:
            continue
        path = Path(env.doc2path(docname))
        if path.is_file() and fingerprint(path.read_text())[0] != key:
            stale.append(docname)
    return stale


def _purge(app: Any, env: Any, docname: str) -> None:
    getattr(env, "regbook_deps", {}).pop(docname, None)


def _merge(app: Any, env: Any, docnames: set[str], other: Any) -> None:
    env.regbook_deps = getattr(env, "regbook_deps", {})
    for d in docnames:
        if d in getattr(other, "regbook_deps", {}):
            env.regbook_deps[d] = other.regbook_deps[d]


def setup(app: Any) -> dict[str, Any]:
    app.connect("source-read", _source_read)
    app.connect("env-get-outdated", _outdated)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}
