"""Hostile values files for `cik-ecrf enter`, through the real entry point (`main([...])` in process).

Every input ends in exit 0 (stored exactly as given) or exit 1 with one bounded line on stderr; never a
traceback, never a value echoed whole.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cik_ecrf.cli import main
from cik_ecrf.cli.common import MAX_LINE
from cik_ecrf.store.api import Store

NURSE, PASSWORD = "nurse.lin", "Harbour2026x"
VITALS: dict[str, Any] = {
    "VSDAT": "2026-01-01T10:00+08:00",
    "TEMP": 36.5,
    "HR": 80,
    "RESP": 20,
    "SYSBP": 110,
    "DIABP": 70,
    "OXYSAT": 98,
    "O2SUPP": "NONE",
    "WEIGHT": 40.0,
}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    directory = tmp_path_factory.mktemp("cli-input") / "store"
    Store.init(directory, "BJ01", NURSE, PASSWORD, role="nurse")
    with Store.open(directory, NURSE, PASSWORD) as opened:
        number = opened.add_subject()
    yield directory, number


def enter(
    store: tuple[Path, str], raw: bytes, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str, str]:
    directory, number = store
    path = directory.parent / "values.json"
    path.write_bytes(raw)
    monkeypatch.setenv("CIK_ECRF_PASSWORD", PASSWORD)
    capsys.readouterr()
    code = main(
        ["enter", number, "D1", "vitals", "--values", str(path), "--draft", "--data-dir", str(directory)]
        + ["--user", NURSE]
    )
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_bounded_line(code: int, err: str) -> str:
    assert code == 1
    lines = err.splitlines()
    assert len(lines) == 1, lines[:3]
    assert "Traceback" not in err
    assert len(lines[0]) <= MAX_LINE + 60, len(lines[0])  # the prefix and the "… (N more characters)" note
    return lines[0]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b'{"TEMP": 36.5, "HR": "\xff\xfe"}', "not UTF-8 text (invalid byte 0xff at offset 22)"),
        (b"[" * 100_000 + b"]" * 100_000, "nested 33 deep"),
        (b'{"HR": ' + b"9" * 5000 + b"}", "a number with 5000 digits"),
        (b'{"TEMP": 1' + b"0" * 5000 + b".5}", "a number with 5002 digits"),
        (b'{"VSDAT": "\\ud800"}', "VSDAT: text with a lone surrogate"),
        (b'{"\\udc00": 1}', "a key: text with a lone surrogate"),
        (b"\xef\xbb\xbf[1]", "expected an object of field values"),
        (b"", "malformed JSON"),
    ],
    ids=["invalid-utf8", "deep-nesting", "huge-int", "huge-decimal", "lone-surrogate", "surrogate-key", "bom", "empty"],
)
def test_hostile_values_give_one_bounded_line(
    store: tuple[Path, str],
    raw: bytes,
    expected: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code, out, err = enter(store, raw, capsys, monkeypatch)
    assert out == ""
    assert expected in assert_one_bounded_line(code, err)


def test_a_too_long_value_is_named_not_echoed(
    store: tuple[Path, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    huge = "X" * 3_000_000
    code, _out, err = enter(store, json.dumps({**VITALS, "O2SUPP": huge}).encode(), capsys, monkeypatch)
    line = assert_one_bounded_line(code, err)
    assert line.startswith("O2SUPP: ") and "more characters)" in line


def test_a_file_with_a_byte_order_mark_is_stored_as_given(
    store: tuple[Path, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    values = {**VITALS, "VSDAT": "2026-01-02T09:30+08:00"}
    code, out, err = enter(store, b"\xef\xbb\xbf" + json.dumps(values).encode(), capsys, monkeypatch)
    assert (code, err) == (0, "")
    instance = out.strip()
    directory, number = store
    with Store.open(directory, NURSE, PASSWORD) as opened:
        _subject, rows = opened.subject_values(number)
    stored = next(r for r in rows if r["instance"] == instance)["values"]
    assert stored["VSDAT"] == values["VSDAT"] and stored["HR"] == 80 and stored["O2SUPP"] == "NONE"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
field_ids = st.sampled_from([*VITALS, "HEIGHT", "ECOG", "BSA", "NOPE"])
forms = st.dictionaries(field_ids, json_values | st.sampled_from(list(VITALS.values())), max_size=6)
corpus = st.one_of(
    st.binary(max_size=200),
    forms.map(lambda d: json.dumps(d).encode()),
    forms.map(lambda d: b"\xef\xbb\xbf" + json.dumps(d, ensure_ascii=False).encode()),
    st.tuples(forms.map(json.dumps), st.integers(0, 60), st.binary(max_size=4)).map(
        lambda t: t[0][: t[1]].encode() + t[2]  # cut short, then stray bytes
    ),
    json_values.map(lambda v: json.dumps(v).encode()),
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=corpus)
def test_generated_values_never_crash(
    store: tuple[Path, str], raw: bytes, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = enter(store, raw, capsys, monkeypatch)
    assert "Traceback" not in err
    if code == 0:
        assert err == "" and out.strip()
        return
    assert code == 1
    lines = err.splitlines()
    assert lines, "a refusal says why"
    assert all(len(line) <= MAX_LINE + 60 for line in lines)


def test_values_from_stdin_are_read_as_bytes(
    store: tuple[Path, str], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import io
    import sys

    directory, number = store
    monkeypatch.setenv("CIK_ECRF_PASSWORD", PASSWORD)
    for raw, expected in ((b'{"HR": \xc3}', "not UTF-8 text"), (b"{" * 50, "nested 33 deep")):
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8"))
        capsys.readouterr()
        code = main(["enter", number, "D1", "vitals", "--values", "-", "--data-dir", str(directory), "--user", NURSE])
        err = capsys.readouterr().err
        assert code == 1 and err.startswith("error: <stdin>: ") and expected in err and err.count("\n") == 1
