"""Runtime values of the expression language and their missing-value semantics.

`None` is the one missing value. Every operator returns `None` when it needs a missing operand, so
a rule that depends on an unknown can only ever be *not evaluable*, never silently true or false.
Logic is Kleene's: `false and unknown` is false because the unknown is not needed.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

_PARTIAL = re.compile(r"^([0-9]{4})(?:-([0-9]{2})(?:-([0-9]{2}))?)?$")


@dataclass(frozen=True, order=True)
class PartialDate:
    """A date known to the year, the month or the day, compared as the interval it may lie in."""

    year: int
    month: int | None = None
    day: int | None = None

    @classmethod
    def parse(cls, text: str) -> PartialDate:
        match = _PARTIAL.match(text)
        if not match:
            raise ValueError("expected YYYY, YYYY-MM or YYYY-MM-DD")
        year, month, day = (int(g) if g else None for g in match.groups())
        assert year is not None
        if year < 1:
            raise ValueError("year must be 0001 or later")
        if month is not None and not 1 <= month <= 12:
            raise ValueError(f"month {month:02d} does not exist")
        if day is not None:
            dt.date(year, month or 1, day)  # raises ValueError for 2023-02-30
        return cls(year, month, day)

    @property
    def lower(self) -> dt.date:
        return dt.date(self.year, self.month or 1, self.day or 1)

    @property
    def upper(self) -> dt.date:
        if self.month is None:
            return dt.date(self.year, 12, 31)
        if self.day is None:
            return dt.date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])
        return dt.date(self.year, self.month, self.day)

    @property
    def exact(self) -> dt.date | None:
        return self.lower if self.day is not None else None

    def __str__(self) -> str:
        text = f"{self.year:04d}"
        if self.month is not None:
            text += f"-{self.month:02d}"
        if self.day is not None:
            text += f"-{self.day:02d}"
        return text


@dataclass(frozen=True)
class Duration:
    months: int = 0
    days: int = 0


def add_months(date: dt.date, months: int) -> dt.date:
    """Calendar months: 2024-01-31 + 1 month = 2024-02-29 (the day is clamped to the month's end)."""
    index = date.year * 12 + date.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    day = min(date.day, calendar.monthrange(year, month)[1])
    return date.replace(year=year, month=month, day=day)


def shift(value: object, duration: Duration, sign: int) -> object:
    if value is None:
        return None
    try:
        if isinstance(value, dt.datetime):
            moved = value.date()
            shifted = add_months(moved, sign * duration.months)
            return dt.datetime.combine(shifted, value.timetz()) + dt.timedelta(days=sign * duration.days)
        if isinstance(value, dt.date):
            return add_months(value, sign * duration.months) + dt.timedelta(days=sign * duration.days)
    except (ValueError, OverflowError):
        return None  # outside the calendar's range: not evaluable rather than a crash
    raise TypeError(f"cannot shift {type(value).__name__}")


def completed_years(start: dt.date, end: dt.date) -> int:
    """Completed years from `start` to `end` (age on a date)."""
    return end.year - start.year - ((end.month, end.day) < (start.month, start.day))


def _bounds(value: object) -> tuple[object, object]:
    if isinstance(value, PartialDate):
        return value.lower, value.upper
    return value, value


def compare(op: str, left: object, right: object) -> bool | None:
    """Three-valued comparison; partial dates compare as intervals (overlap means not evaluable)."""
    if left is None or right is None:
        return None
    if isinstance(left, PartialDate) or isinstance(right, PartialDate):
        (llo, lhi), (rlo, rhi) = _bounds(left), _bounds(right)
        if op == "<":
            return True if lhi < rlo else False if llo >= rhi else None
        if op == "<=":
            return True if lhi <= rlo else False if llo > rhi else None
        if op in (">", ">="):
            return compare("<" if op == ">" else "<=", right, left)
        if llo == lhi == rlo == rhi:
            return op == "="
        if lhi < rlo or rhi < llo:
            return op != "="
        return None
    try:
        if op == "=":
            return bool(left == right)
        if op == "!=":
            return bool(left != right)
        if op == "<":
            return bool(left < right)  # type: ignore[operator]
        if op == "<=":
            return bool(left <= right)  # type: ignore[operator]
        if op == ">":
            return bool(left > right)  # type: ignore[operator]
        if op == ">=":
            return bool(left >= right)  # type: ignore[operator]
    except (TypeError, InvalidOperation):
        return None
    raise ValueError(op)


def kleene_and(left: bool | None, right: bool | None) -> bool | None:
    if left is False or right is False:
        return False
    if left is None or right is None:
        return None
    return True


def kleene_or(left: bool | None, right: bool | None) -> bool | None:
    if left is True or right is True:
        return True
    if left is None or right is None:
        return None
    return False


def to_decimal(value: object) -> Decimal:
    return value if isinstance(value, Decimal) else Decimal(value)  # type: ignore[arg-type]
