"""core/numbers.py: the highest counter of a laptop's pattern, found by one regular expression over all
the site's numbers, is exactly what reading each number on its own finds (`counter_of`)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from cik_ecrf.core import numbers

PREFIX = numbers.own_pattern("BJ01", "K7")
# numbers as the server holds them (letters, digits, - _ . /), many of them of the laptop's pattern
SUFFIX = st.text(alphabet="0123456789-_./AKZ", min_size=0, max_size=8)
A_NUMBER = st.one_of(
    SUFFIX.map(lambda rest: PREFIX + rest),
    st.integers(0, 120_000).map(lambda n: numbers.number("BJ01", "K7", n)),
    st.integers(0, 99).map(lambda n: numbers.number("BJ01", "K77", n)),  # another laptop, same site
    st.text(alphabet="0123456789-_./ABJKZ", min_size=1, max_size=20),
)


@given(st.lists(A_NUMBER, max_size=60))
def test_highest_is_the_highest_counter_of_the_pattern(taken: list[str]) -> None:
    one_by_one = [c for c in (numbers.counter_of(PREFIX, t) for t in taken) if c is not None]
    assert numbers.highest(PREFIX, taken) == max(one_by_one, default=0)


def test_next_in_pattern_goes_past_the_highest_and_ignores_other_patterns() -> None:
    taken = ["BJ01-K7-0009", "BJ01-K7-0010", "BJ01-K77-0500", "BJ01-K7-12a", "SCR-001", "BJ01-K7-"]
    assert numbers.highest(PREFIX, taken) == 10
    assert numbers.next_in_pattern(PREFIX, taken) == "BJ01-K7-0011"
    assert numbers.next_in_pattern(PREFIX, ["BJ01-K7-10000"]) == "BJ01-K7-10001"
    assert numbers.next_in_pattern(PREFIX, []) == "BJ01-K7-0001"
