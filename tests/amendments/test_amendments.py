"""Four protocol amendments to the vitals form, each published on a real server, taken by the laptops
at their next sync, entered on old and new instances, an old instance upgraded with its reason, and
both printed: a required field added, a field removed, a code list extended, a range tightened."""

from __future__ import annotations

import pytest
from amend import (
    VITALS,
    Site,
    amended,
    bump,
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
from cik_ecrf.store.errors import StoreError, ValidationFailed


def _old_instance(site: Site, study, data=None) -> tuple:
    """Laptop A enters vitals at D1 on version 1; both laptops hold it before the amendment."""
    a = site.laptop("a", "nurse1", study)
    b = site.laptop("b", "nurse2", study)
    number = a.add_subject()
    old = save(a, number, "D1", "vitals", data or VITALS, confirm_warnings=True)
    sync(a), sync(b)
    return a, b, number, old


def _upgrade_event(store, number: str):
    return [e for e in store.audit_events(number) if e.action == "instance_upgraded"]


def _printed(site: Site, store, number: str, visit: str, name: str) -> str:
    return pdf_text(record_pdf(store, number, visit, "vitals"), site.tmp, name)


def test_a_required_field_added(site: Site, study, capsys: pytest.CaptureFixture[str]) -> None:
    a, b, number, old = _old_instance(site, study)

    def add_pain(form: dict) -> None:
        form["fields"].insert(
            8,
            {
                "id": "PAIN",
                "type": "integer",
                "label": {"en": "Pain score (0-10)", "zh": "疼痛评分（0-10）"},
                "range": {"min": 0, "max": 10},
                "required": True,
            },
        )

    code, out, err = publish(capsys, site.url, amended(site.tmp, "v2", add_pain), "--note", "pain score")
    assert code == 0, err
    assert "published study version 2" in out and "vitals" in out

    # laptops take the version at their next sync; the old instance stays on 1.0
    sync(a)
    assert a.study_versions.numbers() == [1, 2] and a.study.forms["vitals"].version == "1.1"
    assert instance_version(a, old) == "1.0"
    save(a, number, "D1", "vitals", {"HR": 91}, reason="re-measured")  # no PAIN needed on 1.0
    with pytest.raises(ValidationFailed, match="PAIN"):
        save(a, number, "D1", "vitals", {"PAIN": 3}, reason="not on this version")
    # a new instance is on 1.1 and needs the new field
    with pytest.raises(ValidationFailed, match="PAIN: required"):
        save(a, number, "D7", "vitals", VITALS)
    new = save(a, number, "D7", "vitals", {**VITALS, "PAIN": 2})
    assert instance_version(a, new) == "1.1"
    sync(a)
    assert server_version(site.engine, new) == "1.1"

    # laptop B gets version 2 before the new instance, and upgrades the old one with a reason
    sync(b)
    assert instance_version(b, new) == "1.1" and values(b, number)[("D7", "vitals")]["PAIN"] == 2
    with pytest.raises(StoreError, match="reason"):
        b.amendments.upgrade(old, " ")
    done = b.amendments.upgrade(old, "protocol amendment 2: pain score")
    assert (done.from_version, done.to_version, done.missing_required) == ("1.0", "1.1", ("PAIN",))
    save(b, number, "D1", "vitals", {"PAIN": 4}, reason="asked the patient")
    sync(b), sync(a)
    assert instance_version(a, old) == "1.1" and values(a, number)[("D1", "vitals")]["PAIN"] == 4
    assert server_version(site.engine, old) == "1.1" and server_fields(site.engine, old)["PAIN"] == "4"
    [event] = _upgrade_event(a, number)
    assert event.reason == "protocol amendment 2: pain score" and event.username == "nurse2"
    assert a.verify_audit().ok and b.verify_audit().ok

    printed_new = _printed(site, a, number, "D7", "new")
    assert "v1.1" in printed_new and "Pain score" in printed_new


def test_printing_keeps_an_old_instance_on_its_version(site: Site, study, capsys) -> None:
    a, b, number, old = _old_instance(site, study)

    def add_pain(form: dict) -> None:
        form["fields"].append(
            {"id": "PAIN", "type": "integer", "label": {"en": "Pain score", "zh": "疼痛评分"}, "required": True}
        )

    assert publish(capsys, site.url, amended(site.tmp, "v2", add_pain))[0] == 0
    sync(a)
    printed_old = _printed(site, a, number, "D1", "old")
    assert "v1.0" in printed_old and "Pain score" not in printed_old
    a.amendments.upgrade(old, "amendment 2")
    printed_up = _printed(site, a, number, "D1", "upgraded")
    assert "v1.1" in printed_up and "Pain score" in printed_up


def test_a_field_removed(site: Site, study, capsys: pytest.CaptureFixture[str]) -> None:
    a, b, number, old = _old_instance(site, study)
    v2 = amended(site.tmp, "v2", lambda form: form["fields"].remove(field(form, "RESP")))

    code, _, err = publish(capsys, site.url, v2)
    assert code == 1
    assert f"subject {number}, form vitals at D1 (version 1.0), field RESP, value 20" in err
    assert "say in the mapping that it is removed or renamed" in err
    mapping = mapping_file(site.tmp, {"forms": {"vitals": {"removed": ["RESP"]}}})
    code, out, err = publish(capsys, site.url, v2, "--mapping", str(mapping), "--note", "respiratory rate dropped")
    assert code == 0, err

    sync(a), sync(b)
    save(a, number, "D1", "vitals", {"RESP": 22}, reason="re-counted")  # still a field of 1.0
    with pytest.raises(ValidationFailed, match="RESP"):
        save(a, number, "D7", "vitals", VITALS)
    new = save(a, number, "D7", "vitals", {k: v for k, v in VITALS.items() if k != "RESP"})
    sync(a), sync(b)
    assert instance_version(b, new) == "1.1"

    done = b.amendments.upgrade(old, "amendment 2: respiratory rate no longer collected")
    assert done.dropped == ("RESP",)
    sync(b), sync(a)
    assert "RESP" not in values(a, number)[("D1", "vitals")] and instance_version(a, old) == "1.1"
    assert "RESP" not in server_fields(site.engine, old)
    assert "value 22" not in str(server_fields(site.engine, old))
    trail = [e for e in a.audit_events(number) if e.field_id == "RESP" and e.new_json == "22"]
    assert trail, "the removed field's values stay in the audit trail"

    assert "Respiratory" not in _printed(site, a, number, "D7", "new")
    assert "Respiratory" not in _printed(site, a, number, "D1", "upgraded")


def test_a_code_list_extended(site: Site, study, capsys: pytest.CaptureFixture[str]) -> None:
    a, b, number, old = _old_instance(site, study)

    def add_code(study_json: dict) -> None:
        study_json["codelists"]["O2SUPP"]["codes"].append(
            {"code": "ECMO", "label": {"en": "ECMO", "zh": "体外膜肺氧合"}}
        )

    # the shared list changes what vitals accepts: vitals must take a new version, or publishing refuses
    same = amended(site.tmp, "same", lambda form: None, version="1.0", study_change=add_code)
    code, _, err = publish(capsys, site.url, same)
    assert code == 1 and "form vitals differs from study version 1 but its version is still 1.0" in err
    v2 = amended(site.tmp, "v2", lambda form: None, study_change=add_code)
    code, _, err = publish(capsys, site.url, v2)
    assert code == 1 and "form crs_icans differs from study version 1" in err  # it shares the list
    bump(v2 / "crs_icans.json", "1.1")
    code, _, err = publish(capsys, site.url, v2)
    assert code == 0, err
    sync(a)
    with pytest.raises(ValidationFailed, match="O2SUPP"):
        save(a, number, "D1", "vitals", {"O2SUPP": "ECMO"}, reason="not a code of 1.0")
    new = save(a, number, "D7", "vitals", {**VITALS, "O2SUPP": "ECMO"})
    sync(a), sync(b)
    assert values(b, number)[("D7", "vitals")]["O2SUPP"] == "ECMO"
    assert server_fields(site.engine, new)["O2SUPP"] == '"ECMO"'

    b.amendments.upgrade(old, "amendment 2: ECMO added")
    save(b, number, "D1", "vitals", {"O2SUPP": "ECMO"}, reason="on ECMO since this morning")
    sync(b), sync(a)
    assert values(a, number)[("D1", "vitals")]["O2SUPP"] == "ECMO"
    assert server_fields(site.engine, old)["O2SUPP"] == '"ECMO"'
    assert "ECMO" in _printed(site, a, number, "D1", "upgraded")


def test_a_range_tightened(site: Site, study, capsys: pytest.CaptureFixture[str]) -> None:
    a, b, number, old = _old_instance(site, study, {**VITALS, "TEMP": 33.0})

    def tighten(form: dict) -> None:
        field(form, "TEMP")["range"] = {"min": 34, "max": 43}

    v2 = amended(site.tmp, "v2", tighten)
    code, _, err = publish(capsys, site.url, v2)
    assert code == 1
    assert f"subject {number}, form vitals at D1 (version 1.0), field TEMP, value 33.0" in err
    assert "recode it in the mapping" in err
    mapping = mapping_file(site.tmp, {"forms": {"vitals": {"recoded": {"TEMP": {"33.0": None}}}}})
    code, _, err = publish(capsys, site.url, v2, "--mapping", str(mapping))
    assert code == 0, err

    sync(a), sync(b)
    save(a, number, "D1", "vitals", {"HR": 70}, reason="re-measured")  # 33.0 stays valid on 1.0
    with pytest.raises(ValidationFailed, match="TEMP"):
        save(a, number, "D7", "vitals", {**VITALS, "TEMP": 33.5})
    save(a, number, "D7", "vitals", {**VITALS, "TEMP": 36.0})
    sync(a), sync(b)

    done = b.amendments.upgrade(old, "amendment 2: temperature range corrected")
    assert done.changed == ("TEMP",) and done.missing_required == ("TEMP",)
    sync(b), sync(a)
    assert "TEMP" not in values(a, number)[("D1", "vitals")]
    assert server_fields(site.engine, old).get("TEMP") is None
    assert [e.old_json for e in a.audit_events(number) if e.action == "value_clear" and e.field_id == "TEMP"] == [
        "33.0"
    ]
    assert "v1.1" in _printed(site, a, number, "D1", "upgraded")


def test_a_refused_publication_names_every_problem_and_changes_nothing(site: Site, study, capsys) -> None:
    a, _, number, _ = _old_instance(site, study)
    same_version = amended(site.tmp, "v2", lambda form: field(form, "HR")["range"].update(max=250), version="1.0")
    code, _, err = publish(capsys, site.url, same_version)
    assert code == 1 and "vitals.json: $.version: form vitals differs from study version 1" in err
    broken = amended(site.tmp, "v3", lambda form: field(form, "HR").update(type="number"))
    code, _, err = publish(capsys, site.url, broken)
    assert code == 1 and "vitals.json: $.fields[2].type" in err
    bad_mapping = mapping_file(site.tmp, {"forms": {"vitals": {"removed": ["NOPE"]}}})
    fine = amended(site.tmp, "v4", lambda form: field(form, "HR")["range"].update(max=250))
    code, _, err = publish(capsys, site.url, fine, "--mapping", str(bad_mapping))
    assert code == 1 and "$.forms.vitals.removed: form vitals had no field NOPE" in err
    sync(a)
    assert a.study_versions.numbers() == [1]
    capsys.readouterr()
    from cik_ecrf.cli import main

    assert main(["server", "study", "list", "--database-url", site.url]) == 0
    assert "nothing published" in capsys.readouterr().out
    assert publish(capsys, site.url, fine)[0] == 0
    main(["server", "study", "list", "--database-url", site.url])
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in listed] == ["1", "2"]
    assert number
