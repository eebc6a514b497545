"""Electronic signatures: who may sign, what a signature records, and how a change clears it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from cik_ecrf.core.content import Scope
from cik_ecrf.demo import screening_forms
from cik_ecrf.store import signatures as esign
from cik_ecrf.store.api import Store
from cik_ecrf.store.entry import SaveRequest
from cik_ecrf.store.errors import AuthError, PermissionDenied, StoreError
from tests.stores import store_with_nurse

ADMIN = ("site.admin", "Root-pass-2026")
NURSE = ("nurse.li", "Nurse-first-2026", "Nurse-pass-2026")
PI, PI_FIRST, PI_PW = "dr.wang", "Invest-first-2026", "Invest-pass-2026"
PI_NAME = "Dr. Wang Fang 王芳"


def signing_store(directory: Path, study: Any) -> str:
    """A store with an admin, a nurse and an investigator; one subject with screening forms complete. Returns its number."""
    store_with_nurse(directory, study, "T1", ADMIN, NURSE)
    with Store.open(directory, *ADMIN, study=study) as admin:
        admin.add_user(PI, "investigator", PI_FIRST, full_name=PI_NAME)
    with Store.open(directory, PI, PI_FIRST, study=study) as pi:
        pi.change_password(PI_FIRST, PI_PW)
    import datetime as dt

    forms = screening_forms(dt.date.today() - dt.timedelta(days=3), "2012-05-06", "F")
    with Store.open(directory, NURSE[0], NURSE[2], study=study) as nurse:
        number = nurse.add_subject()
        for form in ("consent", "demographics", "vitals", "labs"):
            nurse.save(SaveRequest(number, "screening", form, forms[form], confirm_warnings=True))
        nurse.save(SaveRequest(number, "screening", "diagnosis", {"DXSTAT": "REFRACTORY"}, draft=True))
    return number


@pytest.fixture
def setup(tmp_path: Path, study: Any) -> tuple[Path, str]:
    return tmp_path / "store", signing_store(tmp_path / "store", study)


def _status(store: Store, number: str, visit: str, form: str) -> str:
    return next(r["status"] for r in store.subject_values(number)[1] if r["visit"] == visit and r["form"] == form)


def test_an_investigator_signs_a_form_and_the_signature_records_its_manifestation(
    setup: tuple[Path, str], study: Any
) -> None:
    directory, number = setup
    with Store.open(directory, PI, PI_PW, study=study) as pi:
        result = pi.sign(number, "screening", "vitals", meaning="approve", username=PI, password=PI_PW)
        sig = result.signature
        assert (sig.full_name, sig.role, sig.meaning, sig.scope, sig.subject) == (
            PI_NAME,
            "investigator",
            "approve",
            "form",
            number,
        )
        assert sig.meaning_text() == "I have reviewed and approve the content of this record."
        assert sig.meaning_text("zh") == "本人已审阅并批准本记录的内容。"
        assert sig.signed_at().endswith(")") and " UTC (UTC" in sig.signed_at()
        assert len(sig.content_hash) == 64 and [r.form for r in result.signed] == ["vitals"]
        with pi.unit_of_work() as session:
            subject_id = (
                session.connection().exec_driver_sql("SELECT id FROM subject WHERE number = ?", (number,)).scalar()
            )
            _, digest = esign.scope_content(
                session.connection(), study.study.id, subject_id, Scope(number, "screening", "vitals")
            )
        assert digest == sig.content_hash  # bound to exactly the data signed
        assert _status(pi, number, "screening", "vitals") == "signed"
        assert _status(pi, number, "screening", "labs") == "complete"
        events = [e for e in pi.audit_events(number) if e.action == "signature"]
        assert len(events) == 1 and json.loads(events[0].new_json or "{}")["content_sha256"] == sig.content_hash
        assert pi.signatures(number) == [sig]
        assert pi.verify_audit().ok


def test_a_nurse_cannot_sign_and_the_attempt_is_audited(setup: tuple[Path, str], study: Any) -> None:
    directory, number = setup
    with Store.open(directory, NURSE[0], NURSE[2], study=study) as nurse:
        with pytest.raises(PermissionDenied, match="only investigators sign"):
            nurse.sign(number, "screening", "vitals", meaning="author", username=NURSE[0], password=NURSE[2])
        assert nurse.signatures(number) == []
        assert _status(nurse, number, "screening", "vitals") == "complete"
        refused = [e for e in nurse.audit_events(number) if e.action == "signature_refused"]
        assert len(refused) == 1 and refused[0].username == NURSE[0] and "cannot sign" in (refused[0].reason or "")


def test_a_wrong_password_or_another_user_id_is_refused_and_audited(setup: tuple[Path, str], study: Any) -> None:
    directory, number = setup
    with Store.open(directory, PI, PI_PW, study=study) as pi:
        with pytest.raises(AuthError, match="wrong password"):
            pi.sign(number, "screening", meaning="review", username=PI, password="Not-the-pass-1")
        with pytest.raises(AuthError, match="not the logged-in user"):
            pi.sign(number, "screening", meaning="review", username=NURSE[0], password=NURSE[2])
        assert pi.signatures(number) == []
        assert [e.action for e in pi.audit_events(number)].count("signature_refused") == 2
        assert pi.verify_audit().ok


def test_drafts_unknown_visits_and_repeated_signatures_are_refused(setup: tuple[Path, str], study: Any) -> None:
    directory, number = setup
    with Store.open(directory, PI, PI_PW, study=study) as pi:
        with pytest.raises(StoreError, match="complete these forms before signing: screening/diagnosis"):
            pi.sign(number, "screening", meaning="approve", username=PI, password=PI_PW)
        with pytest.raises(StoreError, match="unknown visit 'D99'"):
            pi.sign(number, "D99", meaning="approve", username=PI, password=PI_PW)
        with pytest.raises(StoreError, match="no forms entered"):
            pi.sign(number, "D1", meaning="approve", username=PI, password=PI_PW)
        with pytest.raises(StoreError, match="meaning 'agree'"):
            pi.sign(number, "screening", "labs", meaning="agree", username=PI, password=PI_PW)
        pi.sign(number, "screening", "labs", meaning="author", username=PI, password=PI_PW)
        with pytest.raises(StoreError, match="already signed"):
            pi.sign(number, "screening", "labs", meaning="author", username=PI, password=PI_PW)
        pi.sign(
            number, "screening", "labs", meaning="approve", username=PI, password=PI_PW
        )  # a second meaning is a second signature
        assert [s.meaning for s in pi.signatures(number)] == ["author", "approve"]


def test_changing_signed_data_clears_the_signature_and_the_form_needs_re_signing(
    setup: tuple[Path, str], study: Any
) -> None:
    directory, number = setup
    with Store.open(directory, NURSE[0], NURSE[2], study=study) as nurse:
        nurse.save(SaveRequest(number, "screening", "diagnosis", {"DXSTAT": "RELAPSED"}, draft=True))
    with Store.open(directory, PI, PI_PW, study=study) as pi:
        pi.sign(number, "screening", "vitals", meaning="author", username=PI, password=PI_PW)
        visit_sig = None
        with pytest.raises(StoreError):  # diagnosis is still a draft
            pi.sign(number, "screening", meaning="approve", username=PI, password=PI_PW)
        visit_sig = pi.sign(number, "screening", "labs", meaning="approve", username=PI, password=PI_PW).signature
    with Store.open(directory, NURSE[0], NURSE[2], study=study) as nurse:
        # a confirmation-only save changes no value and leaves the signature alone
        nurse.save(SaveRequest(number, "screening", "vitals", {}, confirm_warnings=True))
        assert all(s.active for s in nurse.signatures(number))
        assert _status(nurse, number, "screening", "vitals") == "signed"
        with pytest.raises(StoreError, match="reason for the change is required"):
            nurse.save(SaveRequest(number, "screening", "vitals", {"HR": 101}))
        nurse.save(SaveRequest(number, "screening", "vitals", {"HR": 101}, reason="transcription error"))
        records = nurse.signatures(number)
        vitals = next(s for s in records if s.form == "vitals")
        labs = next(s for s in records if s.form == "labs")
        assert not vitals.active and vitals.cleared_reason == "transcription error"
        assert labs.active and labs == visit_sig
        assert _status(nurse, number, "screening", "vitals") == "complete"
        assert _status(nurse, number, "screening", "labs") == "signed"
        assert esign.needs_resigning(records) == frozenset(vitals.instances)
        cleared = [e for e in nurse.audit_events(number) if e.action == "signature_cleared"]
        assert len(cleared) == 1 and cleared[0].reason == "transcription error" and cleared[0].username == NURSE[0]
        assert json.loads(cleared[0].old_json or "{}")["signature"] == vitals.id
        assert nurse.verify_audit().ok
    with Store.open(directory, PI, PI_PW, study=study) as pi:
        again = pi.sign(number, "screening", "vitals", meaning="author", username=PI, password=PI_PW).signature
        assert again.content_hash != vitals.content_hash
        assert esign.needs_resigning(pi.signatures(number)) == frozenset()


def test_a_visit_signature_cleared_by_one_form_returns_the_other_forms_to_complete(
    setup: tuple[Path, str], study: Any
) -> None:
    directory, number = setup
    with Store.open(directory, NURSE[0], NURSE[2], study=study) as nurse:
        nurse.save(
            SaveRequest(number, "screening", "diagnosis", _screening_values(study)["diagnosis"], confirm_warnings=True)
        )
    with Store.open(directory, PI, PI_PW, study=study) as pi:
        result = pi.sign(number, "screening", meaning="review", username=PI, password=PI_PW)
        assert sorted(r.form for r in result.signed) == ["consent", "demographics", "diagnosis", "labs", "vitals"]
        assert {r["status"] for r in pi.subject_values(number)[1]} == {"signed"}
    with Store.open(directory, NURSE[0], NURSE[2], study=study) as nurse:
        nurse.save(SaveRequest(number, "screening", "labs", {"PLT": 90}, reason="lab report corrected"))
        assert {r["status"] for r in nurse.subject_values(number)[1]} == {"complete"}
        (record,) = nurse.signatures(number)
        assert not record.active
        assert esign.needs_resigning([record]) == frozenset(record.instances)
        changes = [
            e
            for e in nurse.audit_events(number)
            if e.action == "status_change" and e.old_json == '"signed"' and e.new_json == '"complete"'
        ]
        assert len(changes) == 5 and {e.reason for e in changes} == {"lab report corrected"}


def _screening_values(study: Any) -> dict[str, dict[str, Any]]:
    import datetime as dt

    return screening_forms(dt.date.today() - dt.timedelta(days=3), "2012-05-06", "F")
