"""How modelseal writes a point in time for people and JSON: ISO 8601, UTC, whole seconds.

Chain times are unix seconds (block timestamps, and ``uint64`` values a transaction chose, such as
an operator's expiry); they are shown with :func:`iso`. Which clock judges what is in
``docs/architecture.md``: chain facts (operator expiry, signer windows) by chain time, protocol
freshness by the verifier's clock.

Anyone can send a transaction with an expiry of 2^64 - 1, far beyond the year 9999 that
``datetime`` can hold, so :func:`iso` does the calendar arithmetic itself (the proleptic Gregorian
calendar, as ``datetime``) and writes such years in ISO 8601's expanded form with a sign, e.g.
``+584554051223-11-09T07:00:15Z``. Every ``uint64`` renders; nothing overflows.
"""

from __future__ import annotations

_DAY = 86_400


def _civil(days: int) -> tuple[int, int, int]:
    """Year, month, day of ``days`` since 1970-01-01 (H. Hinnant's ``civil_from_days``)."""
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (month <= 2), month, day


def iso(ts: int) -> str:
    """``2026-11-29T17:17:27Z`` for unix seconds ``ts``; years past 9999 as ``+YYYYYY...``."""
    days, rest = divmod(int(ts), _DAY)
    year, month, day = _civil(days)
    hh, rest = divmod(rest, 3600)
    mm, ss = divmod(rest, 60)
    stamp = f"-{month:02d}-{day:02d}T{hh:02d}:{mm:02d}:{ss:02d}Z"
    if 0 <= year <= 9999:
        return f"{year:04d}{stamp}"
    return f"{'+' if year > 0 else '-'}{abs(year):04d}{stamp}"
