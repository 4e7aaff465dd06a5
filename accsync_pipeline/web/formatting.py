"""How the admin screens write money, numbers, dates and times: Norwegian conventions, English words.

Money is always `kr 1 234,50`: the currency first, groups of three digits separated by a
no-break space (so an amount never wraps across two lines), a decimal comma and two decimals.
Times are 24-hour and shown in the organization's timezone; dates are day.month.year.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

NBSP = "\u00a0"
CURRENCY_SYMBOLS = {"NOK": "kr"}
_CENT = Decimal("0.01")
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _group_thousands(digits: str) -> str:
    """ "1234567" → "1 234 567" with no-break spaces."""
    head = len(digits) % 3 or 3
    groups = [digits[:head]] + [digits[i : i + 3] for i in range(head, len(digits), 3)]
    return NBSP.join(groups)


def format_money(amount: Decimal | int | str, currency: str = "NOK") -> str:
    """`kr 1 234,50`; other currencies by their code (`EUR 12,00`); rounded half up to whole øre.

    Floats are refused: money that has been through a float may already be wrong.
    """
    if isinstance(amount, float):
        raise TypeError("money must be a Decimal, an int or a decimal string, not a float")
    try:
        value = Decimal(amount)
    except InvalidOperation:
        raise ValueError(f"not an amount of money: {amount!r}") from None
    if not value.is_finite():
        raise ValueError(f"not an amount of money: {amount!r}")
    rounded = value.quantize(_CENT, rounding=ROUND_HALF_UP)
    whole, _, cents = f"{abs(rounded):.2f}".partition(".")
    sign = "-" if rounded < 0 else ""
    symbol = CURRENCY_SYMBOLS.get(currency.upper(), currency.upper())
    return f"{symbol}{NBSP}{sign}{_group_thousands(whole)},{cents}"


def format_count(count: int) -> str:
    """A whole number with Norwegian digit grouping: `12 345`."""
    sign = "-" if count < 0 else ""
    return sign + _group_thousands(str(abs(count)))


def _local(moment: datetime, timezone: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("a time to show must be timezone-aware")
    return moment.astimezone(ZoneInfo(timezone))


def format_date(day: date) -> str:
    """`20.11.2026`."""
    return f"{day.day:02d}.{day.month:02d}.{day.year}"


def format_datetime(moment: datetime | None, timezone: str, empty: str = "never") -> str:
    """`20.11.2026 13:05` in the given timezone, 24-hour clock; `empty` for no time at all."""
    if moment is None:
        return empty
    local = _local(moment, timezone)
    return f"{format_date(local.date())} {local.hour:02d}:{local.minute:02d}"


def format_datetime_with_weekday(moment: datetime, timezone: str) -> str:
    """`Fri 20.11.2026 16:00`: for upcoming runs, where the day of the week matters."""
    local = _local(moment, timezone)
    return f"{_WEEKDAYS[local.weekday()]} {format_datetime(moment, timezone)}"


def format_ago(moment: datetime | None, now: datetime | None = None) -> str:
    """How long ago, in plain words: `just now`, `5 minutes ago`, `3 hours ago`, `2 days ago`."""
    if moment is None:
        return "never"
    elapsed = (now or datetime.now(UTC)) - moment
    if elapsed < timedelta(minutes=1):
        return "just now"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        amount = int(elapsed.total_seconds() // size)
        if amount >= 1:
            return f"{amount} {unit}{'' if amount == 1 else 's'} ago"
    return "just now"  # unreachable: a minute or more is at least one minute


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """`1 record`, `2 records`, `1 234 records`."""
    word = singular if count == 1 else (plural_form or singular + "s")
    return f"{format_count(count)} {word}"
