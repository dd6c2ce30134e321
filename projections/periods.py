"""Calendar periods of a report's date, in China Standard Time (统计周期).

The figures group and window cases by the local calendar day, week, month, quarter or year
of their report: a case reported at 23:30 UTC on 31 March belongs to April in Beijing.
"""

from __future__ import annotations

from datetime import timedelta, timezone

from projections.fold import from_us

#: Periods are calendar periods of the reported date in China Standard Time (UTC+8).
LOCAL = timezone(timedelta(hours=8), "CST")
PERIODS = ("day", "week", "month", "quarter", "year")


def period_key(reported_at_us: int, period: str) -> str:
    """The calendar period (China Standard Time) a report falls in: 2026-03-02, 2026-W10..."""
    local = from_us(reported_at_us).astimezone(LOCAL)
    if period == "day":
        return local.strftime("%Y-%m-%d")
    if period == "week":
        year, week, _ = local.isocalendar()
        return f"{year}-W{week:02d}"
    if period == "month":
        return local.strftime("%Y-%m")
    if period == "quarter":
        return f"{local.year}-Q{(local.month - 1) // 3 + 1}"
    if period == "year":
        return f"{local.year}"
    raise ValueError(f"period must be one of {', '.join(PERIODS)}")
