"""meals API routes (registered on import)."""
from __future__ import annotations
