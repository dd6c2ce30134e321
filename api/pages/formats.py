"""Numbers, durations and times as people read them (格式).

- Rates (fractions 0..1, or None) as percentages with one decimal, rounded half up
  (``0.12345`` → ``12.3%``; ``0.00125`` → ``0.1%``): ``decimal.ROUND_HALF_UP`` on the
  fraction's exact decimal value, so the page never shows a figure the API's fraction
  does not round to.
- Durations (seconds) in days and hours, rounded down to the hour ("3 天 4 小时").
- Times in China Standard Time (UTC+8, no daylight saving since 1991) with the zone shown.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal

from api.i18n import Lang, text

CHINA = timezone(timedelta(hours=8), "CST")


def percent(rate: float | None, lang: Lang = "zh") -> str:
    """``0.8567`` → ``"85.7%"``; None (no denominator) → ``"—"``."""
    if rate is None:
        return text("na", lang)
    value = (Decimal(repr(rate)) * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return f"{value}%"


def percent_number(rate: float | None) -> float | None:
    """The same rounding as ``percent``, as a number (for charts)."""
    if rate is None:
        return None
    return float((Decimal(repr(rate)) * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def change(now: float | None, before: float | None) -> str | None:
    """The change of a rate in percentage points, signed, one decimal: ``"+2.5"``; None
    when either month has no figure."""
    a, b = percent_number(now), percent_number(before)
    if a is None or b is None:
        return None
    delta = Decimal(str(a)) - Decimal(str(b))
    return f"{delta:+.1f}"


def count_change(now: int, before: int) -> str:
    return f"{now - before:+d}"


def duration(seconds: float | None, lang: Lang = "zh") -> str:
    """Seconds as days and hours, rounded down to the hour; ``"—"`` for None."""
    if seconds is None:
        return text("na", lang)
    hours_total = int(seconds // 3600)
    days, hours = divmod(hours_total, 24)
    if days:
        return text("duration.days_hours", lang, days=days, hours=hours)
    if hours:
        return text("duration.hours", lang, hours=hours)
    return text("duration.minutes", lang)


def parse_time(value: str | datetime | None) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(value)


def china_time(value: str | datetime | None, lang: Lang = "zh", *, zone: bool = True) -> str:
    """``2026-03-02T01:00:00+00:00`` → ``"2026-03-02 09:00 北京时间"`` (``China time`` in en)."""
    moment = parse_time(value)
    if moment is None:
        return text("na", lang)
    local = moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")
    return f"{local} {text('time.zone', lang)}" if zone else local


def china_date(value: str | datetime | None, lang: Lang = "zh") -> str:
    moment = parse_time(value)
    if moment is None:
        return text("na", lang)
    return moment.astimezone(CHINA).strftime("%Y-%m-%d")


def month_label(month: str, lang: Lang) -> str:
    """``"2026-03"`` → ``"2026年3月"`` / ``"March 2026"``."""
    year, number = (int(part) for part in month.split("-"))
    if lang == "zh":
        return f"{year}年{number}月"
    return datetime(year, number, 1).strftime("%B %Y")


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """The month's first instant and the next month's, in China time."""
    year, number = (int(part) for part in month.split("-"))
    start = datetime(year, number, 1, tzinfo=CHINA)
    return start, shift_month(start, 1)


def shift_month(start: datetime, months: int) -> datetime:
    index = start.year * 12 + start.month - 1 + months
    return start.replace(year=index // 12, month=index % 12 + 1, day=1)


def month_of(moment: datetime) -> str:
    local = moment.astimezone(CHINA)
    return f"{local.year:04d}-{local.month:02d}"


def shift_day(start: datetime, days: int) -> datetime:
    return start + timedelta(days=days)
