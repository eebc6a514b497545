"""The process the crash test kills: it logs in to a real store and saves forms until it is killed.

    python crash_child.py STORE_DIR [--pause-at open_engine|forget_pending]

The user is `nurse1` (or CRASH_CHILD_USER), the password comes from CIK_ECRF_PASSWORD. Output, one
line each, flushed:

    OPENING                              before the login
    READY                                logged in (the first save starts right after)
    SQL <VERB>                           before each statement and commit of a save (so that a kill
                                         can be aimed between the statements of one transaction)
    COMMITTED <instance_id> <n_fields>   printed only after `store.save(...)` has returned
    REVISED <instance_id>                a correction (two fields, with a reason) has returned

Every save of a new adverse event writes exactly the fields in FIELDS; every third event is then
corrected: AETERM gets REVISED_SUFFIX and AEOUT becomes "RECOVERED" in one save. So a form on disk
with fewer fields, or with only one of the two corrected values, is a half-saved form.

--pause-at stops the login, prints PAUSED and waits on stdin so that the parent can kill it exactly
there: `open_engine` is after the key was unwrapped (keyring read and rewritten) and before the
database is opened; `forget_pending` is after the login transaction (which copies earlier failed
logins into the audit trail) committed and before those are removed from keyring.json.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

FORM, VISIT = "adverse_events", "subject"
BASE = {
    "AETERM": None,  # "AE <pid>-<i>", set per save
    "AECAT": "OTHER",
    "AESTDAT": "2024-05-01",
    "AEONGO": "Y",
    "AETOXGR": 1,
    "AESER": "N",
    "AEREL": "UNLIKELY",
    "AEOUT": "RECOVERING",
}
FIELDS = frozenset(BASE)
REVISED_SUFFIX = " (revised)"
REVISED_OUTCOME = "RECOVERED"
REVISE_EVERY = 3
REASON = "corrected after source document review"


def _pause_at(point: str, api: Any) -> None:
    """Stop the login at `point`: print PAUSED and wait on stdin (the parent kills us instead)."""
    owner = {"open_engine": api, "forget_pending": api.access}[point]
    real = getattr(owner, point)

    def paused(*args: object, **kwargs: object) -> object:
        print("PAUSED", flush=True)
        sys.stdin.readline()  # the parent never writes
        return real(*args, **kwargs)

    setattr(owner, point, paused)


def main(argv: list[str]) -> int:
    directory = Path(argv[1])
    user = os.environ.get("CRASH_CHILD_USER", "nurse1")
    password = os.environ["CIK_ECRF_PASSWORD"]

    from sqlalchemy import event

    from cik_ecrf.store import api
    from cik_ecrf.store.entry import SaveRequest

    if "--pause-at" in argv:
        _pause_at(argv[argv.index("--pause-at") + 1], api)

    print("OPENING", flush=True)
    store = api.Store.open(directory, user, password)
    subject = store.subject_numbers()[0]

    @event.listens_for(store.engine, "before_cursor_execute")
    def _statement(conn: object, cursor: object, statement: str, *args: object) -> None:
        print(f"SQL {statement.split(None, 1)[0].upper()}", flush=True)

    @event.listens_for(store.engine, "commit")
    def _commit(conn: object) -> None:
        print("SQL COMMIT", flush=True)

    print("READY", flush=True)
    tag = os.getpid()
    for i in range(100_000):
        values = {**BASE, "AETERM": f"AE {tag}-{i}"}
        result = store.save(SaveRequest(subject, VISIT, FORM, values))
        print(f"COMMITTED {result.instance_id} {len(result.changed)}", flush=True)
        if i % REVISE_EVERY == REVISE_EVERY - 1:
            correction = {"AETERM": values["AETERM"] + REVISED_SUFFIX, "AEOUT": REVISED_OUTCOME}
            store.save(SaveRequest(subject, VISIT, FORM, correction, instance=result.instance_id, reason=REASON))
            print(f"REVISED {result.instance_id}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
