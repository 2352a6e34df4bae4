"""LayerNorm, RMSNorm and GroupNorm (chapter *norms*): being written."""

from __future__ import annotations

__all__: list[str] = []
