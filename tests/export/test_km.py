"""Kaplan–Meier estimates against a hand-computed example, and the curves drawn to PDF and PNG."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pytest
from pypdf import PdfReader

from cik_ecrf.pdf.fonts import fonts_dir
from cik_ecrf.reporting.export.endpoints import EndpointData, EndpointRow
from cik_ecrf.reporting.export.km import estimates, fit, rate_at, write_km

pytest.importorskip("lifelines")
DAYS = [2, 3, 3, 5, 8, 10]
EVENTS = [1, 1, 0, 1, 0, 1]


def test_estimates_match_the_hand_computed_example() -> None:
    """S(t) = Π (1 − d/n): 5/6 at 2, ×4/5 at 3 (one event, one censored), ×2/3 at 5, 0 at 10.
    Greenwood at 5: 1/(6·5) + 1/(5·4) + 1/(3·2) = 0.25; log(−log) interval:
    exp(−exp(log(−log S) ± 1.96·√0.25/|log S|))."""
    fitter = fit(DAYS, EVENTS, "all")
    survival = fitter.survival_function_["all"]
    assert [round(float(survival[t]), 4) for t in (2, 3, 5, 10)] == [0.8333, 0.6667, 0.4444, 0.0]
    rate, lower, upper = rate_at(fitter, days=7)
    s = 4 / 9
    se = math.sqrt(0.25) / abs(math.log(s))
    z = 1.959963984540054
    expected = (
        math.exp(-math.exp(math.log(-math.log(s)) + z * se)),
        math.exp(-math.exp(math.log(-math.log(s)) - z * se)),
    )
    assert rate == pytest.approx(s)
    assert (lower, upper) == pytest.approx(expected, abs=1e-6)
    assert expected == pytest.approx((0.0662, 0.7849), abs=1e-4)


def _data(unblinded: bool) -> EndpointData:
    start = dt.date(2025, 1, 1)
    rows = []
    for n, (days, event) in enumerate(zip(DAYS * 2, EVENTS * 2)):
        arm = ("CIK", "CONTROL")[n // len(DAYS)] if unblinded else None
        for paramcd in ("EFS", "OS"):
            rows.append(
                EndpointRow(
                    "S",
                    f"S-{n}",
                    arm,
                    paramcd,
                    paramcd,
                    start,
                    start + dt.timedelta(days=days - 1),
                    days,
                    1 - event,
                    "",
                    "",
                    "x",
                    "Y",
                    "R",
                )
            )
    return EndpointData(tuple(rows), (), unblinded)


def test_blinded_is_one_curve_unblinded_per_arm_with_a_log_rank_test() -> None:
    overall, p_value = estimates(_data(False), "EFS")
    assert [e.group for e in overall] == [""] and p_value is None and overall[0].subjects == 12
    by_arm, p_value = estimates(_data(True), "EFS")
    assert [e.group for e in by_arm] == ["CIK", "CONTROL"] and p_value == pytest.approx(1.0)  # identical arms


def test_curves_are_written_as_pdf_and_png_in_both_languages(tmp_path: Path) -> None:
    files = write_km(_data(True), tmp_path / "km.pdf", fonts_dir(), {"CIK": "CIK cells", "CONTROL": "Control"})
    assert [f.name for f in files] == ["km.pdf", "km_EFS_en.png", "km_OS_en.png", "km_EFS_zh.png", "km_OS_zh.png"]
    pages = PdfReader(tmp_path / "km.pdf").pages
    assert len(pages) == 4
    assert "Event-free survival" in pages[0].extract_text() and "CIK cells" in pages[0].extract_text()
    assert all(f.read_bytes().startswith(b"\x89PNG") for f in files[1:])


def test_without_the_km_extra_one_clear_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The ward laptop's bundle has no lifelines: --km says what to install instead of a traceback."""
    import sys

    from cik_ecrf.reporting.export.km import MissingExtra

    monkeypatch.setitem(sys.modules, "lifelines", None)  # an import of it now fails, as where it is not installed
    with pytest.raises(MissingExtra, match=r"cik-ecrf\[km\]"):
        write_km(_data(False), tmp_path / "km.pdf")
    assert not (tmp_path / "km.pdf").exists()
