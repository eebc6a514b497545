"""The ward-round screens on a full study: one subject's schedule with every visit entered, and the
study dashboard of a 213-subject store.

Run: python bench/bench_dashboard.py [--subjects 213] [--runs 15]
Builds the store with bench_store's generator (every visit from screening to Y15 entered for each
subject); then, so most subjects are still followed up rather than ended, removes the end-of-study
and death forms of four subjects in five. Prints medians and p95s, and ratios against baselines
measured in the same run on the same store; asserts nothing.
Issue targets: the schedule opens in < 100 ms; the dashboard is ready in < 500 ms (off the UI thread).

  schedule      as `SubjectView.refresh` does it: `overview.schedule_grid` without the rules
                (statuses, windows) and `SubjectView._loaded` (the UI thread fills the grid, the
                frozen column, the logs): the schedule is shown; then a second read counts every
                instance's open warnings with the rules engine and the grid is filled again
  baseline      `Store.subject_values` of the same subject: reading its stored rows, nothing more
  dashboard     `reporting.dashboard` (subject list, enrolment, screen failures, visits, forms)
  baseline      `overview.subject_rows`: the subject list the client opens first anyway
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))
sys.path.insert(0, str(ROOT))

from bench_store import LIGHT_KIB, NURSE_PW2, generate, make_store  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from cik_ecrf.definitions.loader import load_study  # noqa: E402
from cik_ecrf.reporting.dashboard import dashboard  # noqa: E402
from cik_ecrf.store.api import Store  # noqa: E402
from cik_ecrf.store.overview import schedule_grid, subject_rows  # noqa: E402
from cik_ecrf.ui.subject_view import SubjectView  # noqa: E402
from cik_ecrf.ui.worker import StoreWorker  # noqa: E402


def _interleaved(calls: dict[str, Callable[[], Any]], runs: int) -> dict[str, list[float]]:
    """Each call once per round, in turn, so a busy shared machine slows them alike (fair ratios)."""
    for call in calls.values():
        call()
    out: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(runs):
        for name, call in calls.items():
            started = time.perf_counter()
            call()
            out[name].append(time.perf_counter() - started)
    return out


def _q95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def _ms(values: list[float]) -> str:
    return f"median {statistics.median(values) * 1000:7.1f} ms, p95 {_q95(values) * 1000:7.1f} ms"


def _reopen_follow_up(store: Store) -> int:
    """Four subjects in five back in follow-up: their end-of-study and death forms removed (bench only)."""
    with store.unit_of_work() as session:
        conn = session.connection()
        ended = [
            r[0]
            for r in conn.exec_driver_sql(
                "SELECT DISTINCT v.subject_id FROM visit v JOIN form_instance i ON i.visit_pk = v.id "
                "WHERE i.form_id IN ('end_of_study', 'death') ORDER BY v.subject_id"
            )
        ]
        reopened = [s for n, s in enumerate(ended) if n % 5]
        for subject in reopened:
            ids = [
                r[0]
                for r in conn.exec_driver_sql(
                    "SELECT i.id FROM form_instance i JOIN visit v ON v.id = i.visit_pk "
                    "WHERE v.subject_id = ? AND i.form_id IN ('end_of_study', 'death')",
                    (subject,),
                )
            ]
            for instance in ids:
                conn.exec_driver_sql("DELETE FROM field_value WHERE instance_id = ?", (instance,))
                conn.exec_driver_sql("DELETE FROM form_instance WHERE id = ?", (instance,))
    return len(reopened)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=213)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([])
    study = load_study()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "store"
        make_store(directory, {"nurse": LIGHT_KIB})
        os.environ["CIK_ECRF_KDF_MEMORY_KIB"] = LIGHT_KIB
        store = Store.open(directory, "nurse", NURSE_PW2, study)
        started = time.perf_counter()
        instances, values, _events = generate(store, study, args.subjects)
        reopened = _reopen_follow_up(store)
        print(
            f"store: {args.subjects} subjects, {instances} form instances, {values} values "
            f"(built in {time.perf_counter() - started:.1f} s); {reopened} subjects put back in follow-up"
        )
        today = dt.date(2026, 11, 26)
        number = store.subject_numbers()[0]
        grid = schedule_grid(store, number, today)
        entered = sum(1 for row in grid.rows for cell in row.cells if cell.instances)
        print(f"schedule of {number}: {len(grid.rows)} visits, {entered} forms entered, {len(grid.logs)} logs")

        worker = StoreWorker()
        view = SubjectView(store, worker, number, "en", today=lambda: today)
        view.resize(1366, 700)
        view.show()
        app.processEvents()

        timed = _interleaved(
            {
                "quick": lambda: schedule_grid(store, number, today, with_warnings=False),
                "full": lambda: schedule_grid(store, number, today),
                "fill": lambda: (view._loaded(grid), app.processEvents()),
                "base": lambda: store.subject_values(number),
            },
            args.runs,
        )
        quick, compute, fill, base_subject = timed["quick"], timed["full"], timed["fill"], timed["base"]
        shown = [a + b for a, b in zip(quick, fill, strict=True)]
        marked = [a + b + c for a, b, c in zip(quick, compute, fill, strict=True)]
        print("\n1. opening a subject's schedule (every visit entered)")
        print(f"   statuses (schedule_grid, no rules)  {_ms(quick)}   worker")
        print(f"   open warnings counted by the rules  {_ms(compute)}   worker, second read")
        print(f"   filling the view                    {_ms(fill)}   UI thread")
        print(f"   schedule shown: statuses + fill     {_ms(shown)}   (target < 100 ms)")
        print(f"   warning marks in: both reads + fill {_ms(marked)}")
        print(f"   baseline Store.subject_values       {_ms(base_subject)}")
        print(
            f"   ratio shown / baseline: {statistics.median(shown) / statistics.median(base_subject):.2f}x; "
            f"warning marks in / baseline: {statistics.median(marked) / statistics.median(base_subject):.2f}x"
        )

        timed = _interleaved(
            {"board": lambda: dashboard(store, today), "rows": lambda: subject_rows(store, today)}, args.runs
        )
        board, base_rows = timed["board"], timed["rows"]
        data = dashboard(store, today)
        print(f"\n2. the study dashboard of {args.subjects} subjects")
        print(f"   reporting.dashboard                 {_ms(board)}   (target < 500 ms, on the worker)")
        print(f"   baseline overview.subject_rows      {_ms(base_rows)}")
        print(f"   ratio dashboard / subject list: {statistics.median(board) / statistics.median(base_rows):.2f}x")
        print(
            f"   counted: {data.enrolment.enrolled} enrolled, {data.visits.overdue} visits overdue, "
            f"{data.forms.total} forms ({dict(data.forms.counts)})"
        )
        view.close()
        worker.shutdown()
        store.close()


if __name__ == "__main__":
    main()
