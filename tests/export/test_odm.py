"""ODM 1.3.2: a generated study with its whole schedule entered validates against the official schema
(odmlib's ODM1-3-2.xsd, with lxml), and reading the file back gives every value, status, form version,
audit record and signature; identifiers stay out unless asked for; a blinded file names no arm."""

from __future__ import annotations

import dataclasses
import io
import json
from pathlib import Path

import odmlib
import pytest
from lxml import etree
from synthetic import generate

from cik_ecrf.definitions.spec import StudyDefinition
from cik_ecrf.reporting.export.dataset import Dataset
from cik_ecrf.reporting.export.odm import odm_time, write_odm
from cik_ecrf.reporting.export.values import text

XSD = Path(odmlib.__file__).parent / "schemas" / "odm" / "1.3.2" / "ODM1-3-2.xsd"
NS = {"o": "http://www.cdisc.org/ns/odm/v1.3"}
ARM_WORDS = ("MRNA_CIK", "CONTROL", "mRNA-CIK", "Control cells")


@pytest.fixture(scope="module")
def schema() -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(XSD)))


@pytest.fixture(scope="module")
def dataset(study: StudyDefinition) -> Dataset:
    return generate(study, 6)


def _odm(dataset: Dataset, study: StudyDefinition) -> bytes:
    out = io.StringIO()
    write_odm(dataset, study, out)
    return out.getvalue().encode("utf-8")


def test_a_full_study_is_valid_odm_132(study: StudyDefinition, dataset: Dataset, schema: etree.XMLSchema) -> None:
    document = etree.fromstring(_odm(dataset, study))
    assert schema.validate(document), schema.error_log
    assert document.get("ODMVersion") == "1.3.2" and document.get("FileType") == "Snapshot"
    mdv = document.find("o:Study/o:MetaDataVersion", NS)
    temp = mdv.find("o:ItemDef[@OID='I.vitals.TEMP']", NS)
    assert temp.get("DataType") == "float" and temp.get("SignificantDigits") == "1"
    assert {t.get("{http://www.w3.org/XML/1998/namespace}lang"): t.text for t in temp.find("o:Question", NS)} == {
        "en": "Temperature",
        "zh": study.forms["vitals"].fields["TEMP"].definition.label.zh,
    }
    checks = {
        (r.get("Comparator"), r.get("SoftHard"), r.findtext("o:CheckValue", namespaces=NS))
        for r in temp.findall("o:RangeCheck", NS)
    }
    assert checks == {("GE", "Hard", "30"), ("LE", "Hard", "45"), ("GE", "Soft", "35"), ("LE", "Soft", "40")}
    assert temp.find("o:MeasurementUnitRef", NS) is not None
    assert mdv.find("o:CodeList[@OID='CL.RESP']/o:CodeListItem[@CodedValue='CR']", NS) is not None
    assert mdv.find("o:ItemGroupDef[@OID='IG.prior_cart.LOSSEV']", NS).get("Repeating") == "Yes"
    assert len(mdv.findall("o:StudyEventDef", NS)) == len(study.study.visits)


def test_reading_the_file_back_gives_every_value_status_and_audit_record(
    study: StudyDefinition, dataset: Dataset
) -> None:
    document = etree.fromstring(_odm(dataset, dataset_study := study))
    numbers = {s.id: s.number for s in dataset.subjects}
    read: dict[tuple[str, str, str, str], dict[str, str]] = {}
    statuses: dict[tuple[str, str, str, str], tuple[str, str]] = {}
    for subject in document.iterfind(".//o:SubjectData", NS):
        for visit in subject.iterfind("o:StudyEventData", NS):
            for form in visit.iterfind("o:FormData", NS):
                key = (
                    subject.get("SubjectKey"),
                    visit.get("StudyEventOID")[3:],
                    form.get("FormOID")[2:],
                    form.get("FormRepeatKey") or "1",
                )
                flags = {
                    f.findtext("o:FlagType", namespaces=NS): f.findtext("o:FlagValue", namespaces=NS)
                    for f in form.iterfind("o:Annotation/o:Flag", NS)
                }
                statuses[key] = (flags["STATUS"], flags["VERSION"])
                values = read.setdefault(key, {})
                for group in form.iterfind("o:ItemGroupData", NS):
                    row = group.get("ItemGroupRepeatKey")
                    for item in group.iterfind("o:ItemData", NS):
                        name = item.get("ItemOID").split(".", 2)[2]
                        values[f"{name}[{row}]" if row else name] = item.get("Value")
    seen: dict[tuple[str, str, str], int] = {}
    for instance in dataset.instances:
        part = (numbers[instance.subject_id], instance.visit, instance.form)
        seen[part] = seen.get(part, 0) + 1
        key = (*part, str(seen[part]) if dataset_study.forms[instance.form].repeating else "1")
        assert statuses[key] == (instance.status, instance.version)
        for field_id, value in instance.values.items():
            if (instance.form, field_id) in {("demographics", "SUBJINIT"), ("demographics", "BRTHDAT")}:
                assert field_id not in read[key]  # direct identifiers withheld by default
                continue
            if isinstance(value, list) and value and isinstance(value[0], dict):
                for n, row in enumerate(value, 1):
                    for column, cell in row.items():
                        assert read[key][f"{field_id}.{column}[{n}]"] == text(cell)
                continue
            expected = (
                odm_time(text(value))
                if dataset_study.forms[instance.form].fields[field_id].kind == "datetime"
                else text(value)
            )
            assert read[key][field_id] == expected, (key, field_id)
    records = document.findall(".//o:AuditRecords/o:AuditRecord", NS)
    assert len(records) == len(dataset.audit)
    for record, original in zip(records, dataset.audit):
        source = json.loads(record.findtext("o:SourceID", namespaces=NS))
        assert source["id"] == original.id and source["action"] == original.action
        assert record.find("o:UserRef", NS).get("UserOID") == f"U.{original.username}"
        assert record.findtext("o:ReasonForChange", namespaces=NS) == original.reason
        if original.field not in ("SUBJINIT", "BRTHDAT"):
            assert source.get("new") == original.new_json
    signatures = document.findall(".//o:Signatures/o:Signature", NS)
    assert len(signatures) == len(dataset.signatures)
    signed_forms = document.findall(".//o:FormData/o:Signature/o:SignatureRef[@SignatureOID='SD.author']", NS)
    assert len(signed_forms) == len(dataset.signatures)


def test_identifiers_only_when_asked_for(study: StudyDefinition, dataset: Dataset) -> None:
    plain = _odm(dataset, study)
    assert b'ItemOID="I.demographics.SUBJINIT" Value' not in plain
    identified = _odm(Dataset(**{**dataset.__dict__, "identified": True, "_by_subject": {}}), study)
    assert b'ItemOID="I.demographics.SUBJINIT" Value="AB"' in identified


def test_a_blinded_file_names_no_arm(study: StudyDefinition) -> None:
    unblinded = generate(study, 4, arms=True)
    blinded = Dataset(**{**unblinded.__dict__, "arms": None, "_by_subject": {}})
    text_ = _odm(blinded, study).decode("utf-8")
    assert not any(word in text_ for word in ARM_WORDS)


def test_one_metadata_version_per_study_version_in_use(
    study: StudyDefinition, dataset: Dataset, schema: etree.XMLSchema
) -> None:
    """An amendment's new vitals version: instances entered under 1.0 stay with version 1's metadata,
    the others go with version 2 (the newest version holding their form version)."""
    vitals = study.forms["vitals"]
    amended_vitals = dataclasses.replace(vitals, definition=vitals.definition.model_copy(update={"version": "1.1"}))
    amended = StudyDefinition(study.study, {**study.forms, "vitals": amended_vitals}, study.directory)
    moved = {i.id for i in dataset.instances if i.form == "vitals" and i.visit in ("D1", "D2")}
    instances = tuple(dataclasses.replace(i, version="1.1") if i.id in moved else i for i in dataset.instances)
    mixed = Dataset(**{**dataset.__dict__, "instances": instances, "_by_subject": {}})
    out = io.StringIO()
    write_odm(mixed, amended, out, {"v1": study, "v2": amended})
    document = etree.fromstring(out.getvalue().encode("utf-8"))
    assert schema.validate(document), schema.error_log
    assert [m.get("OID") for m in document.iterfind("o:Study/o:MetaDataVersion", NS)] == ["MDV.v1", "MDV.v2"]
    blocks = {c.get("MetaDataVersionOID"): c for c in document.iterfind("o:ClinicalData", NS)}
    old_forms = {f.get("FormOID") for f in blocks["MDV.v1"].iterfind(".//o:FormData", NS)}
    assert old_forms == {"F.vitals"}
    new_vitals = blocks["MDV.v2"].findall(".//o:FormData[@FormOID='F.vitals']", NS)
    assert len(new_vitals) == len(moved)
    assert blocks["MDV.v2"].find("o:AuditRecords", NS) is not None  # the trail once, with the newest
