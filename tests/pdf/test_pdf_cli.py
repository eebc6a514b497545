"""`cik-ecrf sign` and `cik-ecrf pdf` as a user runs them: real subprocesses on a real store."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from cik_ecrf.store.api import Store
from tests.store.test_signatures import NURSE, PI, PI_NAME, PI_PW, signing_store

ROOT = Path(__file__).resolve().parents[2]


def cli(
    data_dir: Path, *args: str, user: str | None = None, password: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIK_ECRF_") or k == "CIK_ECRF_KDF_MEMORY_KIB"}
    env["PYTHONIOENCODING"] = "utf-8"
    if password is not None:
        env["CIK_ECRF_PASSWORD"] = password
    command = [sys.executable, "-m", "cik_ecrf", *args, "--data-dir", str(data_dir)]
    if user is not None:
        command += ["--user", user]
    return subprocess.run(
        command, input="", capture_output=True, text=True, encoding="utf-8", cwd=ROOT, env=env, timeout=120, check=False
    )


def refused(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory, study: Any) -> tuple[Path, str]:
    directory = tmp_path_factory.mktemp("cli") / "store"
    return directory, signing_store(directory, study)


def test_sign_print_verify_then_a_change_fails_verification(
    store: tuple[Path, str], tmp_path: Path, study: Any
) -> None:
    directory, number = store
    signed = cli(directory, "sign", number, "screening", "vitals", "--meaning", "review", user=PI, password=PI_PW)
    assert signed.returncode == 0, signed.stderr
    assert (
        f"as {PI_NAME} (investigator)" in signed.stdout
        and "meaning: I have reviewed the content of this record." in signed.stdout
    )
    digest = signed.stdout.split("content SHA-256: ")[1].strip()
    out = tmp_path / "vitals.pdf"
    printed = cli(directory, "pdf", number, "screening", "vitals", "-o", str(out), user=PI, password=PI_PW)
    assert printed.returncode == 0, printed.stderr
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(out.read_bytes())).pages)
    assert digest in text and "I have reviewed the content of this record." in text and "Page 1 of " in text
    good = cli(directory, "pdf", "verify", str(out), user=NURSE[0], password=NURSE[2])
    assert good.returncode == 0, good.stderr
    assert (
        "matches the store" in good.stdout
        and f"{PI_NAME} (investigator), review" in good.stdout
        and ": valid" in good.stdout
    )
    values = tmp_path / "change.json"
    values.write_text('{"RESP": 22}', encoding="utf-8")
    changed = cli(
        directory,
        "enter",
        number,
        "screening",
        "vitals",
        "--values",
        str(values),
        "--reason",
        "recounted",
        user=NURSE[0],
        password=NURSE[2],
    )
    assert changed.returncode == 0, changed.stderr
    bad = cli(directory, "pdf", "verify", str(out), user=NURSE[0], password=NURSE[2])
    assert bad.returncode == 1
    assert (
        "NO LONGER MATCHES" in bad.stderr
        and "CLEARED (needs re-signing)" in bad.stdout
        and "Traceback" not in bad.stderr
    )
    with Store.open(directory, PI, PI_PW, study=study) as pi:
        assert [s.active for s in pi.signatures(number) if s.form == "vitals"] == [False]


def test_a_nurse_cannot_sign_from_the_command_line(store: tuple[Path, str]) -> None:
    directory, number = store
    refused(
        cli(directory, "sign", number, "screening", "--meaning", "author", user=NURSE[0], password=NURSE[2]),
        "a nurse cannot sign",
    )


def test_user_mistakes_are_one_line_and_exit_1(store: tuple[Path, str], tmp_path: Path) -> None:
    directory, number = store
    refused(
        cli(directory, "sign", number, "screening", "labs", "--meaning", "author", user=PI, password="Wrong-pass-2026"),
        "unknown user or wrong password",
    )
    refused(cli(directory, "sign", "NOPE-1", "--meaning", "author", user=PI, password=PI_PW), "no subject 'NOPE-1'")
    refused(
        cli(directory, "pdf", number, "D99", "-o", str(tmp_path / "x.pdf"), user=PI, password=PI_PW),
        "unknown visit 'D99'",
    )
    refused(cli(directory, "pdf", number, user=PI, password=PI_PW), "-o FILE.pdf")
    refused(
        cli(directory, "pdf", "verify", str(tmp_path / "missing.pdf"), user=PI, password=PI_PW),
        "missing.pdf: cannot read",
    )
    (tmp_path / "text.pdf").write_text("not a pdf", encoding="utf-8")
    refused(
        cli(directory, "pdf", "verify", str(tmp_path / "text.pdf"), user=PI, password=PI_PW),
        "text.pdf: not a readable PDF",
    )
    assert not (tmp_path / "x.pdf").exists()


def test_the_blank_crf_set_needs_no_store(tmp_path: Path) -> None:
    out = tmp_path / "blank.pdf"
    result = cli(tmp_path / "no-store-here", "pdf", "--blank", "-o", str(out))
    assert result.returncode == 0, result.stderr
    reader = PdfReader(io.BytesIO(out.read_bytes()))
    assert len(reader.pages) >= 19 and "(vitals) v1.0" in "\n".join(p.extract_text() for p in reader.pages)
