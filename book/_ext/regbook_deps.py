"""Key each executed page's cache entry on the ``regbook`` sources it imports.

jupyter-cache (behind myst-nb's ``nb_execution_mode = "cache"``) keys a page on
its own code cells. The chapters' numbers also depend on ``regbook``, so an
edit to the package would otherwise leave stale outputs in the book.

This extension finds the ``regbook`` modules a page imports (dotted names
included: ``from regbook.experiments import dropout``,
``regbook.experiments.dropout.overfitting(...)``), follows ``regbook``'s own
imports from there (absolute and relative, into subpackages and out of
them), adds the ``__init__.py`` of every package on the way, hashes those
files (plus ``regbook/__init__.py``), and appends one hidden cell holding
the hash to the page's source as Sphinx reads it. Changing a module changes
that cell, so the pages that use the module, and only those, are executed
again. It also tells Sphinx to re-read such a page even though its own file
did not change.

Module names here are dotted paths below ``regbook``: ``"dropout"``,
``"experiments"`` (a package: its ``__init__.py``), ``"experiments.dropout"``.
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

_FROM = re.compile(r"^\s*from\s+regbook((?:\.\w+)*)\s+import\s+(\([^)]*\)|[^\n]+)", re.M)
_IMPORT = re.compile(r"^\s*import\s+regbook((?:\.\w+)+)", re.M)
_ATTR = re.compile(r"\bregbook((?:\.\w+)+)")
_BARE = re.compile(r"^\s*import\s+regbook\s*(?:$|#|,|as\b)", re.M)


def _module_file(name: str) -> Path | None:
    """The file behind dotted module ``name`` (a package's ``__init__.py``), or None."""
    if not name or not all(part.isidentifier() for part in name.split(".")):
        return None
    base = PKG.joinpath(*name.split("."))
    for cand in (base.with_suffix(".py"), base / "__init__.py"):
        if cand.is_file():
            return cand
    return None


def _is_package(name: str) -> bool:
    return (PKG.joinpath(*name.split(".")) / "__init__.py").is_file()


def _all_modules() -> set[str]:
    out = set()
    for p in PKG.rglob("*.py"):
        parts = p.relative_to(PKG).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts:
            out.add(".".join(parts))
    return out


def _names(text: str) -> list[str]:
    return [n.split(" as ")[0].strip() for n in text.strip("() \n").replace("\n", " ").split(",") if n.strip()]


def _longest_module(dotted: str) -> str | None:
    """The longest prefix of ``dotted`` (``a.b.c``) that names a regbook module."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        if _module_file(".".join(parts[:i])):
            return ".".join(parts[:i])
    return None


def _from_import(base: str, names: list[str]) -> set[str]:
    """Modules loaded by ``from regbook[.base] import names``: base, or base.name where that is a module."""
    out: set[str] = set()
    if base and _module_file(base):
        out.add(base)
    if not base or _is_package(base):
        prefix = f"{base}." if base else ""
        out.update(f"{prefix}{n}" for n in names if _module_file(f"{prefix}{n}"))
    return out


def page_modules(text: str) -> set[str]:
    """``regbook`` modules named by a page's imports and attribute uses."""
    mods: set[str] = set()
    for sub, names in _FROM.findall(text):
        mods |= _from_import(sub.lstrip("."), _names(names))
    for sub in _IMPORT.findall(text):
        found = _longest_module(sub.lstrip("."))
        if found:
            mods.add(found)
    for sub in _ATTR.findall(text):
        found = _longest_module(sub.lstrip("."))
        if found:
            mods.add(found)
    if _BARE.search(text) and not mods:
        mods = _all_modules()
    return mods


def _imports_of(module: str) -> set[str]:
    path = _module_file(module)
    if path is None:
        return set()
    stat = path.stat()
    return set(_parse_imports(module, str(path), stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=512)
def _parse_imports(module: str, path_str: str, mtime_ns: int, size: int) -> frozenset[str]:
    """regbook modules imported by one file (cached on its path, mtime and size)."""
    path = Path(path_str)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this module's package
                anchor = package.split(".") if package else []
                if node.level - 1 > len(anchor):
                    continue
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([node.module] if node.module else [])])
            elif node.module == "regbook" or (node.module or "").startswith("regbook."):
                base = node.module.removeprefix("regbook").lstrip(".")  # type: ignore[union-attr]
            else:
                continue
            out |= _from_import(base, [a.name for a in node.names])
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name.startswith("regbook."):
                    found = _longest_module(a.name.removeprefix("regbook."))
                    if found:
                        out.add(found)
    return frozenset(out)


def _parents(module: str) -> set[str]:
    """The packages that Python imports before ``module``: ``a.b.c`` -> {``a``, ``a.b``}."""
    parts = module.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts))}


def closure(modules: set[str]) -> set[str]:
    """``modules`` plus every ``regbook`` module they import, transitively, with their parent packages."""
    seen: set[str] = set()
    todo = list(modules)
    while todo:
        m = todo.pop()
        if m in seen or _module_file(m) is None:
            continue
        seen.add(m)
        todo.extend((_imports_of(m) | _parents(m)) - seen)
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
    return {"version": "1.1", "parallel_read_safe": True, "parallel_write_safe": True, "env_version": 2}
