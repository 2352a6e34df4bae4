"""Double descent (chapter *double_descent*): being written."""

from __future__ import annotations

__all__: list[str] = []
