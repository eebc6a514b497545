"""The built-in functions of the expression language: each checks its arguments' types and returns
the result type with a closure. Added here, a function is available to every definition."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from . import values as v
from .combinators import Fn, compatible, merge, missing_guard2
from .syntax import Call, ExprError, Literal, Name
from .types import BOOL, DATE, DATETIME, DURATION, NUMBER, ORDERED, ExternalRef, LocalRef, RowsRef, Type

if TYPE_CHECKING:
    from .compiler import Scope, _Compiler


def _no_args(value: Callable[[Any], Any], type_: Type) -> Callable[[_Compiler, Call, Scope], tuple[Type, Fn]]:
    def handler(c: _Compiler, node: Call, scope: Scope) -> tuple[Type, Fn]:
        c.args(node, scope, 0)
        return type_, value

    return handler


def _duration(unit: str) -> Callable[[_Compiler, Call, Scope], tuple[Type, Fn]]:
    def handler(c: _Compiler, node: Call, scope: Scope) -> tuple[Type, Fn]:
        ((t, fn),) = c.args(node, scope, 1)
        c._expect(t, "number", node.args[0], f"{node.name}() needs a number")

        def make(env: Any) -> Any:
            n = fn(env)
            if n is None or n != int(n):
                return None
            n = int(n)
            return v.Duration(
                months=n * 12 if unit == "years" else n if unit == "months" else 0, days=n if unit == "days" else 0
            )

        return DURATION, make

    return handler


def _date_fn(c: _Compiler, node: Call, scope: Scope) -> tuple[Type, Fn]:
    ((t, fn),) = c.args(node, scope, 1)
    arg = node.args[0]
    if isinstance(arg, Literal) and isinstance(arg.value, str):
        try:
            constant = dt.date.fromisoformat(arg.value)
        except ValueError:
            raise ExprError(arg.pos, f"{arg.value!r} is not a date (YYYY-MM-DD)") from None
        return DATE, lambda env: constant
    if t.kind != "datetime":
        raise ExprError(arg.pos, f'date() needs a datetime or a "YYYY-MM-DD" text, not {t.describe()}')
    return DATE, lambda env: None if (x := fn(env)) is None else x.date()


def _two_dates(kind: str) -> Callable[[_Compiler, Call, Scope], tuple[Type, Fn]]:
    def handler(c: _Compiler, node: Call, scope: Scope) -> tuple[Type, Fn]:
        (at, af), (bt, bf) = c.args(node, scope, 2)
        for t, arg in ((at, node.args[0]), (bt, node.args[1])):
            if t.kind != "date" or t.partial:
                raise ExprError(arg.pos, f"{node.name}() needs two full dates, not {t.describe()}")
        op = v.completed_years if kind == "years" else (lambda a, b: (b - a).days)
        return NUMBER, missing_guard2(op, af, bf)

    return handler


def _numeric(c: _Compiler, node: Call, scope: Scope) -> tuple[Type, Fn]:
    if node.name == "round":
        (t, fn), (nt, _) = c.args(node, scope, 2)
        digits = node.args[1]
        if not (
            isinstance(digits, Literal)
            and isinstance(digits.value, Decimal)
            and digits.value == int(digits.value)
            and 0 <= digits.value <= 10
        ):
            raise ExprError(digits.pos, "round() needs a whole number of decimals from 0 to 10 as its second argument")
        quantum = Decimal(1).scaleb(-int(digits.value))
        c._expect(t, "number", node.args[0], "round() needs a number")

        def rounded(env: Any) -> Any:
            x = fn(env)
            if x is None:
                return None
            try:
                return v.to_decimal(x).quantize(quantum, ROUND_HALF_UP)
            except InvalidOperation:
                return None  # too many digits for the precision: not evaluable rather than a crash

        return NUMBER, rounded
    ((t, fn),) = c.args(node, scope, 1)
    c._expect(t, "number", node.args[0], f"{node.name}() needs a number")
    if node.name == "abs":
        return NUMBER, lambda env: None if (x := fn(env)) is None else abs(x)

    def root(env: Any) -> Any:
        x = fn(env)
        if x is None or x < 0:
            return None
        try:
            return v.to_decimal(x).sqrt()
        except InvalidOperation:
            return None

    return NUMBER, root


def _extreme(c: _Compiler, node: Call, scope: Scope) -> tuple[Type, Fn]:
    pick = min if node.name == "min" else max
    args = c.args(node, scope, (1, 20))
    if len(args) == 1:
        (t, fn) = args[0]
        if t.kind != "list" or t.elem is None or t.elem.kind not in ORDERED or t.elem.partial:
            raise ExprError(
                node.args[0].pos,
                f"{node.name}() of one argument needs a list of numbers, dates or datetimes, not {t.describe()}",
            )

        def aggregate(env: Any) -> Any:
            items = fn(env)
            if not items or any(x is None for x in items):
                return None
            return pick(items)

        return t.elem, aggregate
    first = args[0][0]
    for (t, _), arg in zip(args, node.args):
        if not compatible(first, t) or t.kind not in ORDERED or t.partial:
            raise ExprError(arg.pos, f"{node.name}() needs values of one orderable type, got {t.describe()}")
    fns = [fn for _, fn in args]

    def extreme(env: Any) -> Any:
        items = [fn(env) for fn in fns]
        return None if any(x is None for x in items) else pick(items)

    return first, extreme


def _present(c: _Compiler, node: Call, scope: Scope) -> tuple[Type, Fn]:
    ((_, fn),) = c.args(node, scope, 1)

    def present(env: Any) -> Any:
        x = fn(env)
        return x is not None and x != [] and x != ()

    return BOOL, present


def _coalesce(c: _Compiler, node: Call, scope: Scope) -> tuple[Type, Fn]:
    args = c.args(node, scope, (2, 10))
    first = args[0][0]
    for (t, _), arg in zip(args, node.args):
        if not compatible(first, t):
            raise ExprError(arg.pos, f"coalesce() needs values of one type, got {first.describe()} and {t.describe()}")
        first = merge(first, t)
    fns = [fn for _, fn in args]

    def coalesce(env: Any) -> Any:
        for fn in fns:
            x = fn(env)
            if x is not None:
                return x
        return None

    return first, coalesce


def _rows_source(c: _Compiler, node: Call, scope: Scope) -> tuple[RowsRef, Scope, Fn]:
    source = node.args[0] if node.args else None
    if not isinstance(source, Name) or source.second is not None:
        raise ExprError(
            node.pos if source is None else source.pos,
            f"{node.name}() needs a group field or a repeating form as its first argument",
        )
    rows_ref, row_scope = scope.rows(source)
    c.state.refs.add(
        ExternalRef(rows_ref.form, rows_ref.visit, "*", True) if rows_ref.form else LocalRef(rows_ref.group or "")
    )
    if rows_ref.form is not None:
        return rows_ref, row_scope, lambda env: env.rows(rows_ref)
    group = rows_ref.group
    return rows_ref, row_scope, lambda env: env.local.get(group)


def _quantified(c: _Compiler, node: Call, scope: Scope) -> tuple[Type, Fn]:
    if len(node.args) != 2:
        raise ExprError(node.pos, f"{node.name}() takes 2 arguments: a source and a condition")
    _, row_scope, rows_fn = _rows_source(c, node, scope)
    pt, pfn = c.node(node.args[1], row_scope)
    c._expect(pt, "bool", node.args[1], f"{node.name}() needs a true/false condition")
    combine = v.kleene_or if node.name == "any" else v.kleene_and
    start = node.name != "any"

    def quantify(env: Any) -> Any:
        rows = rows_fn(env)
        if rows is None:
            rows = []
        result: bool | None = start
        for row in rows:
            result = combine(result, pfn(env.with_row(row)))
            if result is (not start):
                break
        return result

    return BOOL, quantify


def _picked(c: _Compiler, node: Call, scope: Scope) -> tuple[Type, Fn]:
    """`earliest(SOURCE, VALUE[, CONDITION])` / `latest(...)`: the extreme VALUE over the rows (or
    instances) where CONDITION is true, rows whose VALUE is missing skipped, as SQL's MIN/MAX skip
    NULL: "the first qualifying response", "the last assessment without relapse". None when no row
    qualifies."""
    if len(node.args) not in (2, 3):
        raise ExprError(node.pos, f"{node.name}() takes 2 or 3 arguments: a source, a value and a condition")
    _, row_scope, rows_fn = _rows_source(c, node, scope)
    vt, vfn = c.node(node.args[1], row_scope)
    if vt.kind not in ORDERED or vt.partial:
        raise ExprError(node.args[1].pos, f"{node.name}() needs a number, a date or a datetime, not {vt.describe()}")
    cfn: Fn | None = None
    if len(node.args) == 3:
        ct, cfn = c.node(node.args[2], row_scope)
        c._expect(ct, "bool", node.args[2], f"{node.name}() needs a true/false condition")
    later = node.name == "latest"

    def pick(env: Any) -> Any:
        best = None
        for row in rows_fn(env) or []:
            row_env = env.with_row(row)
            if cfn is not None and cfn(row_env) is not True:
                continue
            value = vfn(row_env)
            if value is not None and (best is None or (value > best if later else value < best)):
                best = value
        return best

    return vt, pick


def _count(c: _Compiler, node: Call, scope: Scope) -> tuple[Type, Fn]:
    source = node.args[0] if len(node.args) == 1 else None
    if isinstance(source, Name) and source.second is None:
        try:
            _, _, rows_fn = _rows_source(c, node, scope)
            return NUMBER, lambda env: len(rows_fn(env) or [])
        except ExprError:
            pass
    ((t, fn),) = c.args(node, scope, 1)
    if t.kind not in ("list", "codes"):
        raise ExprError(node.args[0].pos, f"count() needs a list, a group or a multiple choice, not {t.describe()}")
    return NUMBER, lambda env: len(fn(env) or [])


def _latest_subject_date(c: _Compiler, node: Call, scope: Scope) -> tuple[Type, Fn]:
    c.args(node, scope, 0)
    c.state.subject_dates = True
    return DATE, lambda env: env.latest_subject_date()


FUNCTIONS: dict[str, Callable[[_Compiler, Call, Scope], tuple[Type, Fn]]] = {
    "today": _no_args(lambda env: env.clock.today, DATE),
    "now": _no_args(lambda env: env.clock.now, DATETIME),
    "months": _duration("months"),
    "days": _duration("days"),
    "years": _duration("years"),
    "date": _date_fn,
    "years_between": _two_dates("years"),
    "days_between": _two_dates("days"),
    "sqrt": _numeric,
    "abs": _numeric,
    "round": _numeric,
    "min": _extreme,
    "max": _extreme,
    "count": _count,
    "any": _quantified,
    "all": _quantified,
    "present": _present,
    "coalesce": _coalesce,
    "latest_subject_date": _latest_subject_date,
    "earliest": _picked,
    "latest": _picked,
}
