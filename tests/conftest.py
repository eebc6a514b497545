"""Shared fixtures: the shipped study, loaded once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Stores made by the tests derive their key-wrapping keys with argon2id at 8 MiB instead of the
# production 64 MiB, so that hundreds of logins stay fast; test_crypto checks the production default.
os.environ.setdefault("CIK_ECRF_KDF_MEMORY_KIB", "8192")

from cik_ecrf.definitions.loader import load_study
from cik_ecrf.definitions.spec import StudyDefinition
from cik_ecrf.rules import RulesEngine

ROOT = Path(__file__).resolve().parents[1]
FORMS = ROOT / "forms"


@pytest.fixture(scope="session")
def study() -> StudyDefinition:
    return load_study(FORMS)


@pytest.fixture(scope="session")
def engine(study: StudyDefinition) -> RulesEngine:
    return RulesEngine(study)


_EXIT_STATUS: list[int] = []


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _EXIT_STATUS.append(int(exitstatus))


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Leave the process as soon as pytest has reported, with the tests' verdict.

    Qt objects left to the interpreter's final garbage collection have crashed a run once after
    every test had passed (a shutdown-order problem between PySide6 and Python, not reproduced
    since). The verdict of a run is the verdict of its tests, so interpreter shutdown is skipped.
    """
    if _EXIT_STATUS and os.environ.get("QT_QPA_PLATFORM") == "offscreen":
        import sys

        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(_EXIT_STATUS[0])
