"""A field renamed and a code recoded: refused without a mapping (each value named), carried over by
the mapping at the upgrade, on every laptop and on the server."""

from __future__ import annotations

import json

from amend import VITALS, Site, amended, field, instance_version, mapping_file, publish, server_fields
from sync_fixtures import save, sync, values


def _rename_and_recode(form: dict) -> None:
    field(form, "WEIGHT")["id"] = "WEIGHT_KG"
    o2 = field(form, "O2SUPP")
    del o2["codelist"]
    o2["choices"] = [
        {"code": "ROOM_AIR", "label": {"en": "Room air", "zh": "呼吸空气"}},
        {"code": "LOW_FLOW", "label": {"en": "Low-flow oxygen", "zh": "低流量吸氧"}},
        {"code": "HIGH_FLOW", "label": {"en": "High-flow oxygen", "zh": "高流量吸氧"}},
        {"code": "NIV", "label": {"en": "Non-invasive ventilation", "zh": "无创通气"}},
        {"code": "MECH", "label": {"en": "Invasive mechanical ventilation", "zh": "有创机械通气"}},
    ]
    # the body surface area reads the weight under its new name
    bsa = field(form, "BSA")
    bsa["derive"] = bsa["derive"].replace("WEIGHT", "WEIGHT_KG")


def test_a_field_renamed_and_a_code_recoded(site: Site, study, capsys) -> None:
    a = site.laptop("a", "nurse1", study)
    b = site.laptop("b", "nurse2", study)
    number = a.add_subject()
    old = save(a, number, "D1", "vitals", VITALS)
    sync(a), sync(b)
    v2 = amended(site.tmp, "v2", _rename_and_recode)

    code, _, err = publish(capsys, site.url, v2)
    assert code == 1
    assert f"subject {number}, form vitals at D1 (version 1.0), field WEIGHT, value 40" in err
    assert f'subject {number}, form vitals at D1 (version 1.0), field O2SUPP, value "NONE"' in err
    mapping = {"forms": {"vitals": {"renamed": {"WEIGHT": "WEIGHT_KG"}, "recoded": {"O2SUPP": {"NONE": "ROOM_AIR"}}}}}
    code, _, err = publish(capsys, site.url, v2, "--mapping", str(mapping_file(site.tmp, mapping)))
    assert code == 0, err

    sync(a), sync(b)
    done = b.amendments.upgrade(old, "amendment 2: weight in kg, oxygen support recoded")
    assert set(done.changed) == {"WEIGHT_KG", "O2SUPP"} and done.dropped == ("WEIGHT",)
    sync(b), sync(a)
    held = values(a, number)[("D1", "vitals")]
    assert held["WEIGHT_KG"] == 40 and held["O2SUPP"] == "ROOM_AIR" and "WEIGHT" not in held
    assert instance_version(a, old) == "1.1"
    on_server = server_fields(site.engine, old)
    assert (
        json.loads(on_server["WEIGHT_KG"]) == 40 and on_server["O2SUPP"] == '"ROOM_AIR"' and "WEIGHT" not in on_server
    )
    moved = [e for e in a.audit_events(number) if e.action == "value_set" and e.field_id == "O2SUPP"]
    assert moved[-1].old_json == '"NONE"' and moved[-1].reason.startswith("amendment 2")
