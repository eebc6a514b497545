from __future__ import annotations

import datetime as dt

from cik_ecrf.definitions.schedule import visit_window
from cik_ecrf.definitions.spec import StudyDefinition

D0 = dt.date(2026, 3, 1)


def test_day_28_window_is_plus_minus_three(study: StudyDefinition) -> None:
    window = visit_window(study.visit("D28"), {"D0": D0})
    assert window is not None
    assert (window.target, window.earliest, window.latest) == (
        dt.date(2026, 3, 29),
        dt.date(2026, 3, 26),
        dt.date(2026, 4, 1),
    )
    assert window.status(dt.date(2026, 3, 25)) == "early"
    assert window.status(dt.date(2026, 3, 26)) == "in window"
    assert window.status(dt.date(2026, 4, 1)) == "in window"
    assert window.status(dt.date(2026, 4, 2)) == "late"


def test_daily_visits_have_no_slack(study: StudyDefinition) -> None:
    window = visit_window(study.visit("D3"), {"D0": D0})
    assert window is not None and window.earliest == window.latest == dt.date(2026, 3, 4)


def test_year_visits(study: StudyDefinition) -> None:
    window = visit_window(study.visit("Y15"), {"D0": D0})
    assert window is not None and window.target == D0 + dt.timedelta(days=365 * 15)
    assert window.latest - window.target == dt.timedelta(days=60)


def test_unknown_anchor_or_no_window(study: StudyDefinition) -> None:
    assert visit_window(study.visit("D28"), {}) is None
    assert visit_window(study.visit("unscheduled"), {"D0": D0}) is None
    assert visit_window(study.visit("subject"), {"D0": D0}) is None


def test_screening_window_before_infusion(study: StudyDefinition) -> None:
    window = visit_window(study.visit("screening"), {"D0": D0})
    assert window is not None
    assert window.earliest == D0 - dt.timedelta(days=42) and window.latest == D0 - dt.timedelta(days=15)
