"""Visit windows from the schedule of events: when a visit is due and whether a date falls inside.

A visit outside its window is flagged, never blocked (crf-spec §1), so this returns a status for the
caller to show, not an error.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal

from .models import Visit

WindowStatus = Literal["early", "in window", "late"]


@dataclass(frozen=True)
class VisitWindow:
    visit: str
    target: dt.date
    earliest: dt.date
    latest: dt.date

    def status(self, date: dt.date) -> WindowStatus:
        if date < self.earliest:
            return "early"
        if date > self.latest:
            return "late"
        return "in window"


def visit_window(visit: Visit, anchors: dict[str, dt.date]) -> VisitWindow | None:
    """The window of one visit, or None when it has none or its anchor date is not known yet.

    `anchors` maps "consent", "eligibility" and "D0" (first infusion date) to dates. Study days
    count D0 as day 0, as the schedule does (D14 is 14 days after the infusion).
    """
    window = visit.window
    if window is None or window.day is None or window.anchor not in anchors:
        return None
    target = anchors[window.anchor] + dt.timedelta(days=window.day)
    return VisitWindow(
        visit.id, target, target - dt.timedelta(days=window.before), target + dt.timedelta(days=window.after)
    )
