"""Typed values to and from JSON: Decimals as numbers, dates as ISO text, partial dates as text."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from ..definitions.expr.values import PartialDate


def to_json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() and value.as_tuple().exponent >= 0 else float(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="minutes") if value.second == 0 and not value.microsecond else value.isoformat()
    if isinstance(value, (dt.date, dt.time)):
        return value.isoformat()[:5] if isinstance(value, dt.time) else value.isoformat()
    if isinstance(value, PartialDate):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    return value
