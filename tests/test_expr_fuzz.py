"""A bounded fuzz run of the rule expression parser: near-valid expressions, mutated a few characters at a
time, and text from every Unicode category, never raise anything but a located `ExprError`.

The grammar-shaped generator reaches deep into the parser (where random text stops at the first token);
the mutations find the edges between valid and invalid. Bounded by example counts, well under 30 s.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cik_ecrf.definitions.expr.syntax import MAX_LENGTH, ExprError, Node, parse

FUZZ = settings(max_examples=400, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])

names = st.sampled_from(["TEMP", "HR", "vitals.HR", "vitals@D1.TEMP", "AE.AETERM", "demographics.SEX", "L"])
literals = st.one_of(
    st.integers(-(10**30), 10**30).map(str),
    st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str),
    st.text(alphabet=st.characters(exclude_characters='"\\'), max_size=6).map(lambda s: f'"{s}"'),
    st.sampled_from(["true", "false", "null", "date('2024-02-29')", "today()"]),
)
binary_ops = st.sampled_from(["+", "-", "*", "/", "=", "!=", "<", "<=", ">", ">=", "and", "or"])


def _compose(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.one_of(
        st.tuples(inner, binary_ops, inner).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
        inner.map(lambda e: f"({e})"),
        inner.map(lambda e: f"not {e}"),
        inner.map(lambda e: f"-{e}"),
        st.tuples(inner, st.lists(literals, min_size=1, max_size=3)).map(lambda t: f"{t[0]} in ({', '.join(t[1])})"),
        st.tuples(st.sampled_from(["abs", "sqrt", "round", "min", "max", "coalesce", "days_between"]), inner).map(
            lambda t: f"{t[0]}({t[1]})"
        ),
        st.tuples(inner, inner, inner).map(lambda t: f"case when {t[0]} then {t[1]} else {t[2]} end"),
        inner.map(lambda e: f"{e} is null"),
    )


expressions = st.recursive(names | literals, _compose, max_leaves=25)


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A grammar-shaped expression with a few characters deleted, doubled, swapped or replaced."""
    text = draw(expressions)
    for _ in range(draw(st.integers(0, 4))):
        if not text:
            break
        at = draw(st.integers(0, len(text) - 1))
        kind = draw(st.sampled_from(["delete", "double", "swap", "replace", "insert"]))
        if kind == "delete":
            text = text[:at] + text[at + 1 :]
        elif kind == "double":
            text = text[:at] + text[at] + text[at:]
        elif kind == "swap" and at + 1 < len(text):
            text = text[:at] + text[at + 1] + text[at] + text[at + 2 :]
        else:
            char = draw(st.characters(codec=None) | st.sampled_from(list("()\"'.@,<>=!-+*/ \t\n\\")))
            text = text[:at] + char + text[at + (kind == "replace") :]
    return text


unicode_text = st.text(
    alphabet=st.characters(categories=["Nd", "No", "Lo", "Zs", "Cc", "Cf", "Mn", "Sm", "Ps", "Pe", "Cs"]),
    max_size=80,
)


def _only_located_errors(text: str) -> None:
    try:
        tree = parse(text)
    except ExprError as exc:  # anything else (RecursionError, IndexError, InvalidOperation...) fails the test
        assert 0 <= exc.pos <= max(len(text), MAX_LENGTH), (exc.pos, len(text))
        assert str(exc).startswith(f"at column {exc.pos + 1}: ") and exc.message
    else:
        assert isinstance(tree, Node)


@FUZZ
@given(expressions)
def test_grammar_shaped_expressions(text: str) -> None:
    _only_located_errors(text)


@FUZZ
@given(mutated())
def test_mutated_expressions(text: str) -> None:
    _only_located_errors(text)


@FUZZ
@given(unicode_text)
def test_text_from_every_unicode_category(text: str) -> None:
    _only_located_errors(text)


@settings(max_examples=60, deadline=None, database=None)
@given(st.integers(MAX_LENGTH - 5, MAX_LENGTH + 5), st.sampled_from(["1+", "(", "-", "not ", "a.", '"']))
def test_around_the_length_limit(length: int, unit: str) -> None:
    _only_located_errors((unit * length)[:length])
