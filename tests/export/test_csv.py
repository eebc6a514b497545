"""CSV read back with the standard library: one file per form, code and label columns, a dictionary in
both languages, UTF-8 with a byte-order mark; and the endpoint dataset with its side file."""

from __future__ import annotations

import csv
from pathlib import Path

from synthetic import generate

from cik_ecrf.definitions.spec import StudyDefinition
from cik_ecrf.reporting.export.csv_export import write_endpoints, write_forms
from cik_ecrf.reporting.export.endpoints import derive


def _read(path: Path) -> list[dict[str, str]]:
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # Excel opens UTF-8 with a BOM as UTF-8
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def test_forms_and_dictionary_read_back(study: StudyDefinition, tmp_path: Path) -> None:
    dataset = generate(study, 3)
    files = write_forms(tmp_path, dataset, study, language="zh")
    assert {p.name for p in files} >= {"vitals.csv", "response.csv", "prior_cart__LOSSEV.csv", "dictionary.csv"}
    vitals = _read(tmp_path / "vitals.csv")
    expected = [i for i in dataset.instances if i.form == "vitals"]
    assert len(vitals) == len(expected)
    first = vitals[0]
    assert list(first)[:7] == ["SITE", "SUBJECT", "VISIT", "VISIT_REPEAT", "INSTANCE", "FORM_VERSION", "STATUS"]
    assert first["FORM_VERSION"] == "1.0" and first["STATUS"] == "complete"
    o2 = study.forms["vitals"].fields["O2SUPP"]
    assert first["O2SUPP_LABEL"] == o2.code_label(first["O2SUPP"], "zh")
    response = _read(tmp_path / "response.csv")
    assert {r["QUALRESP"] for r in response} <= {"Y", "N", ""} and "QUALRESP_LABEL" in response[0]  # derived, computed
    demographics = _read(tmp_path / "demographics.csv")
    assert "SUBJINIT" not in demographics[0] and "BRTHDAT" not in demographics[0] and demographics[0]["SEX"]
    losses = _read(tmp_path / "prior_cart__LOSSEV.csv")
    assert len(losses) == 2 * 3 and losses[0]["ROW"] == "1" and losses[0]["LOSSMETH_LABEL"]
    dictionary = {(r["FORM"], r["FIELD"]): r for r in _read(tmp_path / "dictionary.csv")}
    temp = dictionary[("vitals", "TEMP")]
    assert (temp["LABEL_EN"], temp["TYPE"], temp["UNITS"]) == ("Temperature", "decimal(1)", "°C")
    assert temp["LABEL_ZH"] == study.forms["vitals"].fields["TEMP"].definition.label.zh
    assert "CR=Complete remission" in dictionary[("response", "OVRLRESP")]["CODES"].replace(" (CR)", "")
    assert dictionary[("demographics", "SUBJINIT")]["IDENTIFIER"].startswith("Y")


def test_endpoint_dataset_and_side_file(study: StudyDefinition, tmp_path: Path) -> None:
    data = derive(generate(study, 6, arms=True), study)
    path, side = write_endpoints(tmp_path / "adtte.csv", data)
    rows = _read(path)
    assert list(rows[0]) == [
        "STUDYID",
        "USUBJID",
        "ARM",
        "PARAMCD",
        "PARAM",
        "STARTDT",
        "ADT",
        "AVAL",
        "CNSR",
        "EVNTDESC",
        "CNSDTDSC",
        "SRCDOM",
        "SRCVAR",
    ]
    assert {r["PARAMCD"] for r in rows} == {"EFS", "PFS", "DOR", "OS"}
    assert all(int(r["AVAL"]) >= 1 and r["CNSR"] in ("0", "1") for r in rows)
    assert _read(side) == [] and side.name == "adtte_excluded.csv"
