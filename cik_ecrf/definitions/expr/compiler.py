"""Type-check an expression tree and compile it to a closure, in one pass.

The closures read values through an `Env` (see `rules.env`), never through Python's `eval`; the set of
references an expression reads is collected here, so the rules engine can build its dependency graph
at load time.
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Protocol

from . import values as v
from .syntax import Binary, Call, Case, ExprError, In, Literal, Name, Node, Unary, parse
from .types import (
    BOOL,
    DATE,
    DATETIME,
    DURATION,
    NUMBER,
    ORDERED,
    TEXT,
    ColumnRef,
    ExternalRef,
    LocalRef,
    Ref,
    RowRef,
    RowsRef,
    Type,
)

Fn = Callable[[Any], Any]


class Scope(Protocol):
    """Name resolution for one place in one form (a field, a check, a group row, a predicate)."""

    def resolve(self, name: Name) -> tuple[Type, Ref]: ...

    def rows(self, name: Name) -> tuple[RowsRef, Scope]: ...


@dataclass
class Compiled:
    source: str
    type: Type
    fn: Fn
    refs: frozenset[Ref]
    uses_subject_dates: bool = False

    @property
    def local_fields(self) -> frozenset[str]:
        out = set()
        for ref in self.refs:
            if isinstance(ref, LocalRef):
                out.add(ref.field)
            elif isinstance(ref, ColumnRef):
                out.add(ref.group)
        return frozenset(out)

    @property
    def external(self) -> frozenset[ExternalRef]:
        return frozenset(r for r in self.refs if isinstance(r, ExternalRef))


@dataclass
class _State:
    refs: set[Ref] = field(default_factory=set)
    subject_dates: bool = False


def compile_expression(text: str, scope: Scope) -> Compiled:
    """Parse, type-check and compile; raises `ExprError` with the column of the first problem."""
    tree = parse(text)
    state = _State()
    type_, fn = _Compiler(state).node(tree, scope)
    return Compiled(text, type_, fn, frozenset(state.refs), state.subject_dates)


def _missing_guard2(op: Callable[[Any, Any], Any], left: Fn, right: Fn) -> Fn:
    def run(env: Any) -> Any:
        a = left(env)
        if a is None:
            return None
        b = right(env)
        if b is None:
            return None
        return op(a, b)

    return run


def _compatible(left: Type, right: Type) -> bool:
    if left.kind != right.kind:
        return False
    return left.kind != "list" or (left.elem is not None and right.elem is not None and _compatible(left.elem, right.elem))


def _merge(left: Type, right: Type) -> Type:
    """The type of a value that may come from either side: partial if either is a partial date."""
    if left.kind == "date" and (left.partial or right.partial):
        return Type("date", partial=True)
    if left.codes is not None and right.codes is not None:
        return Type(left.kind, codes=left.codes | right.codes)
    return left if left.codes is not None else right  # keep the code list, so literals are checked


def _literal_codes(node: Node, other: Type, pos: int) -> None:
    """A literal compared with a choice must be one of its codes: `DXSTAT = "RELAPS"` is a load error."""
    if isinstance(node, Literal) and other.codes is not None and not isinstance(node.value, bool):
        value = node.value
        if isinstance(value, Decimal) and value == value.to_integral_value():
            value = int(value)
        if value not in other.codes:
            allowed = ", ".join(sorted(str(c) for c in other.codes))
            shown = repr(value) if isinstance(value, str) else str(value)
            raise ExprError(node.pos, f"{shown} is not one of the codes ({allowed})")


class _Compiler:
    def __init__(self, state: _State) -> None:
        self.state = state

    def node(self, node: Node, scope: Scope) -> tuple[Type, Fn]:
        method = getattr(self, "_" + type(node).__name__.lower())
        return method(node, scope)

    def _literal(self, node: Literal, scope: Scope) -> tuple[Type, Fn]:
        value = node.value
        type_ = BOOL if isinstance(value, bool) else NUMBER if isinstance(value, Decimal) else TEXT
        return type_, lambda env: value

    def _name(self, node: Name, scope: Scope) -> tuple[Type, Fn]:
        type_, ref = scope.resolve(node)
        self.state.refs.add(ref)
        if isinstance(ref, LocalRef):
            key = ref.field
            return type_, lambda env: env.local.get(key)
        if isinstance(ref, RowRef):
            key = ref.field
            return type_, lambda env: env.row.get(key) if env.row is not None else None
        if isinstance(ref, ColumnRef):
            group, column = ref.group, ref.column

            def column_values(env: Any) -> Any:
                rows = env.local.get(group)
                return None if rows is None else [row.get(column) for row in rows]

            return type_, column_values
        external = ref
        return type_, lambda env: env.read(external)

    def _unary(self, node: Unary, scope: Scope) -> tuple[Type, Fn]:
        type_, fn = self.node(node.operand, scope)
        if node.op == "not":
            self._expect(type_, "bool", node.operand, "'not' needs a true/false operand")

            def negate(env: Any) -> Any:
                value = fn(env)
                return None if value is None else not value

            return BOOL, negate
        self._expect(type_, "number", node.operand, "'-' needs a number")
        return NUMBER, lambda env: None if (x := fn(env)) is None else -x

    def _expect(self, type_: Type, kind: str, node: Node, message: str) -> None:
        if type_.kind != kind:
            raise ExprError(node.pos, f"{message}, not {type_.describe()}")

    def _binary(self, node: Binary, scope: Scope) -> tuple[Type, Fn]:
        lt, lf = self.node(node.left, scope)
        rt, rf = self.node(node.right, scope)
        op = node.op
        if op in ("and", "or"):
            self._expect(lt, "bool", node.left, f"'{op}' needs true/false operands")
            self._expect(rt, "bool", node.right, f"'{op}' needs true/false operands")
            if op == "and":

                def both(env: Any) -> Any:
                    a = lf(env)
                    if a is False:
                        return False
                    return v.kleene_and(a, rf(env))

                return BOOL, both

            def either(env: Any) -> Any:
                a = lf(env)
                if a is True:
                    return True
                return v.kleene_or(a, rf(env))

            return BOOL, either
        if op in ("=", "!=", "<", "<=", ">", ">="):
            return self._comparison(node, lt, lf, rt, rf)
        return self._arithmetic(node, lt, lf, rt, rf)

    def _comparison(self, node: Binary, lt: Type, lf: Fn, rt: Type, rf: Fn) -> tuple[Type, Fn]:
        op = node.op
        if not _compatible(lt, rt):
            raise ExprError(node.pos, f"cannot compare {lt.describe()} with {rt.describe()}")
        if op not in ("=", "!=") and lt.kind not in ORDERED:
            raise ExprError(node.pos, f"'{op}' cannot order {lt.describe()} values; use = or !=")
        if lt.kind in ("list", "codes", "rows"):
            raise ExprError(node.pos, f"cannot compare {lt.describe()} values")
        _literal_codes(node.left, rt, node.pos)
        _literal_codes(node.right, lt, node.pos)
        if lt.partial or rt.partial:
            return BOOL, lambda env: v.compare(op, lf(env), rf(env))
        py_op = {
            "=": operator.eq,
            "!=": operator.ne,
            "<": operator.lt,
            "<=": operator.le,
            ">": operator.gt,
            ">=": operator.ge,
        }[op]
        return BOOL, _missing_guard2(py_op, lf, rf)

    def _arithmetic(self, node: Binary, lt: Type, lf: Fn, rt: Type, rf: Fn) -> tuple[Type, Fn]:
        op = node.op
        if lt.kind == "number" and rt.kind == "number" and lt.codes is None and rt.codes is None:
            if op == "/":

                def divide(env: Any) -> Any:
                    a, b = lf(env), rf(env)
                    if a is None or b is None or b == 0:
                        return None
                    return v.to_decimal(a) / v.to_decimal(b)

                return NUMBER, divide
            py_op = {"+": operator.add, "-": operator.sub, "*": operator.mul}[op]
            return NUMBER, _missing_guard2(py_op, lf, rf)
        if op in ("+", "-") and lt.kind in ("date", "datetime") and rt.kind == "duration":
            if lt.partial:
                raise ExprError(node.pos, "a partial date cannot be shifted; it has no exact day")
            sign = 1 if op == "+" else -1

            def moved(env: Any) -> Any:
                d = rf(env)
                return None if d is None else v.shift(lf(env), d, sign)

            return lt, moved
        raise ExprError(node.pos, f"cannot apply '{op}' to {lt.describe()} and {rt.describe()}")

    def _in(self, node: In, scope: Scope) -> tuple[Type, Fn]:
        it, ifn = self.node(node.item, scope)
        negated = node.negated
        if node.options is not None:
            fns: list[Fn] = []
            for option in node.options:
                ot, ofn = self.node(option, scope)
                if not _compatible(it, ot) or it.kind in ("list", "codes"):
                    raise ExprError(option.pos, f"cannot compare {it.describe()} with {ot.describe()}")
                _literal_codes(option, it, option.pos)
                fns.append(ofn)
            if all(isinstance(o, Literal) for o in node.options):
                constant = frozenset(int(o.value) if isinstance(o.value, Decimal) and o.value == int(o.value) else o.value for o in node.options)  # type: ignore[union-attr]

                def member(env: Any) -> Any:
                    x = ifn(env)
                    return None if x is None else (x in constant) != negated

                return BOOL, member

            def member_any(env: Any) -> Any:
                x = ifn(env)
                if x is None:
                    return None
                found: bool | None = False
                for fn in fns:
                    found = v.kleene_or(found, v.compare("=", x, fn(env)))
                return None if found is None else found != negated

            return BOOL, member_any
        assert node.container is not None
        ct, cfn = self.node(node.container, scope)
        if ct.kind == "codes":
            if it.kind not in ("text", "number"):
                raise ExprError(node.item.pos, f"cannot look for {it.describe()} in a multiple choice")
            _literal_codes(node.item, ct, node.item.pos)
        elif ct.kind == "list" and ct.elem is not None:
            if not _compatible(it, ct.elem):
                raise ExprError(node.pos, f"cannot look for {it.describe()} in {ct.describe()}")
        else:
            raise ExprError(node.container.pos, f"'in' needs a {{...}} set, a multiple choice or a list, not {ct.describe()}")

        def contained(env: Any) -> Any:
            x, c = ifn(env), cfn(env)
            if x is None or c is None:
                return None
            if x in c:
                return not negated
            return None if None in c else negated  # a missing element might have been x

        return BOOL, contained

    def _case(self, node: Case, scope: Scope) -> tuple[Type, Fn]:
        conds: list[Fn] = []
        for cond, _ in node.whens:
            ct, cfn = self.node(cond, scope)
            self._expect(ct, "bool", cond, "'when' needs a true/false condition")
            conds.append(cfn)
        branches = [value for _, value in node.whens] + ([node.default] if node.default else [])
        result: Type | None = None
        value_fns: list[Fn] = []
        for branch in branches:
            bt, bfn = self.node(branch, scope)
            if result is None:
                result = bt
            elif not _compatible(result, bt):
                raise ExprError(branch.pos, f"'case' branches disagree: {result.describe()} and {bt.describe()}")
            else:
                result = _merge(result, bt)
            value_fns.append(bfn)
        assert result is not None
        for branch in branches:
            _literal_codes(branch, result, branch.pos)
        values = value_fns[: len(conds)]
        default = value_fns[len(conds)] if node.default else None

        def choose(env: Any) -> Any:
            for cond, value in zip(conds, values):
                if cond(env) is True:
                    return value(env)
            return default(env) if default is not None else None

        return result, choose

    def _call(self, node: Call, scope: Scope) -> tuple[Type, Fn]:
        handler = _FUNCTIONS.get(node.name)
        if handler is None:
            known = ", ".join(sorted(_FUNCTIONS))
            raise ExprError(node.pos, f"unknown function {node.name}(); known: {known}")
        return handler(self, node, scope)

    # ----------------------------------------------------------------- helpers for functions

    def args(self, node: Call, scope: Scope, count: int | tuple[int, int]) -> list[tuple[Type, Fn]]:
        low, high = (count, count) if isinstance(count, int) else count
        if not low <= len(node.args) <= high:
            wanted = str(low) if low == high else f"{low} to {high}"
            raise ExprError(node.pos, f"{node.name}() takes {wanted} argument(s), got {len(node.args)}")
        return [self.node(arg, scope) for arg in node.args]


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
            return v.Duration(months=n * 12 if unit == "years" else n if unit == "months" else 0, days=n if unit == "days" else 0)

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
        raise ExprError(arg.pos, f"date() needs a datetime or a \"YYYY-MM-DD\" text, not {t.describe()}")
    return DATE, lambda env: None if (x := fn(env)) is None else x.date()


def _two_dates(kind: str) -> Callable[[_Compiler, Call, Scope], tuple[Type, Fn]]:
    def handler(c: _Compiler, node: Call, scope: Scope) -> tuple[Type, Fn]:
        (at, af), (bt, bf) = c.args(node, scope, 2)
        for t, arg in ((at, node.args[0]), (bt, node.args[1])):
            if t.kind != "date" or t.partial:
                raise ExprError(arg.pos, f"{node.name}() needs two full dates, not {t.describe()}")
        op = v.completed_years if kind == "years" else (lambda a, b: (b - a).days)
        return NUMBER, _missing_guard2(op, af, bf)

    return handler


def _numeric(c: _Compiler, node: Call, scope: Scope) -> tuple[Type, Fn]:
    if node.name == "round":
        (t, fn), (nt, _) = c.args(node, scope, 2)
        digits = node.args[1]
        if not (isinstance(digits, Literal) and isinstance(digits.value, Decimal) and digits.value == int(digits.value) and 0 <= digits.value <= 10):
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
            raise ExprError(node.args[0].pos, f"{node.name}() of one argument needs a list of numbers, dates or datetimes, not {t.describe()}")

        def aggregate(env: Any) -> Any:
            items = fn(env)
            if not items or any(x is None for x in items):
                return None
            return pick(items)

        return t.elem, aggregate
    first = args[0][0]
    for (t, _), arg in zip(args, node.args):
        if not _compatible(first, t) or t.kind not in ORDERED or t.partial:
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
        if not _compatible(first, t):
            raise ExprError(arg.pos, f"coalesce() needs values of one type, got {first.describe()} and {t.describe()}")
        first = _merge(first, t)
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
        raise ExprError(node.pos if source is None else source.pos, f"{node.name}() needs a group field or a repeating form as its first argument")
    rows_ref, row_scope = scope.rows(source)
    c.state.refs.add(ExternalRef(rows_ref.form, rows_ref.visit, "*", True) if rows_ref.form else LocalRef(rows_ref.group or ""))
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


_FUNCTIONS: dict[str, Callable[[_Compiler, Call, Scope], tuple[Type, Fn]]] = {
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
}

__all__ = ["Compiled", "ExprError", "Scope", "compile_expression", "TEXT"]
