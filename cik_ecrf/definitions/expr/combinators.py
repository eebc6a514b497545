"""Small building blocks shared by the expression compiler and its functions: type compatibility,
code-list checks on literals, and missing-value guards."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from .syntax import ExprError, Literal, Node
from .types import Type

Fn = Callable[[Any], Any]


def missing_guard2(op: Callable[[Any, Any], Any], left: Fn, right: Fn) -> Fn:
    def run(env: Any) -> Any:
        a = left(env)
        if a is None:
            return None
        b = right(env)
        if b is None:
            return None
        return op(a, b)

    return run


def compatible(left: Type, right: Type) -> bool:
    if left.kind != right.kind:
        return False
    return left.kind != "list" or (
        left.elem is not None and right.elem is not None and compatible(left.elem, right.elem)
    )


def merge(left: Type, right: Type) -> Type:
    """The type of a value that may come from either side: partial if either is a partial date."""
    if left.kind == "date" and (left.partial or right.partial):
        return Type("date", partial=True)
    if left.codes is not None and right.codes is not None:
        return Type(left.kind, codes=left.codes | right.codes)
    return left if left.codes is not None else right  # keep the code list, so literals are checked


def literal_codes(node: Node, other: Type, pos: int) -> None:
    """A literal compared with a choice must be one of its codes: `DXSTAT = "RELAPS"` is a load error."""
    if isinstance(node, Literal) and other.codes is not None and not isinstance(node.value, bool):
        value = node.value
        if isinstance(value, Decimal) and value == value.to_integral_value():
            value = int(value)
        if value not in other.codes:
            allowed = ", ".join(sorted(str(c) for c in other.codes))
            shown = repr(value) if isinstance(value, str) else str(value)
            raise ExprError(node.pos, f"{shown} is not one of the codes ({allowed})")
