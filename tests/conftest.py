"""Shared fixtures: the shipped study, loaded once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

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
