"""Evaluation of form values against their definitions: pure Python, no Qt, results as data."""

from .env import Clock, SubjectData
from .results import CriterionResult, Delta, EligibilityResult, FormEvaluation, Issue
from .session import FormSession, RulesEngine

__all__ = [
    "Clock",
    "CriterionResult",
    "Delta",
    "EligibilityResult",
    "FormEvaluation",
    "FormSession",
    "Issue",
    "RulesEngine",
    "SubjectData",
]
