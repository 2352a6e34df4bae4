"""Label smoothing (chapter *label_smoothing*): being written."""

from __future__ import annotations

__all__: list[str] = []
