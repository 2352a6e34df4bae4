"""Putting it together: the full stack (chapter *stack*): being written."""

from __future__ import annotations

__all__: list[str] = []
