"""Every finding of provable authorship, tried as an attacker would, on a real server over loopback:
a nurse's laptop pushing as the investigator, a signature forged with the store key, a pushed
history rewritten with its chain recomputed, and every forgery a nurse's password and files allow."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from forge import act_as, forge_key, keyring_entry_for, recompute_chain, sql
from live_server import PASSWORD, LiveServer, backends, database_url, laptop, open_server_db, site_with_users
from sqlalchemy import text
from sync_fixtures import VITALS, save, server_state, values

from cik_ecrf.cli import main
from cik_ecrf.server import authorship as server_authorship
from cik_ecrf.store import signatures as esign
from cik_ecrf.store.api import Store
from cik_ecrf.store.errors import AuthError
from cik_ecrf.sync import authorship_check
from cik_ecrf.sync.client import SyncClient

USERS = (("nurse1", "nurse"), ("dr.li", "investigator"), ("dm1", "data_manager"))


@pytest.fixture(params=backends())
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    with database_url(tmp_path, request.param) as url:
        engine = open_server_db(url)
        site_with_users(engine, users=USERS)
        with LiveServer(engine) as live:
            yield engine, live, url
        engine.dispose()


def push(store: Store) -> Any:
    outcome = SyncClient(store).run()
    assert outcome.error is None, outcome.error
    return outcome


def test_a_nurse_laptop_pushing_as_the_investigator_or_a_data_manager_is_refused(
    site: Any, tmp_path: Path, study: Any
) -> None:
    engine, live, _ = site
    nurse = laptop(tmp_path / "a", live.url, "nurse1", study)
    number = nurse.add_subject()
    push(nurse)
    for victim in ("dr.li", "dm1"):
        act_as(nurse, victim)
        save(nurse, number, "D1", "vitals", {**VITALS, "HR": 99 if victim == "dr.li" else 98}, reason="forged")
    outcome = push(nurse)
    assert outcome.rejected and all("signed by nurse1" in r for r in outcome.rejected), outcome.rejected
    assert any("in the name of dr.li" in r for r in outcome.rejected)
    assert not [f for f in server_state(engine)["fields"] if f[1] == "HR"]  # nothing of it reached the server
    problems = nurse.verify_authorship().problems
    for victim in ("dr.li", "dm1"):
        assert any(f"in the name of {victim}" in p and "but signed by nurse1" in p for p in problems), problems
    nurse.close()


def test_a_signature_forged_with_the_store_key_is_caught_on_the_laptop_and_refused_by_the_server(
    site: Any, tmp_path: Path, study: Any
) -> None:
    engine, live, _ = site
    nurse = laptop(tmp_path / "a", live.url, "nurse1", study)
    push(nurse)  # the site's users reach this laptop
    number = nurse.add_subject()
    instance = save(nurse, number, "D1", "vitals", VITALS)
    # a signature row and its event written with the store key, in dr.li's name: no key of his signs it
    act_as(nurse, "dr.li")
    with nurse.unit_of_work() as session:
        from cik_ecrf.core.content import Scope

        conn = session.connection()
        subject_id = conn.exec_driver_sql("SELECT id FROM subject WHERE number = ?", (number,)).scalar()
        _, digest = esign.scope_content(conn, study.study.id, subject_id, Scope(number, "D1", "vitals"))
        from cik_ecrf.store import audit

        chain = audit.Chain(session)
        event = chain.append(
            nurse.actor,
            "signature",
            subject_id=subject_id,
            visit_id="D1",
            form_id="vitals",
            instance_id=instance,
            new_json=json.dumps(
                {
                    "signature": "f" * 8 + "-0000-4000-8000-" + "0" * 12,
                    "scope": "form",
                    "meaning": "approve",
                    "full_name": "Dr Li",
                    "content_sha256": digest,
                    "instances": [instance],
                    "key_id": "0" * 32,
                    "sig": "AAAA",
                }
            ),
        )
        chain.close()
        user_id = conn.exec_driver_sql("SELECT id FROM \"user\" WHERE username = 'dr.li'").scalar()
        conn.exec_driver_sql(
            "INSERT INTO signature (id, subject_id, scope, visit_id, form_id, meaning, user_id, username, full_name, role, "
            "signed_at_utc, utc_offset_min, content_hash, audit_event_id) VALUES (?, ?, 'form', 'D1', 'vitals', 'approve', "
            "?, 'dr.li', 'Dr Li', 'investigator', ?, 480, ?, ?)",
            ("f" * 8 + "-0000-4000-8000-" + "0" * 12, subject_id, user_id, event["at_utc"], digest, event["id"]),
        )
        conn.exec_driver_sql(
            "INSERT INTO signature_item (signature_id, instance_id) VALUES (?, ?)",
            ("f" * 8 + "-0000-4000-8000-" + "0" * 12, instance),
        )
    [record] = nurse.signatures(number)
    assert not record.active and "not provably dr.li's" in (record.forged or "")
    from cik_ecrf.core.content import Scope
    from cik_ecrf.pdf.casebook import casebook_pdf
    from cik_ecrf.pdf.verify import verify_pdf

    with nurse.unit_of_work() as session:  # `pdf verify`: the printout matches, but nobody signed it
        printed = casebook_pdf(session, study, nurse.rules, Scope(number, "D1", "vitals"))
        result = verify_pdf(session, study, printed)
    assert result.matches and "no signature over exactly this content" in result.message
    problems = nurse.verify_authorship().problems
    assert any("signature" in p and "dr.li" in p for p in problems), problems
    outcome = push(nurse)
    assert any("signed by nurse1" in r for r in outcome.rejected), outcome.rejected
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM signature_cover")).scalar() == 0
    nurse.close()


def test_a_rewritten_pushed_history_is_caught_by_audit_verify_and_reported_at_the_next_push(
    site: Any, tmp_path: Path, study: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    engine, live, url = site
    nurse = laptop(tmp_path / "a", live.url, "nurse1", study)
    number = nurse.add_subject()
    instance = save(nurse, number, "D1", "vitals", VITALS)
    push(nurse)
    assert authorship_check.check(nurse)[0] == []
    # her own entry rewritten, the hash chain and her own seals recomputed and re-signed with her key
    sql(
        nurse,
        "UPDATE audit_event SET new_json = '77' WHERE instance_id = ? AND field_id = 'HR' AND action = 'value_set'",
        instance,
    )
    sql(nurse, "UPDATE field_value SET value_json = '77' WHERE instance_id = ? AND field_id = 'HR'", instance)
    from cik_ecrf.store import access

    recompute_chain(nurse, access.prove(nurse.directory, "nurse1", PASSWORD))
    assert nurse.verify_audit().ok  # the hash chain alone is fooled
    assert nurse.verify_authorship().problems == ()  # and so is every check with this laptop's own keys
    problems, _ = authorship_check.check(nurse)  # online: the server's anchor
    assert any("differs from what the server received" in p for p in problems), problems
    save(nurse, number, "D1", "vitals", {"TEMP": 37.1}, reason="re-measured")
    outcome = push(nurse)
    assert any("rewritten" in w for w in outcome.warnings), outcome.warnings
    [(device, _seq, _head, flag)] = server_authorship.anchors(engine)
    assert flag and "rewritten" in flag
    assert main(["server", "anchors", "--flagged", "--database-url", url]) == 0
    assert "FLAGGED" in capsys.readouterr().out
    assert values(nurse, number)[("D1", "vitals")]["HR"] == 77
    with engine.connect() as conn:  # the server kept what was pushed first
        assert conn.execute(
            text("SELECT value_json FROM field_state WHERE instance_id = :i AND field_id = 'HR'"), {"i": instance}
        ).scalar() == str(VITALS["HR"])
    nurse.close()
    assert main(["server", "anchors", "clear", device, "--database-url", url]) == 0


def test_a_nurse_password_and_files_cannot_pass_for_anyone_else(site: Any, tmp_path: Path, study: Any) -> None:
    """Every forgery with the nurse's password and the laptop's files is caught here or refused by the server."""
    engine, live, _ = site
    doctor = laptop(tmp_path / "a", live.url, "dr.li", study)  # the ward's laptop, enrolled by the investigator
    number = doctor.add_subject()
    instance = save(doctor, number, "D1", "vitals", VITALS)
    doctor.sign(number, "D1", "vitals", meaning="approve", username="dr.li", password=PASSWORD)
    push(doctor)
    doctor.close()
    nurse = Store.open(tmp_path / "a", "nurse1", PASSWORD, study)  # central user: signs in offline
    assert nurse.verify_authorship().problems == ()

    # 1. role escalation: she makes herself investigator in the user table and signs
    sql(nurse, "UPDATE \"user\" SET role = 'investigator' WHERE username = 'nurse1'")
    nurse.close()
    nurse = Store.open(tmp_path / "a", "nurse1", PASSWORD, study)
    assert nurse.actor.role == "investigator"
    save(nurse, number, "D1", "vitals", {"HR": 81}, reason="forged")
    nurse.sign(number, "D1", "vitals", meaning="approve", username="nurse1", password=PASSWORD)
    problems, _ = authorship_check.check(nurse)
    assert any("nurse1 is a investigator here but a nurse on the server" in p for p in problems), problems

    # 2. a change and 3. a signature as dr.li, with a key she made and wrote into the user table as his
    forge_key(nurse, "dr.li")
    act_as(nurse, "dr.li")
    save(nurse, number, "D1", "vitals", {"HR": 82}, reason="forged")
    nurse.sign(number, "D1", "vitals", meaning="approve", username="dr.li", password=PASSWORD)
    problems, _ = authorship_check.check(nurse)
    assert any("recorded here as dr.li's is not theirs on the server" in p for p in problems), problems

    # 4. audit rewrite: dr.li's original value rewritten, the chain recomputed (his seals cannot be re-signed)
    sql(
        nurse,
        "UPDATE audit_event SET new_json = '60' WHERE instance_id = ? AND field_id = 'HR' AND username = 'dr.li' "
        "AND new_json = ?",
        instance,
        str(VITALS["HR"]),
    )
    recompute_chain(nurse)
    assert nurse.verify_audit().ok
    assert any("does not match them" in p or "changed after" in p for p in nurse.verify_authorship().problems)

    # 5. a value changed in place, without any event
    sql(nurse, "UPDATE field_value SET value_json = '55' WHERE instance_id = ? AND field_id = 'RESP'", instance)
    assert any("not what the audit trail recorded" in p for p in nurse.verify_authorship().problems)

    # 6. the server refuses every change and signature not made by its author as the server knows them
    outcome = push(nurse)
    assert outcome.rejected
    assert all(
        any(k in r for k in ("cannot", "signed by", "not signed", "does not match", "key the server does not know"))
        for r in outcome.rejected
    ), outcome.rejected
    state = server_state(engine)
    assert [f[2] for f in state["fields"] if f[0] == instance and f[1] == "HR"] == [str(VITALS["HR"])]
    assert [s for _, _, _, s in state["forms"] if True] == ["signed"]  # dr.li's own signature still holds
    nurse.close()

    # 7. 'setting dr.li's password': his keyring entry replaced with keys she made under a password she chose
    with Store.open(tmp_path / "a", "nurse1", PASSWORD, study) as again:
        keyring_entry_for(again, "dr.li", "Chosen-by-nurse-1")
    with pytest.raises(AuthError, match="keyring.json"):
        Store.open(tmp_path / "a", "dr.li", "Chosen-by-nurse-1", study)
