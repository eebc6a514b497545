"""Type-check an expression tree and compile it to a closure, in one pass.

The closures read values through an `Env` (see `rules.env`), never through Python's `eval`; the set of
references an expression reads is collected here, so the rules engine can build its dependency graph
at load time.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

from . import values as v
from .combinators import Fn, compatible, literal_codes, merge, missing_guard2
from .functions import FUNCTIONS
from .syntax import Binary, Call, Case, ExprError, In, Literal, Name, Node, Unary, parse
from .types import BOOL, NUMBER, ORDERED, TEXT, ColumnRef, ExternalRef, LocalRef, Ref, RowRef, RowsRef, Type


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
        if not compatible(lt, rt):
            raise ExprError(node.pos, f"cannot compare {lt.describe()} with {rt.describe()}")
        if op not in ("=", "!=") and lt.kind not in ORDERED:
            raise ExprError(node.pos, f"'{op}' cannot order {lt.describe()} values; use = or !=")
        if lt.kind in ("list", "codes", "rows"):
            raise ExprError(node.pos, f"cannot compare {lt.describe()} values")
        literal_codes(node.left, rt, node.pos)
        literal_codes(node.right, lt, node.pos)
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
        return BOOL, missing_guard2(py_op, lf, rf)

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
            return NUMBER, missing_guard2(py_op, lf, rf)
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
                if not compatible(it, ot) or it.kind in ("list", "codes"):
                    raise ExprError(option.pos, f"cannot compare {it.describe()} with {ot.describe()}")
                literal_codes(option, it, option.pos)
                fns.append(ofn)
            if all(isinstance(o, Literal) for o in node.options):
                constant = frozenset(
                    int(o.value) if isinstance(o.value, Decimal) and o.value == int(o.value) else o.value
                    for o in node.options
                )  # type: ignore[union-attr]

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
            literal_codes(node.item, ct, node.item.pos)
        elif ct.kind == "list" and ct.elem is not None:
            if not compatible(it, ct.elem):
                raise ExprError(node.pos, f"cannot look for {it.describe()} in {ct.describe()}")
        else:
            raise ExprError(
                node.container.pos, f"'in' needs a {{...}} set, a multiple choice or a list, not {ct.describe()}"
            )

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
            elif not compatible(result, bt):
                raise ExprError(branch.pos, f"'case' branches disagree: {result.describe()} and {bt.describe()}")
            else:
                result = merge(result, bt)
            value_fns.append(bfn)
        assert result is not None
        for branch in branches:
            literal_codes(branch, result, branch.pos)
        values = value_fns[: len(conds)]
        default = value_fns[len(conds)] if node.default else None

        def choose(env: Any) -> Any:
            for cond, value in zip(conds, values):
                if cond(env) is True:
                    return value(env)
            return default(env) if default is not None else None

        return result, choose

    def _call(self, node: Call, scope: Scope) -> tuple[Type, Fn]:
        handler = FUNCTIONS.get(node.name)
        if handler is None:
            known = ", ".join(sorted(FUNCTIONS))
            raise ExprError(node.pos, f"unknown function {node.name}(); known: {known}")
        return handler(self, node, scope)

    # ----------------------------------------------------------------- helpers for functions

    def args(self, node: Call, scope: Scope, count: int | tuple[int, int]) -> list[tuple[Type, Fn]]:
        low, high = (count, count) if isinstance(count, int) else count
        if not low <= len(node.args) <= high:
            wanted = str(low) if low == high else f"{low} to {high}"
            raise ExprError(node.pos, f"{node.name}() takes {wanted} argument(s), got {len(node.args)}")
        return [self.node(arg, scope) for arg in node.args]


__all__ = ["Compiled", "ExprError", "Scope", "compile_expression"]
