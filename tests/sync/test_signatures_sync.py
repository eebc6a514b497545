"""Signatures and sync: the signing laptop may change what it signed (the cleared signature travels
with the change); a change made elsewhere before the signature reached the server clears it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from live_server import PASSWORD, LiveServer, database_url, laptop, open_server_db, site_with_users
from sync_fixtures import VITALS, save, server_state, sync, values

from cik_ecrf.store.signatures import needs_resigning

USERS = (("dr.li", "investigator"), ("nurse2", "nurse"))
LABS = {
    **{"LBDAT": "2026-01-01", "WBC": 3.2, "ANC": 1.1, "HGB": 98, "PLT": 85, "PBBLST": 2.0, "CREAT": 45.0},
    **{"CREAT_ULN": 80.0, "BUN": 4.1, "BUN_ULN": 7.1, "ALT": 30, "ALT_ULN": 40, "TBIL": 8.0, "TBIL_ULN": 21.0},
}


def status_on_server(engine: Any, instance: str) -> str:
    return next(status for iid, _, _, status in server_state(engine)["forms"] if iid == instance)


def test_the_signing_laptop_changes_signed_data_and_the_server_takes_it(tmp_path: Path, study: Any) -> None:
    with database_url(tmp_path) as url:
        engine = open_server_db(url)
        site_with_users(engine, users=USERS)
        with LiveServer(engine) as live:
            a = laptop(tmp_path / "a", live.url, "dr.li", study)
            number = a.add_subject()
            instance = save(a, number, "D1", "vitals", VITALS)
            a.sign(number, "D1", "vitals", meaning="approve", username="dr.li", password=PASSWORD)
            sync(a)
            assert status_on_server(engine, instance) == "signed"
            save(a, number, "D1", "vitals", {"HR": 95}, reason="transcription error")
            outcome = sync(a)
            assert outcome.rejected == () and outcome.waiting == 0  # not quarantined: it said it cleared the signature
            assert status_on_server(engine, instance) == "complete"
            b = laptop(tmp_path / "b", live.url, "nurse2", study)
            sync(b)
            assert values(b, number)[("D1", "vitals")]["HR"] == 95
            a.close(), b.close()
        engine.dispose()


def test_a_change_from_another_laptop_before_the_signature_arrived_clears_it(tmp_path: Path, study: Any) -> None:
    with database_url(tmp_path) as url:
        engine = open_server_db(url)
        site_with_users(engine, users=USERS)
        with LiveServer(engine) as live:
            a = laptop(tmp_path / "a", live.url, "dr.li", study)
            b = laptop(tmp_path / "b", live.url, "nurse2", study)
            number = b.add_subject()
            instance = save(b, number, "D1", "vitals", VITALS)
            sync(b), sync(a)
            a.sign(number, "D1", "vitals", meaning="approve", username="dr.li", password=PASSWORD)  # offline
            save(b, number, "D1", "vitals", {"HR": 101}, reason="re-measured")  # offline too, and synced first
            sync(b)
            sync(a)
            [signature] = a.signatures(number)
            assert not signature.active and "changed on another laptop by nurse2" in (signature.cleared_reason or "")
            assert instance in needs_resigning(a.signatures(number))
            _, rows = a.subject_values(number)
            assert [r["status"] for r in rows if r["form"] == "vitals"] == ["complete"]
            assert values(a, number)[("D1", "vitals")]["HR"] == 101
            sync(a), sync(b)
            assert status_on_server(engine, instance) == "complete"
            assert a.verify_audit().ok and b.verify_audit().ok
            a.close(), b.close()
        engine.dispose()


def test_a_visit_signed_offline_reaches_the_server_and_a_correction_of_one_form_clears_it(
    tmp_path: Path, study: Any
) -> None:
    """A visit's signature covers several forms: the server marks each signed, and a correction of one
    of them clears the signature for all (the others go back to complete, needing signing again)."""
    with database_url(tmp_path) as url:
        engine = open_server_db(url)
        site_with_users(engine, users=USERS)
        with LiveServer(engine) as live:
            a = laptop(tmp_path / "a", live.url, "dr.li", study)
            number = a.add_subject()
            vitals = save(a, number, "D1", "vitals", VITALS)
            labs = save(a, number, "D1", "labs", LABS)
            a.sign(number, "D1", None, meaning="review", username="dr.li", password=PASSWORD)
            assert sync(a).rejected == ()
            assert (status_on_server(engine, vitals), status_on_server(engine, labs)) == ("signed", "signed")
            save(a, number, "D1", "vitals", {"HR": 96}, reason="transcription error")
            assert sync(a).rejected == ()
            assert (status_on_server(engine, vitals), status_on_server(engine, labs)) == ("complete", "complete")
            a.close()
        engine.dispose()
