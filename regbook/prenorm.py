"""Pre-norm vs post-norm (chapter *prenorm*): being written."""

from __future__ import annotations

__all__: list[str] = []
