"""`cik-ecrf report -o FILE.pdf`: the dashboard printed, number for number, in English and Chinese."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from cik_ecrf.cli import main
from cik_ecrf.demo import NURSE, NURSE_PASSWORD, build_demo_store
from cik_ecrf.pdf.dashboard import render
from cik_ecrf.reporting.dashboard import dashboard
from cik_ecrf.store.api import Store

TODAY = dt.date(2026, 3, 15)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory, study: Any) -> Path:
    return build_demo_store(study, tmp_path_factory.mktemp("report") / "store", today=TODAY)


def text_of(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def test_report_prints_the_dashboard(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CIK_ECRF_PASSWORD", NURSE_PASSWORD)
    out = tmp_path / "dashboard.pdf"
    args = ["report", "--data-dir", str(demo), "--user", NURSE, "-o", str(out), "--today", TODAY.isoformat()]
    assert main(args) == 0
    assert "2 of 213 enrolled" in capsys.readouterr().out
    assert len(PdfReader(out).pages) == 1
    text = text_of(out)
    for expected in (
        "Study dashboard",
        "2 of 213",
        "Enrolment against the target of 213",
        "Screen failures by criterion",
        "Visits due and overdue",
        "Forms by status",
        "Queries and source data verification",
        "no query or SDV workflow",
    ):
        assert expected in text, expected


def test_report_in_chinese_and_same_bytes_for_same_data(demo: Path, study: Any) -> None:
    with Store.open(demo, NURSE, NURSE_PASSWORD, study) as store:
        data = dashboard(store, TODAY)
    chinese = render(data, study, "zh")
    assert chinese == render(data, study, "zh")  # invariant: a reprint of the same data is identical
    assert chinese != render(data, study, "en")


def test_report_refusals_are_one_line(
    demo: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CIK_ECRF_PASSWORD", "not-the-password")
    assert main(["report", "--data-dir", str(demo), "--user", NURSE, "-o", str(tmp_path / "x.pdf")]) == 1
    assert capsys.readouterr().err.strip() == "unknown user or wrong password"
    monkeypatch.setenv("CIK_ECRF_PASSWORD", NURSE_PASSWORD)
    target = tmp_path / "missing" / "x.pdf"
    assert main(["report", "--data-dir", str(demo), "--user", NURSE, "-o", str(target)]) == 1
    assert capsys.readouterr().err.startswith(f"{target}: cannot write the report")
