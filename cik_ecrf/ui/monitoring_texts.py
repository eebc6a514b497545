"""The monitoring screens' texts (queries, source-data verification, locks) and how they show a status.

One context for every monitoring widget, so the Chinese catalogue keeps them together; the status
colours are one table so the field badge, the worklist and the subject panel agree.
"""

from __future__ import annotations

import datetime as dt

from PySide6.QtCore import QT_TRANSLATE_NOOP

from .texts import translator

CONTEXT = "Monitoring"
TEXTS = {
    # statuses and kinds
    "open": QT_TRANSLATE_NOOP("Monitoring", "open"),
    "answered": QT_TRANSLATE_NOOP("Monitoring", "answered"),
    "closed": QT_TRANSLATE_NOOP("Monitoring", "closed"),
    "closed_modified": QT_TRANSLATE_NOOP("Monitoring", "closed, data changed"),
    "manual": QT_TRANSLATE_NOOP("Monitoring", "raised by a monitor"),
    "review": QT_TRANSLATE_NOOP("Monitoring", "warning marked for review"),
    "conflict": QT_TRANSLATE_NOOP("Monitoring", "sync conflict"),
    # thread steps
    "step_open": QT_TRANSLATE_NOOP("Monitoring", "opened the query"),
    "step_open_review": QT_TRANSLATE_NOOP("Monitoring", "marked a warning for review"),
    "step_conflict_open": QT_TRANSLATE_NOOP("Monitoring", "recorded a sync conflict"),
    "step_answer": QT_TRANSLATE_NOOP("Monitoring", "answered"),
    "step_close": QT_TRANSLATE_NOOP("Monitoring", "closed the query"),
    "step_reopen": QT_TRANSLATE_NOOP("Monitoring", "reopened the query"),
    "step_conflict_resolved": QT_TRANSLATE_NOOP("Monitoring", "recorded the conflict as resolved"),
    "step_modified": QT_TRANSLATE_NOOP("Monitoring", "the data changed after closing"),
    "correction": QT_TRANSLATE_NOOP("Monitoring", "with a correction of the value"),
    "reason": QT_TRANSLATE_NOOP("Monitoring", "Reason"),
    # badges and header
    "badge_tip": QT_TRANSLATE_NOOP("Monitoring", "{n} query(ies): {statuses}. Click to read the thread."),
    "form_queries": QT_TRANSLATE_NOOP("Monitoring", "Form queries"),
    "visit_queries": QT_TRANSLATE_NOOP("Monitoring", "Visit queries"),
    "no_queries": QT_TRANSLATE_NOOP("Monitoring", "No queries on this form"),
    "sdv_verified": QT_TRANSLATE_NOOP("Monitoring", "verified"),
    "sdv_dropped": QT_TRANSLATE_NOOP("Monitoring", "verification dropped"),
    "sdv_form_verified": QT_TRANSLATE_NOOP("Monitoring", "Source data verified by {user} on {when}"),
    "sdv_form_dropped": QT_TRANSLATE_NOOP("Monitoring", "Verification dropped: the data changed after it was verified"),
    "sdv_fields": QT_TRANSLATE_NOOP("Monitoring", "{n} field(s) verified"),
    "sdv_field_tip": QT_TRANSLATE_NOOP("Monitoring", "Source-data verification of this field: {state}"),
    "locked_by": QT_TRANSLATE_NOOP("Monitoring", "Locked by {user} on {when} ({scope}): read-only"),
    "scope_form": QT_TRANSLATE_NOOP("Monitoring", "this form"),
    "scope_visit": QT_TRANSLATE_NOOP("Monitoring", "the whole visit"),
    "scope_subject": QT_TRANSLATE_NOOP("Monitoring", "the whole subject"),
    "scope_field": QT_TRANSLATE_NOOP("Monitoring", "field"),
    # actions
    "open_query": QT_TRANSLATE_NOOP("Monitoring", "Open query…"),
    "open_query_field": QT_TRANSLATE_NOOP("Monitoring", "Open a query on this field…"),
    "verify_form": QT_TRANSLATE_NOOP("Monitoring", "Verify form"),
    "verify_field": QT_TRANSLATE_NOOP("Monitoring", "Verify this field"),
    "verify_visit": QT_TRANSLATE_NOOP("Monitoring", "Verify visit"),
    "lock": QT_TRANSLATE_NOOP("Monitoring", "Lock"),
    "unlock": QT_TRANSLATE_NOOP("Monitoring", "Unlock…"),
    "only_monitor_verifies": QT_TRANSLATE_NOOP("Monitoring", "SDV rule: only a monitor verifies source data"),
    "only_dm_locks": QT_TRANSLATE_NOOP("Monitoring", "lock rule: only a data manager locks or unlocks"),
    "wider_lock": QT_TRANSLATE_NOOP(
        "Monitoring", "lock rule: the lock covers more than this form; unlock it from the subject view"
    ),
    "not_entered": QT_TRANSLATE_NOOP("Monitoring", "Nothing is entered on this form yet"),
    "answer": QT_TRANSLATE_NOOP("Monitoring", "Answer"),
    "close": QT_TRANSLATE_NOOP("Monitoring", "Close query"),
    "reopen": QT_TRANSLATE_NOOP("Monitoring", "Reopen"),
    "with_correction": QT_TRANSLATE_NOOP("Monitoring", "Answer with a correction of the value:"),
    "your_text": QT_TRANSLATE_NOOP(
        "Monitoring", "Your text (the explanation, the reason for a correction or for reopening):"
    ),
    "needs_text": QT_TRANSLATE_NOOP("Monitoring", "Please write a text first."),
    "thread_title": QT_TRANSLATE_NOOP("Monitoring", "Query thread"),
    "about": QT_TRANSLATE_NOOP("Monitoring", "{scope} · {status} · {kind}"),
    "query_text": QT_TRANSLATE_NOOP("Monitoring", "Text of the query:"),
    "target": QT_TRANSLATE_NOOP("Monitoring", "About:"),
    "whole_form": QT_TRANSLATE_NOOP("Monitoring", "the whole form"),
    "whole_visit": QT_TRANSLATE_NOOP("Monitoring", "the whole visit"),
    "unlock_title": QT_TRANSLATE_NOOP("Monitoring", "Unlock"),
    "unlock_reason": QT_TRANSLATE_NOOP(
        "Monitoring", "Why is it unlocked? Unlocking voids the signatures over what is unlocked."
    ),
    "done": QT_TRANSLATE_NOOP("Monitoring", "Done"),
    "cancel": QT_TRANSLATE_NOOP("Monitoring", "Cancel"),
    "loading": QT_TRANSLATE_NOOP("Monitoring", "Loading…"),
    # lists
    "col_subject": QT_TRANSLATE_NOOP("Monitoring", "Subject"),
    "col_visit": QT_TRANSLATE_NOOP("Monitoring", "Visit"),
    "col_form": QT_TRANSLATE_NOOP("Monitoring", "Form"),
    "col_field": QT_TRANSLATE_NOOP("Monitoring", "Field"),
    "col_status": QT_TRANSLATE_NOOP("Monitoring", "Status"),
    "col_age": QT_TRANSLATE_NOOP("Monitoring", "Age (days)"),
    "col_by": QT_TRANSLATE_NOOP("Monitoring", "Opened by"),
    "col_text": QT_TRANSLATE_NOOP("Monitoring", "Query"),
    "col_steps": QT_TRANSLATE_NOOP("Monitoring", "Steps"),
    "queries": QT_TRANSLATE_NOOP("Monitoring", "Queries"),
    "queries_tip": QT_TRANSLATE_NOOP("Monitoring", "The site's data queries: the monitor's worklist"),
    "all_statuses": QT_TRANSLATE_NOOP("Monitoring", "All statuses"),
    "active": QT_TRANSLATE_NOOP("Monitoring", "Needing work (open or answered)"),
    "all_forms": QT_TRANSLATE_NOOP("Monitoring", "All forms"),
    "older_than": QT_TRANSLATE_NOOP("Monitoring", "Older than"),
    "any_age": QT_TRANSLATE_NOOP("Monitoring", "any age"),
    "days": QT_TRANSLATE_NOOP("Monitoring", " days"),
    "subject_filter": QT_TRANSLATE_NOOP("Monitoring", "Subject number…"),
    "refresh": QT_TRANSLATE_NOOP("Monitoring", "Refresh"),
    "shown": QT_TRANSLATE_NOOP("Monitoring", "{shown} of {total} queries · double-click opens the form at the field"),
    "counts": QT_TRANSLATE_NOOP("Monitoring", "{open} open · {answered} answered"),
    "counts_tip": QT_TRANSLATE_NOOP("Monitoring", "Queries of this subject: {detail}"),
    "sdv_progress": QT_TRANSLATE_NOOP("Monitoring", "Source-data verification: {verified} of {forms} forms verified"),
    "sdv_visit": QT_TRANSLATE_NOOP("Monitoring", "{verified}/{forms} verified"),
    "sdv_visit_dropped": QT_TRANSLATE_NOOP("Monitoring", "{verified}/{forms} verified, {dropped} dropped"),
    "subject_queries": QT_TRANSLATE_NOOP("Monitoring", "Queries of this subject"),
    "lock_subject": QT_TRANSLATE_NOOP("Monitoring", "Lock subject"),
    "lock_visit": QT_TRANSLATE_NOOP("Monitoring", "Lock visit"),
    "unlock_subject": QT_TRANSLATE_NOOP("Monitoring", "Unlock subject…"),
    "choose_visit": QT_TRANSLATE_NOOP("Monitoring", "Select a visit's row in the schedule first"),
    "sdv_fields_dropped": QT_TRANSLATE_NOOP("Monitoring", "{n} field verification(s) dropped"),
    "role_nurse": QT_TRANSLATE_NOOP("Monitoring", "research nurse"),
    "role_investigator": QT_TRANSLATE_NOOP("Monitoring", "investigator"),
    "role_monitor": QT_TRANSLATE_NOOP("Monitoring", "monitor"),
    "role_data_manager": QT_TRANSLATE_NOOP("Monitoring", "data manager"),
    "role_admin": QT_TRANSLATE_NOOP("Monitoring", "administrator"),
    "role_server": QT_TRANSLATE_NOOP("Monitoring", "central server"),
}

_t = translator(CONTEXT, TEXTS)

#: (background, text) per query status: red needs the site, amber needs the monitor, green is done,
#: purple is done but the data moved since
STATUS_COLOURS = {
    "open": ("#b02a37", "#ffffff"),
    "answered": ("#b35c00", "#ffffff"),
    "closed": ("#198754", "#ffffff"),
    "closed_modified": ("#6f42c1", "#ffffff"),
}
#: which status a badge with several queries takes: the one that most needs someone
URGENCY = ("open", "answered", "closed_modified", "closed")


def mtext(key: str, language: str) -> str:
    """The monitoring text `key` in `language`."""
    return _t(key, language)


def role_text(role: str | None, language: str) -> str:
    """A role as people say it ("research nurse"); an unknown one as it is."""
    if not role:
        return ""
    return mtext(f"role_{role}", language) if f"role_{role}" in TEXTS else role


def worst_status(statuses: list[str]) -> str:
    return min(statuses, key=lambda s: URGENCY.index(s) if s in URGENCY else len(URGENCY))


def local_time(at_utc: str, offset_min: int | None = None) -> str:
    """ "2026-11-26 09:43 (UTC+08:00)": the time where it was done (its recorded offset), else this machine's."""
    try:
        moment = dt.datetime.fromisoformat(at_utc)
    except (TypeError, ValueError):
        return at_utc or ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    zone = dt.timezone(dt.timedelta(minutes=offset_min)) if offset_min is not None else None
    local = moment.astimezone(zone)
    offset = local.utcoffset() or dt.timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    return f"{local:%Y-%m-%d %H:%M} (UTC{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d})"
