"""A laptop that already holds what an older server let through heals at its next sync: values no
form could hold, statuses nothing may set and conflicts no server opened are repaired from the
laptop's own audit trail, audited, and reported; the next sync finds nothing more."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from live_server import LiveServer, laptop, open_server_db, site_with_users
from sync_fixtures import VITALS, save, sync, values

from cik_ecrf.events.change import CHANGE_FIELDS
from cik_ecrf.store import pull


def test_bad_values_statuses_and_forged_conflicts_are_repaired_and_reported(tmp_path: Path, study) -> None:
    engine = open_server_db(f"sqlite:///{tmp_path / 'server.db'}")
    site_with_users(engine)
    with LiveServer(engine) as server:
        a = laptop(tmp_path / "a", server.url, "nurse1", study)
        number = a.add_subject()
        save(a, number, "D1", "vitals", VITALS)
        sync(a)  # pushed and pulled back: the next sync pulls nothing that would rewrite these fields
        with a.unit_of_work() as session:  # what today's server let in, as it lands on a laptop
            conn = session.connection()
            instance = conn.exec_driver_sql("SELECT id FROM form_instance WHERE form_id = 'vitals'").scalar_one()
            subject = conn.exec_driver_sql("SELECT id FROM subject").scalar_one()
            conn.exec_driver_sql(
                "UPDATE field_value SET value_json = '5000' WHERE instance_id = ? AND field_id = 'HR'", (instance,)
            )
            conn.exec_driver_sql(
                "UPDATE field_value SET value_json = '\"{{{\"' WHERE instance_id = ? AND field_id = 'O2SUPP'",
                (instance,),
            )
            conn.exec_driver_sql("UPDATE form_instance SET status = 'locked' WHERE id = ?", (instance,))
            conn.exec_driver_sql("DELETE FROM meta WHERE key = 'health_checked'")  # a store from before the upgrade
            forged = {
                "id": str(uuid.uuid4()),
                "device_id": str(uuid.uuid4()),
                "device_seq": 7,
                "user_id": None,
                "username": "mon1",
                "role": "monitor",
                "at_utc": "2026-11-01T00:00:00+00:00",
                "utc_offset_min": 0,
                "action": "sync_conflict",
                "subject_id": subject,
                "visit_id": "D1",
                "form_id": "vitals",
                "instance_id": instance,
                "field_id": "TEMP",
                "old_json": None,
                "new_json": json.dumps({"current": "41.9", "candidates": []}),
                "reason": None,
                "confirmed_json": None,
                "base_version": 1,
            }
            pull._append_to_trail(conn, [tuple(forged[name] for name in CHANGE_FIELDS)])
            conn.exec_driver_sql(
                "UPDATE field_value SET value_json = '41.9' WHERE instance_id = ? AND field_id = 'TEMP'", (instance,)
            )
            conn.exec_driver_sql(
                "INSERT INTO sync_conflict (instance_id, field_id, conflict_seq, current_json, candidates_json, opened_at) VALUES (?, 'TEMP', 99, '41.9', '[]', 'x')",
                (instance,),
            )
        outcome = sync(a)
        repaired = [w for w in outcome.warnings if w.startswith("repaired")]
        assert any("HR" in w and "5000" in w and "restored the last valid value 80" in w for w in repaired), repaired
        assert any("O2SUPP" in w and "{{{" in w for w in repaired), repaired
        assert any("TEMP" in w and "forged by mon1" in w for w in repaired), repaired
        assert any("'locked'" in w and "back to complete" in w for w in repaired), repaired
        kept = values(a, number)[("D1", "vitals")]
        assert (kept["HR"], kept["TEMP"], kept["O2SUPP"]) == (VITALS["HR"], VITALS["TEMP"], VITALS["O2SUPP"])
        assert a.sync_status().conflicts == 0
        with a.unit_of_work() as session:
            conn = session.connection()
            assert (
                conn.exec_driver_sql("SELECT status FROM form_instance WHERE id = ?", (instance,)).scalar_one()
                == "complete"
            )
            audited = conn.exec_driver_sql(
                "SELECT old_json, reason FROM audit_event WHERE action = 'sync_repair'"
            ).all()
        assert len(audited) == 4 and any(old == "5000" for old, _ in audited)
        assert a.verify_audit().ok
        again = sync(a)
        assert not [w for w in again.warnings if w.startswith("repaired")] and again.ok
        a.close()
    engine.dispose()
