"""A laptop left offline across an amendment keeps working on the version it has; at its next sync it
takes the new version first, and the server accepts its changes against the version they were made
under (and refuses one made on an instance another laptop has upgraded meanwhile)."""

from __future__ import annotations

from amend import (
    VITALS,
    Site,
    amended,
    field,
    instance_version,
    mapping_file,
    pdf_text,
    publish,
    server_fields,
    server_version,
)
from sync_fixtures import save, sync, values

from cik_ecrf.pdf import record_pdf
from cik_ecrf.sync.client import SyncClient


def test_a_laptop_offline_across_an_amendment(site: Site, study, capsys) -> None:
    a = site.laptop("a", "nurse1", study)
    b = site.laptop("b", "nurse2", study)
    c = site.laptop("c", "nurse3", study)
    number = a.add_subject()
    old = save(a, number, "D1", "vitals", VITALS)
    sync(a), sync(b), sync(c)

    # the amendment: respiratory rate is no longer collected
    v2 = amended(site.tmp, "v2", lambda form: form["fields"].remove(field(form, "RESP")))
    mapping = mapping_file(site.tmp, {"forms": {"vitals": {"removed": ["RESP"]}}})
    code, _, err = publish(capsys, site.url, v2, "--mapping", str(mapping), "--note", "RESP dropped")
    assert code == 0, err
    sync(a)
    new_a = save(a, number, "D7", "vitals", {k: v for k, v in VITALS.items() if k != "RESP"})
    sync(a)

    # C is offline: it knows version 1 only, and keeps entering data under it
    assert c.study_versions.numbers() == [1]
    offline = save(c, number, "D2", "vitals", {**VITALS, "RESP": 18})
    save(c, number, "D1", "vitals", {"RESP": 25}, reason="re-counted")
    assert instance_version(c, offline) == "1.0"

    # meanwhile B upgrades the D1 form (RESP dropped)
    sync(b)
    b.amendments.upgrade(old, "amendment 2: RESP no longer collected")
    sync(b)

    # C comes back: the version first, then its changes, each checked under its instance's version
    outcome = SyncClient(c).run()
    assert outcome.error is None, outcome.error
    assert c.study_versions.numbers() == [1, 2]
    assert server_version(site.engine, offline) == "1.0"
    assert server_fields(site.engine, offline)["RESP"] == "18"  # valid under 1.0, where it was entered
    [refused] = outcome.rejected  # the D1 form is on 1.1 on the server now
    assert "RESP" in refused and "has no field RESP" in refused
    assert "RESP" not in server_fields(site.engine, old)

    # and C holds everything as the server has it
    assert instance_version(c, old) == "1.1" and "RESP" not in values(c, number)[("D1", "vitals")]
    assert instance_version(c, new_a) == "1.1" and instance_version(c, offline) == "1.0"
    assert values(c, number)[("D2", "vitals")]["RESP"] == 18
    sync(a)
    assert values(a, number)[("D2", "vitals")]["RESP"] == 18 and instance_version(a, offline) == "1.0"

    # new instances on C take the newest version now; the old one still prints under 1.0
    newer = save(c, number, "D3", "vitals", {k: v for k, v in VITALS.items() if k != "RESP"})
    assert instance_version(c, newer) == "1.1"
    printed = pdf_text(record_pdf(c, number, "D2", "vitals"), site.tmp, "offline")
    assert "v1.0" in printed and "Respiratory" in printed
    sync(c)
    assert server_version(site.engine, newer) == "1.1"
    assert a.verify_audit().ok and b.verify_audit().ok and c.verify_audit().ok


def test_a_store_reopened_keeps_its_versions(site: Site, study, capsys) -> None:
    a = site.laptop("a", "nurse1", study)
    v2 = amended(site.tmp, "v2", lambda form: field(form, "HR")["range"].update(max=250))
    assert publish(capsys, site.url, v2)[0] == 0
    sync(a)
    assert a.study.forms["vitals"].version == "1.1"
    a.close()
    site.laptops.remove(a)
    from live_server import PASSWORD

    from cik_ecrf.store.api import Store

    again = Store.open(site.tmp / "a", "nurse1", PASSWORD, study=study)
    site.laptops.append(again)
    assert again.study_versions.numbers() == [1, 2] and again.study.forms["vitals"].version == "1.1"
    assert sync(again).ok
