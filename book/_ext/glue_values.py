"""Read the values a page glued, as myst-nb stored them after executing it.

myst-nb writes ``<build>/jupyter_execute/<page>.glue.json`` beside each
executed notebook: glue key -> the output it recorded. The notebook downloads
and the claims ledger both print those values outside their own page.
"""

from __future__ import annotations

import json
from pathlib import Path


def glue_file(outdir: str | Path, docname: str) -> Path:
    """Where myst-nb keeps the glue of ``docname`` for a builder writing to ``outdir``."""
    return Path(outdir).parent / "jupyter_execute" / f"{docname}.glue.json"


def glued_values(path: Path) -> dict[str, str]:
    """Glue key -> its ``text/plain`` value (empty if the page glued nothing)."""
    if not path.is_file():
        return {}
    out: dict[str, str] = {}
    for key, output in json.loads(path.read_text()).items():
        text = output.get("data", {}).get("text/plain")
        if text is not None:
            out[key] = "".join(text) if isinstance(text, list) else text
    return out


ESTIMATE_MIME = "application/vnd.regbook.estimate+json"  # regbook.experiments.stats.MIME


def glued_json(path: Path) -> dict[str, object]:
    """Glue key -> the numbers behind a glued ``Estimate`` (its ``ESTIMATE_MIME`` value)."""
    if not path.is_file():
        return {}
    out: dict[str, object] = {}
    for key, output in json.loads(path.read_text()).items():
        data = output.get("data", {}).get(ESTIMATE_MIME)
        if data is not None:
            out[key] = data
    return out


def format_value(text: str, spec: str | None) -> str:
    """Format a glued value the way ``{glue:text}`key:spec``` does in the page."""
    if spec:
        try:
            return format(float(text), spec)
        except ValueError:
            pass
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text
