"""A form signed offline stays signed when its own laptop syncs: the laptop's own changes coming back in
the pull are not changes from elsewhere, on the laptop and on the server alike. Only a change from
another device to the signed content clears the signature."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from live_server import PASSWORD, LiveServer, laptop, open_server_db
from sync_fixtures import VITALS, save, server_state, sync, values

from cik_ecrf.store.api import Store


def status_on_server(engine: Any, instance: str) -> str:
    return next(status for iid, _, _, status in server_state(engine)["forms"] if iid == instance)


def form_status(store: Store, number: str, form: str = "vitals") -> str:
    _, rows = store.subject_values(number)
    return next(r["status"] for r in rows if r["form"] == form)


def signed_here(store: Store, number: str) -> bool:
    return any(s.active for s in store.signatures(number))


def sign(store: Store, number: str) -> None:
    store.sign(number, "D1", "vitals", meaning="approve", username="inv1", password=PASSWORD)


def test_data_entered_and_signed_offline_stays_signed_through_the_signers_sync(
    db_url: str, tmp_path: Path, study: Any
) -> None:
    engine = open_server_db(db_url)
    with LiveServer(engine) as live:
        a = laptop(tmp_path / "a", live.url, "inv1", study)
        number = a.add_subject()
        instance = save(a, number, "D1", "vitals", VITALS)  # all offline: never synced before
        sign(a, number)
        for _ in range(2):  # the sync that pushes it, and the next one
            outcome = sync(a)
            assert outcome.ok, outcome
            assert signed_here(a, number) and form_status(a, number) == "signed"
            assert status_on_server(engine, instance) == "signed"
        a.close()
    engine.dispose()


def test_a_correction_made_offline_then_signed_offline_stays_signed(db_url: str, tmp_path: Path, study: Any) -> None:
    """Entered by a nurse and synced; the investigator pulls it, corrects a value and signs, offline."""
    engine = open_server_db(db_url)
    with LiveServer(engine) as live:
        b = laptop(tmp_path / "b", live.url, "nurse1", study)
        a = laptop(tmp_path / "a", live.url, "inv1", study)
        number = b.add_subject()
        instance = save(b, number, "D1", "vitals", VITALS)
        sync(b), sync(a)
        save(a, number, "D1", "vitals", {"HR": 88}, reason="transcription error")
        sign(a, number)
        assert sync(a).ok and sync(a).ok
        assert signed_here(a, number) and form_status(a, number) == "signed"
        assert status_on_server(engine, instance) == "signed"
        sync(b)
        assert values(b, number)[("D1", "vitals")]["HR"] == 88 and form_status(b, number) == "signed"
        a.close(), b.close()
    engine.dispose()


def test_signed_offline_while_the_laptops_earlier_edit_was_still_unsent(
    db_url: str, tmp_path: Path, study: Any
) -> None:
    """Two offline sessions: an edit, a sync cut short after the push (nothing pulled), then a signature.
    The edit comes back at the next pull after the signature was made: it is this laptop's own."""
    engine = open_server_db(db_url)
    with LiveServer(engine) as live:
        a = laptop(tmp_path / "a", live.url, "inv1", study)
        number = a.add_subject()
        instance = save(a, number, "D1", "vitals", VITALS)
        from cik_ecrf.sync.client import SyncClient
        from cik_ecrf.sync.transport import Transport

        client = SyncClient(a)
        settings = a.sync_settings()
        with Transport(settings["server_url"] or "", settings["token"]) as transport:
            client._push(
                transport, lambda _p: None, [], [], None, __import__("cik_ecrf.sync.client").sync.client._Tally()
            )
        assert a.sync_status().waiting == 0 and int(a.sync_settings()["cursor"] or 0) == 0
        sign(a, number)  # the edit is on the server, its echo not pulled yet
        assert sync(a).ok
        assert signed_here(a, number) and form_status(a, number) == "signed"
        assert status_on_server(engine, instance) == "signed"
        a.close()
    engine.dispose()


def test_a_change_from_another_device_to_the_signed_content_clears_it_everywhere(
    db_url: str, tmp_path: Path, study: Any
) -> None:
    engine = open_server_db(db_url)
    with LiveServer(engine) as live:
        a = laptop(tmp_path / "a", live.url, "inv1", study)
        b = laptop(tmp_path / "b", live.url, "nurse1", study)
        number = b.add_subject()
        instance = save(b, number, "D1", "vitals", VITALS)
        sync(b), sync(a)
        sign(a, number)  # offline
        save(b, number, "D1", "vitals", {"HR": 101}, reason="re-measured")  # offline too, synced first
        sync(b)
        assert sync(a).ok
        assert not signed_here(a, number) and form_status(a, number) == "complete"
        assert "changed on another laptop by nurse1" in (a.signatures(number)[0].cleared_reason or "")
        assert sync(a).ok
        assert status_on_server(engine, instance) == "complete"
        a.close(), b.close()
    engine.dispose()


def test_the_signers_own_edit_does_not_hide_an_earlier_change_from_elsewhere(
    db_url: str, tmp_path: Path, study: Any
) -> None:
    """The signer corrected one field and signed, offline; meanwhile another laptop changed another field of
    the form and synced first. The signature did not cover that change: it is cleared on the signing laptop,
    and the server takes the clearing (its own record of the signer's edit is no reason to refuse it)."""
    engine = open_server_db(db_url)
    with LiveServer(engine) as live:
        a = laptop(tmp_path / "a", live.url, "inv1", study)
        b = laptop(tmp_path / "b", live.url, "nurse1", study)
        number = b.add_subject()
        instance = save(b, number, "D1", "vitals", VITALS)
        sync(b), sync(a)
        save(b, number, "D1", "vitals", {"HR": 101}, reason="re-measured")  # offline
        save(a, number, "D1", "vitals", {"RESP": 22}, reason="re-counted")  # offline
        sign(a, number)
        sync(b)
        outcome = sync(a)
        assert outcome.ok, outcome
        assert not signed_here(a, number) and form_status(a, number) == "complete"
        assert status_on_server(engine, instance) == "complete"
        assert values(a, number)[("D1", "vitals")]["HR"] == 101
        a.close(), b.close()
    engine.dispose()


def test_a_change_from_elsewhere_that_the_signer_had_seen_does_not_clear(
    db_url: str, tmp_path: Path, study: Any
) -> None:
    """B's change reached A before A signed: A signed it, so nothing at A's sync clears the signature."""
    engine = open_server_db(db_url)
    with LiveServer(engine) as live:
        a = laptop(tmp_path / "a", live.url, "inv1", study)
        b = laptop(tmp_path / "b", live.url, "nurse1", study)
        number = b.add_subject()
        instance = save(b, number, "D1", "vitals", VITALS)
        sync(b), sync(a)
        save(a, number, "D1", "vitals", {"RESP": 22}, reason="re-counted")
        sync(a)
        save(b, number, "D1", "vitals", {"HR": 101}, reason="re-measured")
        sync(b), sync(a)  # A sees HR = 101
        sign(a, number)  # offline
        assert sync(a).ok and sync(a).ok
        assert signed_here(a, number) and status_on_server(engine, instance) == "signed"
        a.close(), b.close()
    engine.dispose()
