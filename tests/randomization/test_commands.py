"""The server's randomization commands: who may generate, verify and export, what each prints, and
the audit of each export; the pharmacy's files."""

from __future__ import annotations

import contextlib
import csv
import io
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import select
from sqlalchemy.orm import Session
from trial import PW, Trial

from cik_ecrf.cli import main
from cik_ecrf.server.randomization.models import RandAudit


def _run(argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, out.getvalue(), err.getvalue()


def test_generate_verify_and_export_need_an_unblinded_role(
    trial: Trial, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CIK_ECRF_PASSWORD", PW)
    db = ["--database-url", trial.url]
    code, out, err = _run(["server", "randomization", "generate", "--user", "inv1", *db])
    assert code == 1 and "an investigator cannot generate" in err
    code, out, err = _run(["server", "randomization", "generate", "--user", "stat1", *db])
    assert code == 0, err
    assert "SHA-256" in out and " slots" in out
    code, out, err = _run(["server", "randomization", "verify", "--user", "pharm1", *db])
    assert code == 0 and out.strip().endswith("OK"), out + err
    code, out, err = _run(
        [
            "server",
            "randomization",
            "export",
            "--role",
            "pharmacist",
            "-o",
            str(tmp_path / "x.csv"),
            "--user",
            "dm1",
            *db,
        ]
    )
    assert code == 1 and "cannot export" in err
    code, out, err = _run(
        [
            "server",
            "randomization",
            "export",
            "--role",
            "pharmacist",
            "-o",
            str(tmp_path / "x.csv"),
            "--user",
            "stat1",
            *db,
        ]
    )
    assert code == 1, "the user must hold the role named"
    for name in ("codes.csv", "codes.pdf"):
        code, out, err = _run(
            [
                "server",
                "randomization",
                "export",
                "--role",
                "pharmacist",
                "-o",
                str(tmp_path / name),
                "--user",
                "pharm1",
                *db,
            ]
        )
        assert code == 0, err
    code, out, err = _run(
        [
            "server",
            "randomization",
            "export",
            "--role",
            "pharmacist",
            "--codebreak",
            "-o",
            str(tmp_path / "sheets.pdf"),
            "--user",
            "pharm1",
            *db,
        ]
    )
    assert code == 0, err
    rows = list(csv.DictReader(io.StringIO((tmp_path / "codes.csv").read_text(encoding="utf-8-sig"))))
    assert {r["arm"] for r in rows} == {"CONTROL", "CIK", "MRNA_CIK"}
    assert len({r["prodid"] for r in rows}) == len(rows)
    text_ = "\n".join(p.extract_text() for p in PdfReader(tmp_path / "codes.pdf").pages)
    assert all(r["prodid"] in text_ for r in rows[:20])
    sheets = PdfReader(tmp_path / "sheets.pdf")
    assert len(sheets.pages) == -(-len(rows) // 8)
    with Session(trial.engine) as session:
        audit = [(a.action, a.username) for a in session.scalars(select(RandAudit).order_by(RandAudit.seq))]
    assert ("list_verified", "pharm1") in audit
    assert audit.count(("list_exported", "pharm1")) == 2 and ("codebreak_sheets_printed", "pharm1") in audit
    code, out, err = _run(
        [
            "server",
            "randomization",
            "export",
            "--role",
            "pharmacist",
            "-o",
            str(tmp_path / "x.txt"),
            "--user",
            "pharm1",
            *db,
        ]
    )
    assert code == 1 and err.startswith("error: ") and "Traceback" not in err
