"""The store's command line as a data manager scripts it: real subprocesses on a real store.

The whole flow runs once per module (subprocesses are slow); the error paths then run against that
store and check that each refusal is one clear stderr line, exit 1, no traceback, and nothing saved.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from eligibility_fixtures import BASE

from cik_ecrf.cli import main

ROOT = Path(__file__).resolve().parents[2]
ADMIN, ADMIN_PW = "admin", "Harbour2026x"
NURSE, NURSE_FIRST, NURSE_PW = "nurse.chen", "Provisional11", "Lantern4477q"
UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
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
SCREENING = {"consent": BASE["consent"], "demographics": BASE["demographics"]}


def cli(
    data_dir: Path,
    *args: str,
    user: str | None = None,
    password: str | None = None,
    new_password: str | None = None,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CIK_ECRF_") or k == "CIK_ECRF_KDF_MEMORY_KIB"}
    env["PYTHONIOENCODING"] = "utf-8"
    if password is not None:
        env["CIK_ECRF_PASSWORD"] = password
    if new_password is not None:
        env["CIK_ECRF_NEW_PASSWORD"] = new_password
    command = [sys.executable, "-m", "cik_ecrf", *args, "--data-dir", str(data_dir)]
    if user is not None:
        command += ["--user", user]
    return subprocess.run(
        command,
        input=stdin if stdin is not None else "",
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=ROOT,
        env=env,
        timeout=120,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    assert "Traceback" not in result.stderr
    return result.stdout


def nurse(data_dir: Path, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return cli(data_dir, *args, user=NURSE, password=NURSE_PW, **kwargs)


def in_parallel(
    *jobs: tuple[str, Callable[[], subprocess.CompletedProcess[str]]],
) -> dict[str, subprocess.CompletedProcess[str]]:
    """Independent commands at once: each costs ~1 s of imports, and they queue for the store's write lock."""
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(job) for name, job in jobs}
        return {name: future.result() for name, future in futures.items()}


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """init → user add → passwd → subject add → enter → show → eligibility → audit, all through the CLI."""
    base = tmp_path_factory.mktemp("cli")
    data = base / "store"
    out: dict[str, Any] = {"dir": data, "base": base}
    out["init"] = ok(cli(data, "init", "--site", "BJ01", "--admin", ADMIN, "--device-code", "T1", password=ADMIN_PW))
    out["user_add"] = ok(
        cli(
            data,
            "user",
            "add",
            NURSE,
            "--role",
            "nurse",
            "--full-name",
            "Chen Jing",
            user=ADMIN,
            password=ADMIN_PW,
            new_password=NURSE_FIRST,
        )
    )
    out["before_passwd"] = cli(data, "subject", "add", user=NURSE, password=NURSE_FIRST)
    out["passwd"] = ok(cli(data, "passwd", user=NURSE, password=NURSE_FIRST, new_password=NURSE_PW))
    out["subject"] = number = ok(nurse(data, "subject", "add")).strip()
    for form, values in SCREENING.items():
        path = base / f"{form}.json"
        path.write_text(json.dumps(values), encoding="utf-8")
        out[f"enter_{form}"] = ok(nurse(data, "enter", number, "screening", form, "--values", str(path))).strip()
    out["enter_vitals"] = ok(
        nurse(
            data,
            "enter",
            number,
            "D1",
            "vitals",
            "--values",
            "-",
            "--confirm-warnings",
            stdin=json.dumps({**VITALS, "TEMP": 40.5}),
        )
    ).strip()
    reads = in_parallel(
        ("show", lambda: nurse(data, "show", number)),
        ("show_json", lambda: nurse(data, "show", number, "--json")),
        ("eligibility", lambda: nurse(data, "eligibility", number, "--json")),
        ("audit_json", lambda: nurse(data, "audit", "log", "--json")),
        ("audit_subject", lambda: nurse(data, "audit", "log", number, "--json")),
    )
    out["show"] = ok(reads["show"])
    for name in ("show_json", "eligibility", "audit_json", "audit_subject"):
        out[name] = json.loads(ok(reads[name]))
    out["verify"] = cli(data, "audit", "verify", user=ADMIN, password=ADMIN_PW)
    return out


def test_init_user_add_passwd(flow: dict[str, Any]) -> None:
    assert "site BJ01" in flow["init"] and "device T1" in flow["init"]
    assert "nurse" in flow["user_add"] and NURSE in flow["user_add"]
    refused = flow["before_passwd"]  # a new user's first command, before passwd
    assert refused.returncode == 1 and "passwd" in refused.stderr and "Traceback" not in refused.stderr
    assert refused.stdout == ""
    assert "password changed" in flow["passwd"]


def test_subject_add_prints_the_number(flow: dict[str, Any]) -> None:
    assert flow["subject"] == "BJ01-T1-0001"  # the refused attempt before passwd used no number


def test_enter_prints_the_instance_id(flow: dict[str, Any]) -> None:
    ids = [flow["enter_consent"], flow["enter_demographics"], flow["enter_vitals"]]
    assert all(UUID.match(i) for i in ids), ids
    assert len(set(ids)) == 3


def test_show_text_and_json(flow: dict[str, Any]) -> None:
    text = flow["show"]
    assert text.splitlines()[0] == f"Subject {flow['subject']}"
    assert f"screening / demographics (v1.0, complete) {flow['enter_demographics']}" in text
    assert "    AGE = 12" in text and '    SUBJINIT = "AB"' in text and "    TEMP = 40.5" in text
    shown = flow["show_json"]
    assert shown["subject"] == flow["subject"]
    rows = {row["form"]: row for row in shown["forms"]}
    assert set(rows) == {"consent", "demographics", "vitals"}
    assert rows["demographics"]["values"] == BASE["demographics"]
    assert rows["demographics"]["derived"] == {"AGE": 12}
    assert rows["demographics"]["instance"] == flow["enter_demographics"]
    assert rows["consent"]["values"] == BASE["consent"]
    assert (rows["vitals"]["visit"], rows["vitals"]["status"], rows["vitals"]["version"]) == ("D1", "complete", "1.0")
    assert rows["vitals"]["values"]["TEMP"] == 40.5 and rows["vitals"]["instance"] == flow["enter_vitals"]


def test_eligibility_of_stored_subject_matches_values_file(
    flow: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    values = flow["base"] / "screening.json"
    values.write_text(json.dumps(SCREENING), encoding="utf-8")
    assert main(["eligibility", "--values", str(values), "--json"]) == 0  # the same verb, in-process
    given = json.loads(capsys.readouterr().out)
    stored = flow["eligibility"]
    assert set(stored) == set(given) == {"eligible", "criteria"}
    assert list(stored["criteria"]) == list(given["criteria"])
    assert all(set(c) == {"outcome", "values"} for c in stored["criteria"].values())
    assert stored == given
    assert stored["criteria"]["INCL03"]["outcome"] == "met" and stored["eligible"] is None


def test_audit_log_json(flow: dict[str, Any]) -> None:
    events = flow["audit_json"]
    kinds = [e["action"] for e in events]
    assert kinds[:2] == ["store_init", "user_add"]
    for action in ("login", "logout", "password_change", "subject_add", "form_create", "value_set"):
        assert action in kinds, action
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    added = [json.loads(e["new_json"]) for e in events if e["action"] == "user_add"]
    assert {"username": NURSE, "role": "nurse", "full_name": "Chen Jing"} in added
    change = [e for e in events if e["action"] == "password_change"]
    assert [(e["username"], e["role"]) for e in change] == [(NURSE, "nurse")]
    subject_events = flow["audit_subject"]
    assert subject_events and {e["subject_id"] for e in subject_events} == {subject_events[0]["subject_id"]}
    assert {e["form_id"] for e in subject_events if e["form_id"]} == {"consent", "demographics", "vitals"}
    temp = [e for e in subject_events if e["field_id"] == "TEMP"]
    assert json.loads(temp[0]["new_json"]) == 40.5 and "TEMP:soft_range" in json.loads(temp[0]["confirmed_json"])
    assert all(e["username"] == NURSE and e["device_id"] == events[0]["device_id"] for e in subject_events)


def test_audit_verify(flow: dict[str, Any]) -> None:
    result = flow["verify"]
    assert result.returncode == 0, result.stderr
    assert re.match(r"audit trail intact: \d+ events", result.stdout)


# ---------------------------------------------------------------------------- refusals


def _refused(result: subprocess.CompletedProcess[str]) -> list[str]:
    assert result.returncode == 1, f"exit {result.returncode}\nstdout: {result.stdout}\nstderr: {result.stderr}"
    assert "Traceback" not in result.stderr and result.stderr.strip()
    assert result.stdout == ""
    return result.stderr.strip().splitlines()


def test_refusals_print_clear_lines_and_save_nothing(flow: dict[str, Any]) -> None:
    data, number, base = flow["dir"], flow["subject"], flow["base"]
    files = {
        "vitals": json.dumps(VITALS),
        "bad": '{\n  "TEMP": 36.5,\n  "HR": \n}\n',
        "hot": json.dumps({**VITALS, "TEMP": 50}),
        "partial": json.dumps({k: v for k, v in VITALS.items() if k != "HR"}),
        "change": json.dumps({"SEX": "F", "CHILDPOT": "N"}),
    }
    for name, text in files.items():
        (base / f"{name}.json").write_text(text, encoding="utf-8")

    def enter(visit: str, form: str, name: str, *extra: str, subject: str = number) -> Callable[[], Any]:
        return lambda: nurse(data, "enter", subject, visit, form, "--values", str(base / f"{name}.json"), *extra)

    results = in_parallel(
        ("wrong_password", lambda: cli(data, "show", number, user=NURSE, password="Wrong2026pass")),
        ("no_user", lambda: cli(data, "subject", "add", password=NURSE_PW)),
        ("unknown_subject", enter("D1", "vitals", "vitals", subject="BJ01-T1-9999")),
        ("malformed", enter("D2", "vitals", "bad")),
        ("hard_range", enter("D2", "vitals", "hot")),
        ("required", enter("D2", "vitals", "partial")),
        ("no_reason", enter("screening", "demographics", "change")),
    )
    assert _refused(results["wrong_password"]) == ["error: unknown user or wrong password"]
    assert _refused(results["no_user"]) == ["error: --user is required"]
    lines = _refused(results["unknown_subject"])
    assert len(lines) == 1 and lines[0].startswith("error: ") and "no subject 'BJ01-T1-9999'" in lines[0]
    lines = _refused(results["malformed"])
    assert len(lines) == 1 and re.search(r"bad\.json:4:1: malformed JSON", lines[0]), lines
    lines = _refused(results["hard_range"])
    assert lines == [line for line in lines if line.startswith("TEMP: ")] and len(lines) == 1, lines
    assert "45" in lines[0]
    assert _refused(results["required"]) == ["HR: required"]
    lines = _refused(results["no_reason"])
    assert any(line.startswith("reason: ") and "--reason" in line for line in lines), lines

    after = in_parallel(
        ("show", lambda: nurse(data, "show", number, "--json")),
        ("verify", lambda: cli(data, "audit", "verify", user=ADMIN, password=ADMIN_PW)),
    )
    assert json.loads(ok(after["show"])) == flow["show_json"]
    assert "intact" in ok(after["verify"])
