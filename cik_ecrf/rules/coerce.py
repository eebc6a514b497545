"""Turn what a user typed (or a JSON file holds) into a typed value, and check it against its field.

A value that cannot be read becomes missing plus an error on the field, never an exception: the
nurse's text is kept by the caller and the message says what was expected.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from ..definitions.expr.values import PartialDate
from ..definitions.spec import FieldSpec
from .results import Issue, Message

_INT = re.compile(r"^[+-]?[0-9]+$", re.ASCII)
_DEC = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$", re.ASCII)
_DATE = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", re.ASCII)
_DATETIME = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[T ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?(Z|[+-][0-9]{2}:[0-9]{2})?$", re.ASCII
)
_TIME = re.compile(r"^[0-9]{2}:[0-9]{2}$", re.ASCII)


class Unreadable(ValueError):
    def __init__(self, en: str, zh: str) -> None:
        super().__init__(en)
        self.message = Message(en, zh)


MAX_DIGITS = 20  # no measurement in a CRF needs more; longer input is a typing accident


def _number_text(raw: Any) -> str:
    if isinstance(raw, bool) or not isinstance(raw, (int, float, Decimal, str)):
        raise Unreadable(f"expected a number, got {raw!r}", f"应为数字，而不是 {raw!r}")
    if isinstance(raw, (float, Decimal)) and not Decimal(raw).is_finite():
        raise Unreadable(f"expected a number, got {raw}", f"应为数字，而不是 {raw}")
    if isinstance(raw, float):
        text = repr(raw)
    elif isinstance(raw, Decimal):
        text = format(raw, "f")  # JSON 1e2 arrives as Decimal('1E+2'); read it as 100
    else:
        text = str(raw).strip()
    if sum(c.isdigit() for c in text[:1000]) > MAX_DIGITS or len(text) > 1000:
        raise Unreadable(f"number too long ({len(text)} characters)", f"数字过长（{len(text)} 个字符）")
    return text


def _integer(spec: FieldSpec, raw: Any) -> int:
    text = _number_text(raw)
    if _INT.match(text):
        return int(text)
    if _DEC.match(text) and Decimal(text) == Decimal(text).to_integral_value():
        return int(Decimal(text))
    raise Unreadable(f"expected a whole number, got {text!r}", f"应为整数，而不是 {text!r}")


def _decimal(spec: FieldSpec, raw: Any) -> Decimal:
    text = _number_text(raw)
    if not _DEC.match(text):
        raise Unreadable(f"expected a number, got {text!r}", f"应为数字，而不是 {text!r}")
    value = Decimal(text)
    places = spec.definition.decimals if spec.definition.decimals is not None else 10
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places and value != value.quantize(Decimal(1).scaleb(-places)):
        raise Unreadable(
            f"at most {places} decimal place(s) allowed, got {text}", f"最多允许 {places} 位小数，输入为 {text}"
        )
    return value


def _text_of(raw: Any, what_en: str, what_zh: str) -> str:
    if not isinstance(raw, str):
        raise Unreadable(f"expected {what_en} as text, got {raw!r}", f"{what_zh}应为文本，而不是 {raw!r}")
    return raw.strip()


def _date(spec: FieldSpec, raw: Any) -> dt.date:
    text = _text_of(raw, "a date", "日期")
    try:
        if _DATE.match(text):
            return dt.date.fromisoformat(text)
    except ValueError:
        raise Unreadable(f"{text} is not a calendar date", f"{text} 不是有效日期") from None
    raise Unreadable(f"expected a date as YYYY-MM-DD, got {text!r}", f"日期格式应为 YYYY-MM-DD，而不是 {text!r}")


def _partial(spec: FieldSpec, raw: Any) -> PartialDate:
    text = _text_of(raw, "a date", "日期")
    try:
        return PartialDate.parse(text)
    except ValueError as exc:
        raise Unreadable(
            f"expected YYYY, YYYY-MM or YYYY-MM-DD, got {text!r} ({exc})",
            f"日期格式应为 YYYY、YYYY-MM 或 YYYY-MM-DD，而不是 {text!r}",
        ) from None


def _datetime(spec: FieldSpec, raw: Any) -> dt.datetime:
    text = _text_of(raw, "a date and time", "日期时间")
    if not _DATETIME.match(text):
        raise Unreadable(
            f"expected a date and time like 2026-03-01T08:30+08:00, got {text!r}",
            f"日期时间格式应如 2026-03-01T08:30+08:00，而不是 {text!r}",
        )
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise Unreadable(f"{text} is not a valid date and time", f"{text} 不是有效的日期时间") from None
    if value.tzinfo is None:
        raise Unreadable(f"{text} needs a UTC offset, e.g. {text}+08:00", f"{text} 需要注明时区偏移，例如 {text}+08:00")
    return value


def _time(spec: FieldSpec, raw: Any) -> dt.time:
    text = _text_of(raw, "a time", "时间")
    try:
        if _TIME.match(text):
            return dt.time.fromisoformat(text)
    except ValueError:
        pass
    raise Unreadable(f"expected a time as HH:MM, got {text!r}", f"时间格式应为 HH:MM，而不是 {text!r}")


def _code(spec: FieldSpec, raw: Any) -> object:
    codes = [c.code for c in spec.codes]
    raw = raw.strip() if isinstance(raw, str) else raw
    candidate = raw
    if isinstance(raw, str) and codes and isinstance(codes[0], int) and _INT.match(raw.strip()) and len(raw) < 10:
        candidate = int(raw.strip())
    elif isinstance(raw, (Decimal, float)) and Decimal(raw).is_finite() and raw == Decimal(raw).to_integral_value():
        candidate = int(raw)
    if isinstance(candidate, bool) or candidate not in codes:
        allowed = ", ".join(str(c) for c in codes)
        shown = str(raw) if isinstance(raw, (Decimal, float, int)) and not isinstance(raw, bool) else repr(raw)
        raise Unreadable(f"{shown} is not one of the codes {allowed}", f"{shown} 不是可选代码（{allowed}）之一")
    return candidate


def _codes(spec: FieldSpec, raw: Any) -> tuple[object, ...]:
    if not isinstance(raw, (list, tuple)):
        raise Unreadable(f"expected a list of codes, got {raw!r}", f"应为代码列表，而不是 {raw!r}")
    values = tuple(_code(spec, item) for item in raw)
    if len(set(values)) != len(values):
        raise Unreadable("a code is chosen twice", "同一代码被重复选择")
    return values


def _text(spec: FieldSpec, raw: Any) -> str:
    if isinstance(raw, bool) or not isinstance(raw, (str, int, Decimal, float)):
        raise Unreadable(f"expected text, got {raw!r}", f"应为文本，而不是 {raw!r}")
    return str(raw).strip()


_READERS = {
    "text": _text,
    "integer": _integer,
    "decimal": _decimal,
    "date": _date,
    "partial_date": _partial,
    "datetime": _datetime,
    "time": _time,
    "choice": _code,
    "yesno": _code,
    "multichoice": _codes,
}


def is_blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip()) or (isinstance(raw, (list, tuple)) and not raw)


def read_scalar(spec: FieldSpec, raw: Any) -> Any:
    """The typed value of one non-group field; raises `Unreadable` with a bilingual message."""
    if is_blank(raw):
        return None
    return _READERS[spec.kind](spec, raw)


def read_rows(spec: FieldSpec, raw: Any) -> tuple[list[dict[str, Any]] | None, list[Issue]]:
    """A group's rows: typed cells, unreadable cells missing, each problem an issue at its row and column."""
    if is_blank(raw):
        return None, []
    if not isinstance(raw, (list, tuple)):
        return None, [
            Issue(
                spec.id,
                "error",
                "type",
                Message(f"expected a list of rows, got {raw!r}", f"应为多行列表，而不是 {raw!r}"),
            )
        ]
    columns = {sub.id: sub for sub in spec.sub_fields}
    rows: list[dict[str, Any]] = []
    issues: list[Issue] = []
    for index, row in enumerate(raw):
        if not isinstance(row, dict):
            issues.append(
                Issue(
                    spec.id,
                    "error",
                    "type",
                    Message(f"row {index + 1} must be an object", f"第 {index + 1} 行应为对象"),
                    row=index,
                )
            )
            rows.append({})
            continue
        typed: dict[str, Any] = {}
        for key, cell in row.items():
            sub = columns.get(key)
            if sub is None:
                issues.append(
                    Issue(
                        spec.id,
                        "error",
                        "type",
                        Message(f"unknown column {key}", f"未知列 {key}"),
                        row=index,
                        column=str(key),
                    )
                )
                continue
            try:
                typed[key] = read_scalar(sub, cell)
            except Unreadable as exc:
                typed[key] = None
                issues.append(Issue(spec.id, "error", "type", exc.message, row=index, column=key))
        rows.append(typed)
    return rows, issues


def _fmt(value: Any) -> str:
    return value.isoformat() if isinstance(value, (dt.date, dt.datetime)) else str(value)


def _bound(bound: Any, kind: str, clock: Any) -> Any:
    if bound == "today":
        return clock.today
    if bound == "now":
        return clock.now
    if kind in ("date", "partial_date") and isinstance(bound, str):
        return dt.date.fromisoformat(bound)
    if kind == "datetime" and isinstance(bound, str):
        return dt.datetime.fromisoformat(bound)
    return bound


def _outside(value: Any, low: Any, high: Any) -> str | None:
    if isinstance(value, PartialDate):
        lo, hi = value.lower, value.upper
        if low is not None and hi < low:
            return "low"
        if high is not None and lo > high:
            return "high"
        return None
    if low is not None and value < low:
        return "low"
    if high is not None and value > high:
        return "high"
    return None


def check_value(
    spec: FieldSpec, value: Any, clock: Any, row: int | None = None, field_id: str | None = None
) -> list[Issue]:
    """Hard and soft ranges, length and pattern of a typed, present value."""
    d = spec.definition
    where = {"row": row, "column": spec.id} if row is not None else {}
    fid = field_id or spec.id
    issues: list[Issue] = []
    units = f" {d.units}" if isinstance(d.units, str) else f" {d.units.en}" if d.units else ""
    units_zh = f" {d.units}" if isinstance(d.units, str) else f" {d.units.zh}" if d.units else ""
    for bounds, severity in ((d.range, "error"), (d.soft_range, "warning")):
        if bounds is None:
            continue
        low, high = _bound(bounds.min, spec.kind, clock), _bound(bounds.max, spec.kind, clock)
        side = _outside(value, low, high)
        if side is None or (severity == "warning" and issues):
            continue  # no "please confirm" on top of a hard error
        shown = {"today": "today", "now": "now"}
        limit_en = shown.get(str(bounds.min if side == "low" else bounds.max), _fmt(low if side == "low" else high))
        if severity == "error":
            message = (
                Message(
                    f"{_fmt(value)} is below the minimum {limit_en}{units}",
                    f"{_fmt(value)} 低于最小值 {limit_en}{units_zh}",
                )
                if side == "low"
                else Message(
                    f"{_fmt(value)} is above the maximum {limit_en}{units}",
                    f"{_fmt(value)} 高于最大值 {limit_en}{units_zh}",
                )
            )
            code = "range"
        else:
            span = f"{_fmt(low)}–{_fmt(high)}" if low is not None and high is not None else limit_en
            message = Message(
                f"{_fmt(value)}{units} is outside the expected range {span}; please confirm",
                f"{_fmt(value)}{units_zh} 超出常见范围 {span}，请确认",
            )
            code = "soft_range"
        issues.append(Issue(fid, severity, code, message, **where))  # type: ignore[arg-type]
    if isinstance(value, str):
        length = d.length
        if length and length.max is not None and len(value) > length.max:
            issues.append(
                Issue(
                    fid,
                    "error",
                    "length",
                    Message(
                        f"at most {length.max} characters ({len(value)} given)",
                        f"最多 {length.max} 个字符（当前 {len(value)} 个）",
                    ),
                    **where,
                )
            )  # type: ignore[arg-type]
        if length and length.min is not None and len(value) < length.min:
            issues.append(
                Issue(
                    fid,
                    "error",
                    "length",
                    Message(
                        f"at least {length.min} characters ({len(value)} given)",
                        f"至少 {length.min} 个字符（当前 {len(value)} 个）",
                    ),
                    **where,
                )
            )  # type: ignore[arg-type]
        if d.pattern and not re.fullmatch(d.pattern, value):
            hint = f" ({d.help.en})" if d.help else ""
            hint_zh = f"（{d.help.zh}）" if d.help else ""
            issues.append(
                Issue(
                    fid,
                    "error",
                    "pattern",
                    Message(f"{value!r} does not have the expected format{hint}", f"{value!r} 格式不正确{hint_zh}"),
                    **where,
                )
            )  # type: ignore[arg-type]
    return issues


def output_value(spec: FieldSpec, value: Any) -> Any:
    """A derived value in its declared type: integers whole, decimals rounded to their places."""
    if value is None:
        return None
    kind = spec.kind
    try:
        if kind == "integer":
            return int(Decimal(value).to_integral_value())
        if kind == "decimal" and spec.definition.decimals is not None:
            return Decimal(value).quantize(Decimal(1).scaleb(-spec.definition.decimals))
    except (InvalidOperation, ValueError, TypeError):
        return None
    return value
