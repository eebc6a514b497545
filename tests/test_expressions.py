"""The expression language: every feature, its missing-value semantics, its type errors, its robustness.

Semantics are exercised two ways: `compile_expression` with a small hand-written Scope (fast, direct
access to true / false / not evaluable), and real compiled forms of a purpose-built mini study
(`mini_forms.write_study`) loaded through `load_study` and evaluated by `RulesEngine`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mini_forms import check, derived, field, write_study

from cik_ecrf.definitions.errors import DefinitionErrors
from cik_ecrf.definitions.expr.compiler import Compiled, compile_expression
from cik_ecrf.definitions.expr.syntax import MAX_DEPTH, MAX_LENGTH, ExprError, Node, parse
from cik_ecrf.definitions.expr.types import (
    BOOL,
    DATE,
    DATETIME,
    NUMBER,
    PARTIAL_DATE,
    TEXT,
    TIME,
    YESNO,
    ColumnRef,
    LocalRef,
    RowRef,
    RowsRef,
    Type,
)
from cik_ecrf.definitions.expr.values import PartialDate
from cik_ecrf.definitions.loader import load_study
from cik_ecrf.rules import Clock, RulesEngine, SubjectData
from cik_ecrf.rules.env import Env, Resolver

CLOCK = Clock.fixed("2025-06-01T12:00+08:00")
COLOR = frozenset({"RED", "GREEN", "BLUE"})

# --------------------------------------------------------------------------- a small Scope

TYPES: dict[str, Type] = {
    "A": NUMBER,
    "B": NUMBER,
    "Z": NUMBER,
    "T": TEXT,
    "U": TEXT,
    "D": DATE,
    "E": DATE,
    "P": PARTIAL_DATE,
    "Q": PARTIAL_DATE,
    "DT": DATETIME,
    "DT2": DATETIME,
    "TM": TIME,
    "TM2": TIME,
    "L": BOOL,
    "R": BOOL,
    "C": Type("text", codes=COLOR),
    "G": Type("number", codes=frozenset({0, 1, 2, 3})),
    "MC": Type("codes", codes=COLOR),
    "YN": YESNO,
    "GRP": Type("rows"),
}
COLUMNS: dict[str, dict[str, Type]] = {"GRP": {"VAL": NUMBER, "DAY": DATE, "KIND": Type("text", codes=COLOR)}}


class MiniScope:
    """Names of one imaginary form (TYPES), its group GRP, and inside any()/all() the row's columns."""

    def __init__(self, row_columns: dict[str, Type] | None = None) -> None:
        self.row_columns = row_columns

    def resolve(self, name: Any) -> tuple[Type, Any]:
        if name.visit is not None:
            raise ExprError(name.pos, f"unknown form {name.first}")
        if name.second is None:
            if self.row_columns is not None and name.first in self.row_columns:
                return self.row_columns[name.first], RowRef(name.first)
            if name.first in TYPES:
                return TYPES[name.first], LocalRef(name.first)
            raise ExprError(name.pos, f"unknown field {name.first}")
        columns = COLUMNS.get(name.first)
        if columns is None:
            raise ExprError(name.pos, f"unknown form {name.first}")
        if name.second not in columns:
            raise ExprError(name.pos, f"group {name.first} has no column {name.second}")
        return Type("list", elem=columns[name.second]), ColumnRef(name.first, name.second)

    def rows(self, name: Any) -> tuple[RowsRef, MiniScope]:
        if name.first in COLUMNS and name.visit is None:
            return RowsRef(group=name.first), MiniScope(COLUMNS[name.first])
        raise ExprError(name.pos, f"{name.first} is neither a group field nor a repeating form")


SCOPE = MiniScope()


def _no_other_forms(form: str, visit: str, raw: Any, resolver: Any) -> Any:
    raise AssertionError("the small scope never reads another form")


def env(clock: Clock = CLOCK, **values: Any) -> Env:
    local = {name: None for name in TYPES}
    local.update(values)
    return Env(local, "V1", "mini", clock, Resolver(SubjectData(), clock, _no_other_forms))


def compiled(text: str) -> Compiled:
    return compile_expression(text, SCOPE)


def ev(text: str, clock: Clock = CLOCK, **values: Any) -> Any:
    return compiled(text).fn(env(clock, **values))


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


def n(text: str) -> Decimal:
    return Decimal(text)


# --------------------------------------------------------------------------- literals and arithmetic


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.5", Decimal("1.5")),
        ("42", Decimal(42)),
        ('"CR"', "CR"),
        ("'single'", "single"),
        (r'"say \"hi\""', 'say "hi"'),
        ("true", True),
        ("false", False),
        ('date("1900-01-01")', dt.date(1900, 1, 1)),
    ],
)
def test_literals(text: str, expected: Any) -> None:
    value = ev(text)
    assert value == expected
    assert type(value) is type(expected)


def test_literal_types() -> None:
    assert compiled("1.5").type == NUMBER
    assert compiled('"x"').type == TEXT
    assert compiled("true").type == BOOL
    assert compiled('date("2024-01-01")').type == DATE


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3", "7"),
        ("(1 + 2) * 3", "9"),
        ("10 - 4 - 3", "3"),
        ("12 / 2 / 3", "2"),
        ("7 / 2", "3.5"),
        ("2 × 3", "6"),
        ("0.1 + 0.2", "0.3"),
        ("-2 * 3", "-6"),
        ("2 - -3", "5"),
        ("- -3", "3"),
        ("-(1 + 2)", "-3"),
        ("A * 2 + B", "23"),
        ("-A", "-10"),
    ],
)
def test_arithmetic_and_precedence(text: str, expected: str) -> None:
    assert ev(text, A=n("10"), B=n("3")) == Decimal(expected)


def test_division_is_exact_decimal() -> None:
    assert ev("1 / 3") == Decimal(1) / Decimal(3)
    assert ev("A / B", A=7, B=2) == Decimal("3.5")  # integer field values divide as decimals


@pytest.mark.parametrize("text", ["1 / 0", "A / 0", "A / B", "A / (B - B)", "1 / 0 + 1", "-(1 / 0)"])
def test_division_by_zero_is_not_evaluable(text: str) -> None:
    assert ev(text, A=n("5"), B=n("0")) is None


@pytest.mark.parametrize("text", ["A + 1", "1 + A", "A - B", "A * 2", "A / 2", "-A", "2 / A"])
def test_arithmetic_with_a_missing_operand_is_not_evaluable(text: str) -> None:
    assert ev(text, A=None, B=n("1")) is None


# --------------------------------------------------------------------------- comparisons


@pytest.mark.parametrize(
    ("text", "a", "b", "expected"),
    [
        ("A = B", 1, 1, True),
        ("A == B", 1, 2, False),
        ("A != B", 1, 2, True),
        ("A ≠ B", 1, 1, False),
        ("A < B", 1, 2, True),
        ("A < B", 2, 2, False),
        ("A <= B", 2, 2, True),
        ("A ≤ B", 3, 2, False),
        ("A ≤ B", 2, 2, True),
        ("A > B", 3, 2, True),
        ("A >= B", 2, 2, True),
        ("A ≥ B", 1, 2, False),
        ("A ≥ B", 2, 2, True),
        ("A = B", Decimal("1.50"), Decimal("1.5"), True),
    ],
)
def test_number_comparisons(text: str, a: Any, b: Any, expected: bool) -> None:
    assert ev(text, A=a, B=b) is expected


@pytest.mark.parametrize("op", ["=", "!=", "<", "<=", ">", ">=", "≤", "≥", "≠"])
def test_comparison_with_a_missing_side_is_not_evaluable(op: str) -> None:
    assert ev(f"A {op} B", A=None, B=1) is None
    assert ev(f"A {op} B", A=1, B=None) is None
    assert ev(f"D {op} E", D=None, E=d("2024-01-01")) is None


def test_comparisons_of_dates_datetimes_times_and_text() -> None:
    assert ev("D < E", D=d("2024-01-01"), E=d("2024-01-02")) is True
    assert ev("D >= E", D=d("2024-01-01"), E=d("2024-01-02")) is False
    tz8 = dt.timezone(dt.timedelta(hours=8))
    early = dt.datetime(2024, 1, 1, 8, 0, tzinfo=tz8)
    same_instant = dt.datetime(2024, 1, 1, 0, 0, tzinfo=dt.UTC)
    assert ev("DT = DT2", DT=early, DT2=same_instant) is True
    assert ev("DT < DT2", DT=early, DT2=same_instant + dt.timedelta(minutes=1)) is True
    assert ev("TM < TM2", TM=dt.time(8, 30), TM2=dt.time(9, 0)) is True
    assert ev('T = "abc"', T="abc") is True
    assert ev("T != U", T="abc", U="abd") is True
    assert ev('C = "RED"', C="RED") is True
    assert ev("G = 2", G=2) is True
    assert ev('YN = "Y"', YN="N") is False
    assert ev("L = R", L=True, R=True) is True


def test_now_and_today_come_from_the_clock() -> None:
    assert ev("today()") == dt.date(2025, 6, 1)
    assert ev("now()") == CLOCK.now
    assert ev("D <= today()", D=d("2025-06-01")) is True
    assert ev("D <= today()", D=d("2025-06-02")) is False
    other = Clock.fixed("2030-01-01T00:00+00:00")
    assert ev("today()", clock=other) == dt.date(2030, 1, 1)


# --------------------------------------------------------------------------- logic

T_, F_, N_ = True, False, None
AND_TABLE = {
    (T_, T_): T_, (T_, F_): F_, (T_, N_): N_,
    (F_, T_): F_, (F_, F_): F_, (F_, N_): F_,
    (N_, T_): N_, (N_, F_): F_, (N_, N_): N_,
}  # fmt: skip
OR_TABLE = {
    (T_, T_): T_, (T_, F_): T_, (T_, N_): T_,
    (F_, T_): T_, (F_, F_): F_, (F_, N_): N_,
    (N_, T_): T_, (N_, F_): N_, (N_, N_): N_,
}  # fmt: skip


@pytest.mark.parametrize(("left", "right"), list(AND_TABLE))
def test_kleene_and(left: bool | None, right: bool | None) -> None:
    assert ev("L and R", L=left, R=right) is AND_TABLE[(left, right)]


@pytest.mark.parametrize(("left", "right"), list(OR_TABLE))
def test_kleene_or(left: bool | None, right: bool | None) -> None:
    assert ev("L or R", L=left, R=right) is OR_TABLE[(left, right)]


@pytest.mark.parametrize(("value", "expected"), [(True, False), (False, True), (None, None)])
def test_not(value: bool | None, expected: bool | None) -> None:
    assert ev("not L", L=value) is expected
    assert ev("not not L", L=value) is value


def test_logic_with_missing_comparisons() -> None:
    # a missing number makes its comparison unknown; Kleene logic decides whether the unknown matters
    assert ev("A > 1 and B > 1", A=None, B=0) is False
    assert ev("A > 1 or B > 1", A=None, B=5) is True
    assert ev("A > 1 or B > 1", A=None, B=0) is None
    assert ev("A > 1 and B > 1", A=None, B=5) is None
    assert ev("not (A > 1)", A=None) is None


def test_precedence_of_not_and_or() -> None:
    # not binds tighter than and, and tighter than or
    assert ev("not L and R", L=True, R=True) is False
    assert ev("L or R and false", L=True, R=True) is True
    assert ev("(L or R) and false", L=True, R=True) is False
    assert ev("not A > 1", A=2) is False


# --------------------------------------------------------------------------- membership


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ('C in {"RED", "BLUE"}', {"C": "RED"}, True),
        ('C in {"RED", "BLUE"}', {"C": "GREEN"}, False),
        ('C in {"RED", "BLUE"}', {"C": None}, None),
        ('C not in {"RED", "BLUE"}', {"C": "GREEN"}, True),
        ('C not in {"RED", "BLUE"}', {"C": "RED"}, False),
        ('C not in {"RED", "BLUE"}', {"C": None}, None),
        ('C ∈ {"RED"}', {"C": "RED"}, True),
        ("G in {1, 2}", {"G": 2}, True),
        ("G in {1, 2}", {"G": 3}, False),
        ("A in {1, 2.5}", {"A": Decimal("2.50")}, True),
        ("A in {1, 2.5}", {"A": Decimal("1.0")}, True),
        ("A in {B, 3}", {"A": 3, "B": None}, True),  # found: the unknown option does not matter
        ("A in {B, 3}", {"A": 4, "B": None}, None),  # not found, but B might be 4
        ("A not in {B, 3}", {"A": 4, "B": 5}, True),
        ("A not in {B, 3}", {"A": 4, "B": None}, None),
        ('"RED" in MC', {"MC": ("RED", "BLUE")}, True),
        ('"GREEN" in MC', {"MC": ("RED", "BLUE")}, False),
        ('"GREEN" not in MC', {"MC": ("RED", "BLUE")}, True),
        ('"RED" not in MC', {"MC": ("RED",)}, False),
        ('"RED" in MC', {"MC": None}, None),
        ('"RED" not in MC', {"MC": None}, None),
        ("C in MC", {"C": "BLUE", "MC": ("BLUE",)}, True),
        ("2 in GRP.VAL", {"GRP": [{"VAL": Decimal(1)}, {"VAL": Decimal(2)}]}, True),
        ("5 not in GRP.VAL", {"GRP": [{"VAL": Decimal(1)}]}, True),
    ],
)
def test_membership(text: str, values: dict[str, Any], expected: bool | None) -> None:
    assert ev(text, **values) is expected


# --------------------------------------------------------------------------- case


CASE = 'case when A > 10 then "big" when A > 0 then "small" else "other" end'


@pytest.mark.parametrize(("a", "expected"), [(11, "big"), (5, "small"), (0, "other"), (None, "other")])
def test_case_with_else(a: Any, expected: str) -> None:
    # a when that is not evaluable falls through, here to the else
    assert ev(CASE, A=a) == expected


def test_case_falls_through_a_not_evaluable_when_to_the_next_one() -> None:
    text = 'case when A > 10 then "a" when B > 0 then "b" end'
    assert ev(text, A=None, B=1) == "b"
    assert ev(text, A=None, B=0) is None  # no else: not evaluable
    assert ev(text, A=None, B=None) is None
    assert ev(text, A=20, B=None) == "a"


def test_case_without_else_is_not_evaluable_when_nothing_matches() -> None:
    assert ev("case when A > 10 then 1 end", A=5) is None
    assert ev("case when L then 1 when R then 2 end", L=False, R=False) is None


def test_case_yields_the_value_of_its_branch() -> None:
    assert ev("case when L then A * 2 else B end", L=True, A=3, B=7) == 6
    assert ev("case when L then A * 2 else B end", L=False, A=3, B=7) == 7
    assert ev("case when L then D + days(1) else E end", L=True, D=d("2024-01-01"), E=None) == d("2024-01-02")
    assert compiled('case when L then "Y" else "N" end').type.kind == "text"


# --------------------------------------------------------------------------- dates


@pytest.mark.parametrize(
    ("text", "start", "expected"),
    [
        ("D + months(1)", "2024-01-31", "2024-02-29"),
        ("D + months(1)", "2023-01-31", "2023-02-28"),
        ("D - months(1)", "2023-03-31", "2023-02-28"),
        ("D - months(1)", "2024-03-31", "2024-02-29"),
        ("D + months(6)", "2024-08-31", "2025-02-28"),
        ("D - months(9)", "2024-05-15", "2023-08-15"),
        ("D + months(12)", "2024-01-15", "2025-01-15"),
        ("D - months(13)", "2024-01-15", "2022-12-15"),
        ("D + months(0)", "2024-01-31", "2024-01-31"),
        ("D + years(1)", "2024-02-29", "2025-02-28"),
        ("D - years(1)", "2024-02-29", "2023-02-28"),
        ("D + years(4)", "2024-02-29", "2028-02-29"),
        ("D + years(1)", "2023-03-01", "2024-03-01"),
        ("D + days(3)", "2024-02-27", "2024-03-01"),
        ("D - days(1)", "2024-03-01", "2024-02-29"),
        ("D + days(365)", "2023-01-01", "2024-01-01"),
        ("D + months(1) + days(1)", "2024-01-31", "2024-03-01"),
    ],
)
def test_calendar_arithmetic(text: str, start: str, expected: str) -> None:
    assert ev(text, D=d(start)) == d(expected)


def test_date_arithmetic_with_missing_values() -> None:
    assert ev("D + months(1)", D=None) is None
    assert ev("D + months(A)", D=d("2024-01-01"), A=None) is None
    assert ev("D + days(A)", D=d("2024-01-01"), A=Decimal("1.5")) is None  # not a whole number of days
    assert ev("D + days(A)", D=d("2024-01-01"), A=Decimal("2.0")) == d("2024-01-03")


def test_datetime_arithmetic_keeps_the_offset() -> None:
    tz8 = dt.timezone(dt.timedelta(hours=8))
    start = dt.datetime(2024, 1, 31, 8, 30, tzinfo=tz8)
    assert ev("DT + months(1)", DT=start) == dt.datetime(2024, 2, 29, 8, 30, tzinfo=tz8)
    assert ev("DT + days(1)", DT=start) == dt.datetime(2024, 2, 1, 8, 30, tzinfo=tz8)
    assert ev("DT - years(1)", DT=start) == dt.datetime(2023, 1, 31, 8, 30, tzinfo=tz8)


def test_date_arithmetic_outside_the_calendar_is_not_evaluable() -> None:
    assert ev("D + years(9000)", D=d("2024-01-01")) is None
    assert ev("D - days(1)", D=dt.date.min) is None
    assert ev("D + days(100000000)", D=d("2024-01-01")) is None


@pytest.mark.parametrize(
    ("birth", "on", "years"),
    [
        ("2000-06-15", "2018-06-14", 17),
        ("2000-06-15", "2018-06-15", 18),
        ("2000-06-15", "2018-06-16", 18),
        ("2000-12-31", "2001-12-30", 0),
        ("2000-12-31", "2001-12-31", 1),
        ("2004-02-29", "2022-02-28", 17),
        ("2004-02-29", "2022-03-01", 18),
        ("2004-02-29", "2024-02-29", 20),
        ("2004-02-29", "2024-02-28", 19),
        ("2024-01-01", "2024-01-01", 0),
    ],
)
def test_years_between_counts_completed_years(birth: str, on: str, years: int) -> None:
    assert ev("years_between(D, E)", D=d(birth), E=d(on)) == years


@pytest.mark.parametrize(
    ("a", "b", "days"),
    [
        ("2024-02-28", "2024-03-01", 2),
        ("2023-02-28", "2023-03-01", 1),
        ("2024-03-01", "2024-02-28", -2),
        ("2024-01-01", "2024-01-01", 0),
        ("2023-01-01", "2024-01-01", 365),
    ],
)
def test_days_between(a: str, b: str, days: int) -> None:
    assert ev("days_between(D, E)", D=d(a), E=d(b)) == days


def test_years_and_days_between_with_a_missing_date() -> None:
    assert ev("years_between(D, E)", D=None, E=d("2024-01-01")) is None
    assert ev("days_between(D, E)", D=d("2024-01-01"), E=None) is None


def test_date_function() -> None:
    tz8 = dt.timezone(dt.timedelta(hours=8))
    # date(DATETIME) is the calendar day where the datetime was recorded (its own offset)
    assert ev("date(DT)", DT=dt.datetime(2024, 3, 1, 23, 30, tzinfo=tz8)) == d("2024-03-01")
    assert ev("date(DT)", DT=None) is None
    assert ev('date("2024-02-29")') == d("2024-02-29")
    assert ev("D <= date(DT)", D=d("2024-03-01"), DT=dt.datetime(2024, 3, 1, 0, 5, tzinfo=tz8)) is True
    assert compiled("date(DT)").type == DATE


@pytest.mark.parametrize("text", ['date("2023-02-30")', 'date("2024-13-01")', 'date("yesterday")', 'date("2024-3-1")'])
def test_date_function_refuses_a_literal_that_is_not_a_date(text: str) -> None:
    with pytest.raises(ExprError, match="is not a date") as info:
        compiled(text)
    assert info.value.pos == 5  # the literal


# --------------------------------------------------------------------------- partial dates


@pytest.mark.parametrize(
    ("text", "partial", "other", "expected"),
    [
        ("P < D", "2024-03", "2024-04-01", True),
        ("P < D", "2024-03", "2024-03-15", None),
        ("P < D", "2024-03", "2024-03-31", None),
        ("P < D", "2024-03", "2024-03-01", False),
        ("P < D", "2024-03", "2024-02-10", False),
        ("P <= D", "2024-03", "2024-03-31", True),
        ("P <= D", "2024-03", "2024-03-30", None),
        ("P <= D", "2024-03", "2024-02-29", False),
        ("P > D", "2024-03", "2024-02-29", True),
        ("P > D", "2024-03", "2024-03-01", None),
        ("P >= D", "2024-03", "2024-03-01", True),
        ("P >= D", "2024-03", "2024-04-01", False),
        ("D < P", "2024-03", "2024-02-29", True),
        ("D > P", "2024-03", "2024-04-01", True),
        ("P = D", "2024-03", "2024-03-15", None),
        ("P = D", "2024-03", "2024-04-15", False),
        ("P != D", "2024-03", "2024-04-15", True),
        ("P != D", "2024-03", "2024-03-15", None),
        ("P = D", "2024-03-15", "2024-03-15", True),
        ("P != D", "2024-03-15", "2024-03-15", False),
        ("P < D", "2024-03-15", "2024-03-16", True),
        # a year alone is the interval 1 January .. 31 December
        ("P < D", "2024", "2025-01-01", True),
        ("P < D", "2024", "2024-12-31", None),
        ("P < D", "2024", "2024-06-01", None),
        ("P > D", "2024", "2023-12-31", True),
        ("P >= D", "2024", "2024-01-01", True),
        ("P <= D", "2024", "2024-12-31", True),
        ("P = D", "2024", "2023-05-05", False),
        ("P != D", "2024", "2023-05-05", True),
        ("P = D", "2024", "2024-05-05", None),
    ],
)
def test_partial_dates_compare_as_intervals(text: str, partial: str, other: str, expected: bool | None) -> None:
    assert ev(text, P=PartialDate.parse(partial), D=d(other)) is expected


@pytest.mark.parametrize(
    ("p", "q", "text", "expected"),
    [
        ("2024-03", "2024-04", "P < Q", True),
        ("2024-03", "2024-03", "P < Q", None),
        ("2024-03", "2024-03", "P = Q", None),
        ("2024-03-02", "2024-03-02", "P = Q", True),
        ("2024", "2024-03", "P < Q", None),
        ("2023", "2024-03", "P < Q", True),
        ("2025", "2024-03-31", "P >= Q", True),
    ],
)
def test_partial_dates_compare_with_each_other(p: str, q: str, text: str, expected: bool | None) -> None:
    assert ev(text, P=PartialDate.parse(p), Q=PartialDate.parse(q)) is expected


def test_partial_date_comparison_with_missing_is_not_evaluable() -> None:
    assert ev("P < D", P=None, D=d("2024-01-01")) is None
    assert ev("P < D", P=PartialDate.parse("2024"), D=None) is None


def test_partial_date_cannot_be_shifted() -> None:
    with pytest.raises(ExprError, match="partial date cannot be shifted") as info:
        compiled("P + months(1)")
    assert info.value.pos == 2


def test_partial_date_is_not_a_full_date_for_years_between() -> None:
    with pytest.raises(ExprError, match="needs two full dates, not partial date"):
        compiled("years_between(P, D)")


@pytest.mark.parametrize("text", ["coalesce(D, P) < E", "case when L then D else P end < E", "coalesce(P, D) < E"])
def test_a_date_that_may_be_partial_keeps_interval_semantics(text: str) -> None:
    # coalesce()/case mixing a full and a partial date yield a value that may be partial
    try:
        c = compiled(text)
    except ExprError:
        return  # refusing the mix at load would be correct too
    assert c.fn(env(D=None, L=False, P=PartialDate.parse("2024-03"), E=d("2024-04-01"))) is True
    assert c.fn(env(D=None, L=False, P=PartialDate.parse("2024-03"), E=d("2024-03-15"))) is None
    assert c.fn(env(D=d("2024-03-20"), L=True, P=None, E=d("2024-04-01"))) is True


@pytest.mark.parametrize(
    "text", ["coalesce(D, P) + months(1)", "case when L then D else P end - days(1)", "days_between(coalesce(D, P), E)"]
)
def test_a_date_that_may_be_partial_cannot_be_shifted_or_subtracted(text: str) -> None:
    try:
        c = compiled(text)
    except ExprError:
        return  # the correct answer: refused at load
    c.fn(env(D=None, L=False, P=PartialDate.parse("2024-03"), E=d("2024-04-01")))  # at least: never a crash


# --------------------------------------------------------------------------- functions


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("sqrt(16)", {}, Decimal(4)),
        ("sqrt(A)", {"A": Decimal("2.25")}, Decimal("1.5")),
        ("sqrt(A)", {"A": Decimal(-1)}, None),
        ("sqrt(A)", {"A": None}, None),
        ("round(2.345, 2)", {}, Decimal("2.35")),
        ("round(0.125, 2)", {}, Decimal("0.13")),
        ("round(2.5, 0)", {}, Decimal("3")),
        ("round(3.5, 0)", {}, Decimal("4")),
        ("round(-2.5, 0)", {}, Decimal("-3")),
        ("round(1, 2)", {}, Decimal("1.00")),
        ("round(A, 1)", {"A": None}, None),
        ("round(A / 3, 3)", {"A": 1}, Decimal("0.333")),
        ("abs(-3.5)", {}, Decimal("3.5")),
        ("abs(A)", {"A": 4}, 4),
        ("abs(A)", {"A": None}, None),
        ("abs(A - B)", {"A": 1, "B": 5}, 4),
    ],
)
def test_numeric_functions(text: str, values: dict[str, Any], expected: Any) -> None:
    assert ev(text, **values) == expected


def test_round_keeps_its_places() -> None:
    assert str(ev("round(1, 2)")) == "1.00"
    assert str(ev("round(2.345, 2)")) == "2.35"


def test_bsa_formula() -> None:
    # the shipped vitals BSA: round(sqrt(H * W / 3600), 2)
    assert ev("round(sqrt(A * B / 3600), 2)", A=Decimal("170.0"), B=Decimal("70.0")) == Decimal("1.82")


ROWS = [
    {"VAL": Decimal("4.5"), "DAY": d("2024-03-01"), "KIND": "RED"},
    {"VAL": Decimal("1.5"), "DAY": d("2024-01-15"), "KIND": "BLUE"},
    {"VAL": Decimal("9"), "DAY": d("2024-02-01"), "KIND": "RED"},
]


@pytest.mark.parametrize(
    ("text", "rows", "expected"),
    [
        ("min(GRP.VAL)", ROWS, Decimal("1.5")),
        ("max(GRP.VAL)", ROWS, Decimal("9")),
        ("min(GRP.DAY)", ROWS, d("2024-01-15")),
        ("max(GRP.DAY)", ROWS, d("2024-03-01")),
        ("min(GRP.VAL)", [*ROWS, {"VAL": None}], None),  # a missing element: not evaluable
        ("max(GRP.DAY)", [*ROWS, {"VAL": 1}], None),
        ("min(GRP.VAL)", None, None),
        ("min(GRP.VAL)", [], None),  # of nothing: not evaluable
        ("max(GRP.DAY)", [], None),
        ("count(GRP)", ROWS, 3),
        ("count(GRP)", None, 0),
        ("count(GRP.VAL)", ROWS, 3),
        ("any(GRP, VAL > 5)", ROWS, True),
        ("any(GRP, VAL > 10)", ROWS, False),
        ("all(GRP, VAL > 1)", ROWS, True),
        ('all(GRP, KIND = "RED")', ROWS, False),
        ('any(GRP, KIND = "BLUE" and DAY < date("2024-02-01"))', ROWS, True),
        ("any(GRP, VAL > 5)", None, False),  # over no rows
        ("all(GRP, VAL > 5)", None, True),
        ("any(GRP, VAL > 5)", [{"VAL": None}, {"VAL": 9}], True),
        ("any(GRP, VAL > 5)", [{"VAL": None}, {"VAL": 1}], None),
        ("all(GRP, VAL > 5)", [{"VAL": None}, {"VAL": 1}], False),
        ("all(GRP, VAL > 5)", [{"VAL": None}, {"VAL": 9}], None),
        ("any(GRP, VAL > A)", [{"VAL": 3}], True),  # a name that is not a column is the form's field
    ],
)
def test_group_aggregates(text: str, rows: Any, expected: Any) -> None:
    assert ev(text, GRP=rows, A=2) == expected
    if expected is None or isinstance(expected, bool):
        assert ev(text, GRP=rows, A=2) is expected


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("min(A, B)", {"A": 3, "B": 2}, 2),
        ("max(A, B, 7)", {"A": 3, "B": 2}, 7),
        ("min(A, B)", {"A": 3, "B": None}, None),
        ("max(A, B)", {"A": None, "B": None}, None),
        ("max(D, E)", {"D": d("2024-01-01"), "E": d("2023-01-01")}, d("2024-01-01")),
        ("min(D, E)", {"D": d("2024-01-01"), "E": None}, None),
        ("count(MC)", {"MC": ("RED", "BLUE")}, 2),
        ("count(MC)", {"MC": None}, 0),
        ("present(A)", {"A": None}, False),
        ("present(A)", {"A": 0}, True),
        ("present(T)", {"T": "x"}, True),
        ("present(MC)", {"MC": None}, False),
        ("present(GRP)", {"GRP": []}, False),
        ("present(GRP)", {"GRP": [{"VAL": 1}]}, True),
        ("present(A / 0)", {}, False),
        ("coalesce(A, B, 3)", {"A": None, "B": None}, 3),
        ("coalesce(A, B, 3)", {"A": None, "B": 2}, 2),
        ("coalesce(A, B, 3)", {"A": 1, "B": 2}, 1),
        ("coalesce(A, B)", {"A": None, "B": None}, None),
        ("coalesce(D, E)", {"D": None, "E": d("2024-01-01")}, d("2024-01-01")),
    ],
)
def test_other_functions(text: str, values: dict[str, Any], expected: Any) -> None:
    result = ev(text, **values)
    assert result == expected
    if expected is None or isinstance(expected, bool):
        assert result is expected


def test_present_is_never_missing() -> None:
    for value in (None, 0, 1):
        assert ev("present(A)", A=value) in (True, False)


# --------------------------------------------------------------------------- type errors (compile level)


@pytest.mark.parametrize(
    ("text", "pos", "message"),
    [
        ("D < 5", 2, "cannot compare date with number"),
        ("A = D", 2, "cannot compare number with date"),
        ("DT > D", 3, "cannot compare datetime with date"),
        ("T < U", 2, "'<' cannot order text values; use = or !="),
        ('C >= "RED"', 2, "'>=' cannot order code values"),
        ('C = "PURPLE"', 4, "'PURPLE' is not one of the codes (BLUE, GREEN, RED)"),
        ('"PURPLE" = C', 0, "'PURPLE' is not one of the codes"),
        ('C in {"RED", "PURPLE"}', 13, "'PURPLE' is not one of the codes"),
        ('"PURPLE" in MC', 0, "'PURPLE' is not one of the codes"),
        ("G = 7", 4, "not one of the codes (0, 1, 2, 3)"),
        ('YN = "YES"', 5, "is not one of the codes (N, Y)"),
        ("T + 1", 2, "cannot apply '+' to text and number"),
        ('"a" * 2', 4, "cannot apply '*' to text and number"),
        ("D + 1", 2, "cannot apply '+' to date and number"),
        ("D + E", 2, "cannot apply '+' to date and date"),
        ("G + 1", 2, "cannot apply '+' to code and number"),
        ("-T", 1, "'-' needs a number, not text"),
        ("not A", 4, "'not' needs a true/false operand, not number"),
        ("A and L", 0, "'and' needs true/false operands"),
        ("L or 1", 5, "'or' needs true/false operands"),
        ("NOPE > 1", 0, "unknown field NOPE"),
        ("GRP.NOPE", 0, "group GRP has no column NOPE"),
        ("nope.X = 1", 0, "unknown form nope"),
        ("sqrt(T)", 5, "sqrt() needs a number, not text"),
        ("round(A, B)", 9, "round() needs a whole number of decimals"),
        ("round(A, 11)", 9, "round() needs a whole number of decimals"),
        ("abs(1, 2)", 0, "abs() takes 1 argument(s), got 2"),
        ("frobnicate(1)", 0, "unknown function frobnicate()"),
        ("months(T)", 7, "months() needs a number"),
        ("date(A)", 5, 'date() needs a datetime or a "YYYY-MM-DD" text'),
        ("days_between(DT, D)", 13, "days_between() needs two full dates, not datetime"),
        ("min(T)", 4, "min() of one argument needs a list of numbers"),
        ("max(A, D)", 7, "max() needs values of one orderable type"),
        ("min(T, U)", 4, "min() needs values of one orderable type, got text"),
        ("count(A)", 6, "count() needs a list, a group or a multiple choice, not number"),
        ("any(1, true)", 4, "any() needs a group field or a repeating form as its first argument"),
        ("any(GRP, VAL)", 9, "any() needs a true/false condition"),
        ("all(GRP)", 0, "all() takes 2 arguments"),
        ("coalesce(A, T)", 12, "coalesce() needs values of one type, got number and text"),
        ("case when A then 1 end", 10, "'when' needs a true/false condition"),
        ('case when L then 1 else "x" end', 24, "'case' branches disagree: number and text"),
        ('A in {1, "x"}', 9, "cannot compare number with text"),
        ("A in T", 5, "'in' needs a {...} set, a multiple choice or a list, not text"),
        ("D in MC", 0, "cannot look for date in a multiple choice"),
        ("MC = MC", 3, "cannot compare multiple choice values"),
        ("GRP.VAL = GRP.VAL", 8, "cannot compare list of number values"),
        ("D < P + 1", 6, "cannot apply '+' to partial date and number"),
    ],
)
def test_type_errors_name_the_column(text: str, pos: int, message: str) -> None:
    with pytest.raises(ExprError) as info:
        compiled(text)
    assert message in info.value.message
    assert info.value.pos == pos, str(info.value)
    assert str(info.value).startswith(f"at column {pos + 1}: ")


@pytest.mark.parametrize(
    ("text", "pos", "message"),
    [
        ("", 0, "empty expression"),
        ("   ", 0, "empty expression"),
        ("1 +", 3, "expected a value, found end of expression"),
        ("(1 + 2", 6, "expected ')'"),
        ("1 2", 2, "unexpected '2' after a complete expression"),
        ("A < B < 3", 6, "comparisons cannot be chained"),
        ('"abc', 0, "unterminated string"),
        ("A # B", 2, "unexpected character '#'"),
        ("A in {}", 2, "'in' needs at least one option"),
        ("A not B", 2, "expected 'in' after 'not'"),
        ("case else 1 end", 5, "'case' needs at least one 'when ... then ...'"),
        ("case when L then 1", 18, "expected 'end'"),
        ("obs@.X", 4, "expected a visit id after '@'"),
        ("obs@V1", 6, "expected '.FIELD' after obs@V1"),
        ("A.", 2, "expected a field id after '.'"),
        ("(" * (MAX_DEPTH + 1) + "1" + ")" * (MAX_DEPTH + 1), MAX_DEPTH, f"nested more than {MAX_DEPTH} deep"),
        ("1" * (MAX_LENGTH + 1), MAX_LENGTH, f"longer than {MAX_LENGTH} characters"),
    ],
)
def test_syntax_errors_name_the_column(text: str, pos: int, message: str) -> None:
    with pytest.raises(ExprError) as info:
        parse(text)
    assert message in info.value.message
    assert info.value.pos == pos, str(info.value)


def test_parse_refuses_a_non_string() -> None:
    with pytest.raises(ExprError):
        parse(None)  # type: ignore[arg-type]


def test_compiled_expressions_record_what_they_read() -> None:
    c = compiled("A + count(GRP) > B and min(GRP.VAL) > 0")
    assert LocalRef("A") in c.refs and LocalRef("B") in c.refs
    assert ColumnRef("GRP", "VAL") in c.refs
    assert c.local_fields == {"A", "B", "GRP"}
    assert c.type == BOOL


# --------------------------------------------------------------------------- through real compiled forms (mini study)


SUBJECT = SubjectData.of(
    {
        ("screening", "enrol"): {"ENRDAT": "2024-01-10", "BRTHDAT": "2004-02-29", "WT": "55.5"},
        ("screening", "obs"): {"WEIGHT": "60.0", "HEIGHT_SCR": "170.0", "SHOW": "N", "SECRET": 5, "COLOR": "BLUE"},
        ("V1", "obs"): {"WEIGHT": "61.5", "COLOR": "RED", "SHOW": "Y", "SECRET": 7, "HEIGHT_SCR": "999"},
        ("V2", "obs"): {"WEIGHT": "62.0"},
        ("subject", "events"): [
            {"EVDAT": "2024-02-01", "EVGRADE": 1, "EVONGO": "N"},
            {"EVDAT": "2024-03-01", "EVGRADE": 3, "EVONGO": "Y"},
        ],
    }
)

CROSS_FIELDS = [
    derived("SAME", "obs.WEIGHT", "decimal", decimals=1),
    derived("HOME", "enrol.ENRDAT", "date"),
    derived("ATV2", "obs@V2.WEIGHT", "decimal", decimals=1),
    derived("ATSCR", "obs@screening.HEIGHT_SCR", "decimal", decimals=1),
    derived("HSCR", "coalesce(obs.HEIGHT_SCR, 0)", "decimal", decimals=1),
    derived("DBL", "obs.DOUBLE", "decimal", decimals=1),
    derived("SECRET_OR", "coalesce(obs.SECRET, -1)", "integer"),
    derived(
        "COLOR_TXT",
        'case when obs.COLOR = "RED" then "warm" when obs.COLOR in {"BLUE", "GREEN"} then "cool" end',
        "text",
    ),
    derived("AGE", "years_between(enrol.BRTHDAT, enrol.ENRDAT)", "integer"),
    derived("NEV", "count(events)", "integer"),
    derived("MAXG", "max(events.EVGRADE)", "integer"),
    derived("FIRSTEV", "min(events.EVDAT)", "date"),
    derived("ONGO3", 'case when any(events, EVONGO = "Y" and EVGRADE >= 3) then "Y" else "N" end', "yesno"),
    derived("ALLOLD", 'case when all(events, EVDAT < HOME) then "Y" else "N" end', "yesno"),
    derived("HAS3", 'case when 3 in events.EVGRADE then "Y" else "N" end', "yesno"),
    derived("LATEST", "latest_subject_date()", "date"),
    derived("WT", "enrol.WT", "decimal", decimals=1),
]


@pytest.fixture(scope="module")
def cross_engine(tmp_path_factory: pytest.TempPathFactory) -> RulesEngine:
    return RulesEngine(load_study(write_study(tmp_path_factory.mktemp("cross"), probe_fields=CROSS_FIELDS)))


def test_cross_form_references_at_v1(cross_engine: RulesEngine) -> None:
    values = cross_engine.evaluate("probe", "V1", {}, SUBJECT, CLOCK).values
    assert values["SAME"] == Decimal("61.5")  # obs at the same visit
    assert values["HOME"] == d("2024-01-10")  # enrol only at screening: its home visit
    assert values["ATV2"] == Decimal("62.0")  # form@visit.FIELD
    assert values["ATSCR"] == Decimal("170.0")
    assert values["HSCR"] == 0  # HEIGHT_SCR does not exist at V1: missing, whatever was stored
    assert values["DBL"] == Decimal("123.0")  # a derived field of another form
    assert values["SECRET_OR"] == 7  # shown at V1 (SHOW = "Y")
    assert values["COLOR_TXT"] == "warm"
    assert values["AGE"] == 19  # born on 29 February
    assert values["NEV"] == 2  # repeating, subject-level form
    assert values["MAXG"] == 3  # a repeating form's field read as a list
    assert values["FIRSTEV"] == d("2024-02-01")
    assert values["ONGO3"] == "Y"
    assert values["ALLOLD"] == "N"  # the predicate sees the row's fields and the reader's HOME
    assert values["HAS3"] == "Y"
    assert values["LATEST"] == d("2024-03-01")
    assert values["WT"] == Decimal("55.5")


def test_cross_form_references_at_screening(cross_engine: RulesEngine) -> None:
    values = cross_engine.evaluate("probe", "screening", {}, SUBJECT, CLOCK).values
    assert values["SAME"] == Decimal("60.0")
    assert values["HSCR"] == Decimal("170.0")
    assert values["SECRET_OR"] == -1  # hidden in obs at screening (SHOW = "N"): counts as missing
    assert values["COLOR_TXT"] == "cool"


def test_cross_form_references_to_absent_forms(cross_engine: RulesEngine) -> None:
    values = cross_engine.evaluate("probe", "V2", {}, SubjectData(), CLOCK).values
    assert values["SAME"] is None and values["HOME"] is None and values["DBL"] is None
    assert values["NEV"] == 0  # no events at all
    assert values["MAXG"] is None
    assert values["ONGO3"] == "N"  # any() over no rows is false
    assert values["ALLOLD"] == "Y"  # all() over no rows is true
    assert values["LATEST"] is None
    assert values["COLOR_TXT"] is None


def test_hidden_field_of_another_form_counts_as_missing(cross_engine: RulesEngine) -> None:
    subject = SubjectData.of({("screening", "enrol"): {"WT": "55.5"}})  # WT shows only with ENRDAT
    assert cross_engine.evaluate("probe", "V1", {}, subject, CLOCK).values["WT"] is None


def test_month_arithmetic_and_checks_through_a_form(tmp_path: Path) -> None:
    fields = [
        derived("PLUS1M", "D + months(1)", "date"),
        derived("MINUS1M", "E - months(1)", "date"),
        derived("PLUS1Y", "D + years(1)", "date"),
        derived("DAYS", "days_between(D, E)", "integer"),
        derived("ROUNDED", "round(X / 3, 1)", "decimal", decimals=1),
        derived("DTDAY", "date(DT)", "date"),
        derived("CASE", 'case when N > 50 then "Y" when N >= 0 then "N" end', "yesno"),
    ]
    checks = [
        check("P_BEFORE_E", "P < E", ["P"]),
        check("E_WITHIN_6M", "E <= D + months(6)", ["E"], severity="warning"),
    ]
    engine = RulesEngine(load_study(write_study(tmp_path, probe_fields=fields, probe_checks=checks)))
    result = engine.evaluate(
        "probe",
        "V1",
        {"D": "2024-02-29", "E": "2023-03-31", "X": "1.25", "DT": "2024-03-01T23:30+08:00", "N": 51, "P": "2023-03"},
        clock=CLOCK,
    )
    assert result.values["PLUS1M"] == d("2024-03-29")
    assert result.values["MINUS1M"] == d("2023-02-28")
    assert result.values["PLUS1Y"] == d("2025-02-28")
    assert result.values["DAYS"] == -335
    assert result.values["ROUNDED"] == Decimal("0.4")
    assert result.values["DTDAY"] == d("2024-03-01")
    assert result.values["CASE"] == "Y"
    codes = {i.code for i in result.issues}
    assert "P_BEFORE_E" not in codes  # "2023-03" < 2023-03-31 is not evaluable: nothing raised
    assert "E_WITHIN_6M" not in codes
    late = engine.evaluate("probe", "V1", {"D": "2024-01-31", "E": "2024-08-01", "P": "2024-08"}, clock=CLOCK)
    assert {i.code for i in late.issues} >= {"P_BEFORE_E", "E_WITHIN_6M"}  # "2024-08" < 2024-08-01 is false


# --------------------------------------------------------------------------- type errors at load (mini study)


def _load_errors(tmp_path: Path, **kwargs: Any) -> list[str]:
    with pytest.raises(DefinitionErrors) as info:
        load_study(write_study(tmp_path, **kwargs))
    return [str(e) for e in info.value.errors]


@pytest.mark.parametrize(
    ("expression", "fragment"),
    [
        ("D < 5", "at column 3: cannot compare date with number in 'D < 5'"),
        ("T < 'abc'", "at column 3: '<' cannot order text values; use = or !="),
        ("NOPE > 1", "at column 1: unknown field NOPE in form probe"),
        ("nope.X > 1", "at column 1: unknown form nope"),
        ("obs.NOPE > 1", "at column 1: unknown field NOPE in form obs"),
        ("obs > 1", "at column 1: obs is a form; name a field as obs.FIELD"),
        ('C = "PURPLE"', "at column 5: 'PURPLE' is not one of the codes (BLUE, GREEN, RED)"),
        ('obs.COLOR = "PINK"', "at column 13: 'PINK' is not one of the codes"),
        ("G = 9", "is not one of the codes (0, 1, 2, 3)"),
        ("T + 1 > 2", "at column 3: cannot apply '+' to text and number"),
        ("events.EVGRADE > 1", "at column 16: cannot compare list of code with number"),
        ("obs@V3.WEIGHT > 1", "at column 1: form obs is not collected at visit V3"),
        ("obs@V9.WEIGHT > 1", "at column 1: unknown visit V9"),
        ("GRP.NOPE = 1", "at column 1: group GRP has no column NOPE"),
        ("N.X = 1", "at column 1: N is not a group; '.' after it names nothing"),
        ("any(obs, true)", "at column 5: obs is neither a group field of probe nor a repeating form"),
    ],
)
def test_type_errors_are_load_errors_with_path_and_column(tmp_path: Path, expression: str, fragment: str) -> None:
    errors = _load_errors(tmp_path, probe_checks=[check("BAD", expression, ["N"])])
    assert len(errors) == 1, errors
    assert "probe.json: $.checks[0].assert: " in errors[0]
    assert fragment in errors[0], errors[0]


def test_derived_type_mismatch_is_a_load_error(tmp_path: Path) -> None:
    errors = _load_errors(
        tmp_path,
        probe_fields=[
            derived("OUT", "D + days(1)", "integer"),
            derived("YES", 'case when N > 1 then "Y" else "MAYBE" end', "yesno"),
        ],
    )
    assert len(errors) == 2, errors
    assert any("$.fields[14].derive: yields date but value_type is integer" in e for e in errors)
    assert any("$.fields[15].derive: yields MAYBE, not a code of the field (N, Y)" in e for e in errors)


@pytest.mark.parametrize(
    ("expression", "codelist"),
    [
        ('case when N > 1 then "PURPLE" else "RED" end', "COLOR"),
        ("case when N > 1 then 7 else 0 end", "GRADE"),
        ('"PURPLE"', "COLOR"),
        ('coalesce(C, "PURPLE")', "COLOR"),
    ],
)
def test_derived_choice_yielding_a_code_outside_its_list_is_a_load_error(
    tmp_path: Path, expression: str, codelist: str
) -> None:
    errors = _load_errors(tmp_path, probe_fields=[derived("OUT", expression, "choice", codelist=codelist)])
    assert len(errors) == 1 and "$.fields[14].derive" in errors[0] and "not a code of the field" in errors[0], errors


def test_several_type_errors_are_all_reported(tmp_path: Path) -> None:
    errors = _load_errors(
        tmp_path,
        probe_fields=[field("Y1", "integer", show_if="D > 3"), derived("OUT", '"a" - 1', "text")],
        probe_checks=[check("BAD", 'C = "NOPE"', ["C"])],
    )
    assert len(errors) == 3, errors
    assert any("$.fields[14].show_if: at column 3: cannot compare date with number" in e for e in errors)
    assert any("$.fields[15].derive: at column 5: cannot apply '-' to text and number" in e for e in errors)
    assert any("$.checks[0].assert: at column 5: 'NOPE' is not one of the codes" in e for e in errors)


def test_a_form_at_several_visits_needs_a_named_visit(tmp_path: Path) -> None:
    late = {
        "id": "late",
        "version": "1",
        "title": {"en": "Late", "zh": "晚"},
        "fields": [field("NOTE", "text")],
        "checks": [check("C1", "obs.WEIGHT > 1", ["NOTE"])],
    }
    errors = _load_errors(tmp_path, forms={"late": late})
    assert len(errors) == 1
    assert "late.json: $.checks[0].assert: at column 1: form obs is at several visits (V1, V2, screening)" in errors[0]
    assert "name one as obs@VISIT.FIELD" in errors[0]


def test_show_if_must_be_a_condition(tmp_path: Path) -> None:
    errors = _load_errors(tmp_path, probe_fields=[field("Y1", "integer", show_if="N + 1")])
    assert errors == [e for e in errors if "must be a true/false condition, but yields number: 'N + 1'" in e]


def test_group_row_checks_see_row_columns_first(tmp_path: Path) -> None:
    engine = RulesEngine(load_study(write_study(tmp_path)))
    rows = [{"VAL": "5", "KIND": "RED"}, {"VAL": "30"}]
    result = engine.evaluate("probe", "V1", {"N": 20, "GRP": rows}, clock=CLOCK)
    flagged = [i for i in result.issues if i.code == "ROW_VAL_LE_N"]
    assert [(i.row, i.column) for i in flagged] == [(1, "VAL")]  # VAL is the row's column, N the form's field


# --------------------------------------------------------------------------- robustness: parse and compile never crash

TOKENS = [
    "A", "B", "T", "D", "E", "P", "DT", "TM", "L", "R", "C", "G", "MC", "YN", "GRP", "GRP.VAL", "GRP.DAY", "GRP.KIND",
    "VAL", "KIND", "obs.X", "obs@V1.X", "nope", "@", ".", ",",
    "0", "1", "2.5", '"RED"', '"x"', "'Y'", '"2024-03"', "true", "false",
    "and", "or", "not", "in", "not in", "case", "when", "then", "else", "end",
    "=", "!=", "<", "<=", ">", ">=", "≤", "≥", "≠", "==", "+", "-", "*", "/", "×", "∈",
    "(", ")", "{", "}",
    "today()", "now()", "months(", "days(", "years(", "date(", "years_between(", "days_between(", "sqrt(", "round(",
    "abs(", "min(", "max(", "count(", "any(", "all(", "present(", "coalesce(", "latest_subject_date(",
]  # fmt: skip

token_soup = st.lists(st.sampled_from(TOKENS), max_size=40)
spaced_soup = token_soup.map(" ".join)
tight_soup = token_soup.map("".join)
deep = st.integers(min_value=0, max_value=3000)
nested_text = st.one_of(
    deep.map(lambda k: "(" * k + "1" + ")" * k),
    deep.map(lambda k: "(" * k + "1"),
    deep.map(lambda k: "1" + ")" * k),
    deep.map(lambda k: "-" * k + "1"),
    deep.map(lambda k: "not " * min(k, 900) + "true"),
    deep.map(lambda k: "abs(" * min(k, 900) + "1" + ")" * min(k, 900)),
    deep.map(lambda k: "{" * k),
    st.tuples(deep, st.sampled_from(["A", "case when L then 1 end", "sqrt(1)", '"s"'])).map(
        lambda t: "(" * min(t[0], 60) + t[1] + ")" * min(t[0], 60)
    ),
)
ROBUST = settings(max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])


def _parse_ok(text: str) -> None:
    try:
        tree = parse(text)
    except ExprError as exc:
        assert isinstance(exc.pos, int) and 0 <= exc.pos <= max(len(text), MAX_LENGTH)
        assert str(exc).startswith("at column ")
    else:
        assert isinstance(tree, Node)


@ROBUST
@given(st.text(max_size=300))
def test_parse_arbitrary_text_only_raises_expr_error(text: str) -> None:
    _parse_ok(text)


@ROBUST
@given(st.one_of(spaced_soup, tight_soup))
def test_parse_token_soup_only_raises_expr_error(text: str) -> None:
    _parse_ok(text)


@ROBUST
@given(nested_text)
def test_parse_deep_nesting_only_raises_expr_error(text: str) -> None:
    _parse_ok(text)


FULL_ENV = {
    "A": Decimal("2.5"),
    "B": 0,
    "Z": None,
    "T": "x",
    "U": None,
    "D": d("2024-02-29"),
    "E": None,
    "DT": dt.datetime(2024, 1, 1, 8, 0, tzinfo=dt.UTC),
    "TM": dt.time(8, 0),
    "L": True,
    "R": None,
    "C": "RED",
    "G": 2,
    "MC": ("RED",),
    "YN": "Y",
    "GRP": [{"VAL": Decimal(1), "DAY": d("2024-01-01"), "KIND": "RED"}, {"VAL": None}],
    "P": PartialDate(2024, 3),  # a partial date flowing into full-date expressions must not crash anything
    "Q": PartialDate(2024),
}


@ROBUST
@given(st.one_of(spaced_soup, tight_soup))
def test_compile_token_soup_only_raises_expr_error(text: str) -> None:
    try:
        result = compile_expression(text, SCOPE)
    except ExprError as exc:
        assert str(exc).startswith("at column ")
        return
    assert isinstance(result, Compiled)
    # whatever compiles must run without raising, on missing values and on present ones
    result.fn(env())
    result.fn(env(**FULL_ENV))


@pytest.mark.parametrize("terms", [100, 400, 700, 1500, 2000])
@pytest.mark.parametrize("joiner", ["+", " and ", "*", " or "])
def test_long_flat_chains_compile_or_raise_expr_error(terms: int, joiner: str) -> None:
    # a flat chain is left-deep: 1 + 1 + ... once crashed the compiler with RecursionError
    operand = "1" if joiner in "+*" else "true"
    text = joiner.join([operand] * terms)
    if len(text) > MAX_LENGTH:
        text = text[: MAX_LENGTH - len(operand)].rsplit(joiner, 1)[0]
    crashed = ""
    try:
        result = compile_expression(text, SCOPE)
        value = result.fn(env())
    except ExprError:
        return
    except RecursionError:  # reported outside the handler: a 1000-frame traceback makes pytest very slow
        crashed = "RecursionError"
    assert not crashed, f"{crashed} on a {len(text)}-character chain"
    assert value == (text.count("1") if joiner == "+" else 1 if joiner == "*" else True)


def test_long_flat_chain_in_a_definition_is_a_load_error_not_a_crash(tmp_path: Path) -> None:
    text = " + ".join(["N"] * 900) + " > 0"
    crashed = ""
    try:
        load_study(write_study(tmp_path, probe_checks=[check("LONG", text, ["N"])]))
    except DefinitionErrors as exc:
        assert any("$.checks[0].assert" in str(e) for e in exc.errors)
    except RecursionError:
        crashed = "RecursionError"
    assert not crashed, crashed


def test_round_of_a_huge_value_is_not_evaluable_rather_than_a_crash(tmp_path: Path) -> None:
    engine = RulesEngine(
        load_study(write_study(tmp_path, probe_fields=[derived("OUT", "round(M / 3, 2)", "decimal", decimals=2)]))
    )
    assert engine.evaluate("probe", "V1", {"M": 9}, clock=CLOCK).values["OUT"] == Decimal("3.00")
    assert engine.evaluate("probe", "V1", {"M": "1" + "0" * 30}, clock=CLOCK).values["OUT"] is None


# --------------------------------------------------------------------------- regressions


def test_case_mixing_a_code_field_and_a_bad_literal_is_a_load_error() -> None:
    with pytest.raises(ExprError, match="'PINK' is not one of the codes"):
        compiled('case when L then C else "PINK" end')


def test_in_a_list_with_a_missing_element_is_not_evaluable() -> None:
    assert ev("A in GRP.VAL", A=Decimal(5), GRP=[{"VAL": Decimal(1)}, {"VAL": None}]) is None
    assert ev("A in GRP.VAL", A=Decimal(1), GRP=[{"VAL": Decimal(1)}, {"VAL": None}]) is True
    assert ev("A in GRP.VAL", A=Decimal(5), GRP=[{"VAL": Decimal(1)}]) is False


def test_bad_numeric_code_literal_is_shown_as_written() -> None:
    with pytest.raises(ExprError) as caught:
        compiled("G = 9")
    assert "9 is not one of the codes" in caught.value.message and "Decimal" not in caught.value.message
