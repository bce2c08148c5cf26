"""How modelseal writes a point in time for people and JSON: ISO 8601, UTC, whole seconds.

Chain times are unix seconds (block timestamps); they are shown with :func:`iso`. Which clock
judges what is in ``docs/architecture.md``: chain facts (operator expiry, signer windows) by chain
time, protocol freshness by the verifier's clock.
"""

from __future__ import annotations

from datetime import UTC, datetime


def iso(ts: int) -> str:
    """``2026-11-29T17:17:27Z`` for unix seconds ``ts``."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
