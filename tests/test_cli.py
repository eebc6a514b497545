"""The `cik-ecrf` command as a user runs it: a real subprocess, no traceback for user mistakes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cik_ecrf", *args], capture_output=True, text=True, cwd=cwd, timeout=120
    )


def test_help_lists_the_commands() -> None:
    result = run("--help")
    assert result.returncode == 0
    for command in ("forms", "eligibility", "init", "enter", "audit", "--demo"):
        assert command in result.stdout


def test_forms_check_shipped_forms_summary() -> None:
    result = run("forms", "check", "forms")
    assert result.returncode == 0, result.stderr
    line = result.stdout.strip()
    assert line.startswith("OK: 19 forms, ") and " fields, " in line and " rules" in line


def test_forms_check_default_directory_from_elsewhere(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "cik_ecrf", "forms", "check"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr


def test_forms_check_missing_directory(tmp_path: Path) -> None:
    result = run("forms", "check", str(tmp_path / "nope"))
    assert result.returncode == 1
    assert "no such directory" in result.stderr and "Traceback" not in result.stderr


def test_unknown_command_is_a_usage_error() -> None:
    result = run("frobnicate")
    assert result.returncode == 2 and "invalid choice" in result.stderr
