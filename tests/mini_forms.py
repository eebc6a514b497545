"""Tiny purpose-built studies for exercising the form language through `load_study` and `RulesEngine`.

`write_study(root, ...)` writes a study directory (study.json plus a few forms) and returns its path.
The default study has:

* code lists NY, COLOR (string codes RED/GREEN/BLUE) and GRADE (integer codes 0-3);
* visits `screening` (enrol, obs, probe), `V1` and `V2` (obs, probe), `V3` (late) and `subject` (events);
* `enrol`  - one instance at screening: ENRDAT (date), BRTHDAT (date), WT (decimal, shown when ENRDAT present);
* `obs`    - at screening, V1 and V2: WEIGHT (decimal 1), COLOR (choice), SECRET (hidden unless SHOW = "Y"),
             SHOW (yesno), HEIGHT_SCR (decimal, only at screening), DOUBLE (derived WEIGHT * 2);
* `events` - repeating, subject level: EVDAT (date), EVGRADE (choice GRADE), EVONGO (yesno);
* `late`   - at V3 only: NOTE (text);
* `probe`  - at screening, V1 and V2, one field of every type (see PROBE_FIELDS), plus whatever
             `probe_fields` / `probe_checks` a test adds.

Every label is bilingual, as the loader requires.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any


def label(text: str) -> dict[str, str]:
    return {"en": text, "zh": f"{text}（中文）"}


def codes(*values: Any) -> list[dict[str, Any]]:
    return [{"code": v, "label": label(str(v))} for v in values]


def field(fid: str, type_: str, **extra: Any) -> dict[str, Any]:
    return {"id": fid, "type": type_, "label": label(fid), **extra}


def derived(fid: str, expression: str, value_type: str, **extra: Any) -> dict[str, Any]:
    return field(fid, "derived", derive=expression, value_type=value_type, **extra)


def check(cid: str, expression: str, fields: list[str], severity: str = "error", **extra: Any) -> dict[str, Any]:
    return {
        "id": cid,
        "severity": severity,
        "assert": expression,
        "fields": fields,
        "message": {"en": f"{cid} failed", "zh": f"{cid} 未通过"},
        **extra,
    }


CODELISTS: dict[str, Any] = {
    "NY": {"label": label("No/Yes"), "codes": codes("Y", "N")},
    "COLOR": {"label": label("Colour"), "codes": codes("RED", "GREEN", "BLUE")},
    "GRADE": {"label": label("Grade"), "codes": codes(0, 1, 2, 3)},
}

VISITS: list[dict[str, Any]] = [
    {"id": "screening", "label": label("Screening"), "forms": ["enrol", "obs", "probe"]},
    {"id": "V1", "label": label("Visit 1"), "forms": ["obs", "probe"]},
    {"id": "V2", "label": label("Visit 2"), "forms": ["obs", "probe"]},
    {"id": "V3", "label": label("Visit 3"), "forms": ["late"]},
    {"id": "subject", "label": label("Subject"), "forms": ["events"]},
]

PROBE_FIELDS: list[dict[str, Any]] = [
    field("T", "text", length={"min": 2, "max": 5}, pattern="^[A-Z]+$"),
    field("N", "integer", range={"min": 0, "max": 100}, soft_range={"min": 10, "max": 90}),
    field("M", "integer"),
    field("X", "decimal", decimals=2, range={"min": -1000, "max": 1000}),
    field("D", "date", range={"min": "2000-01-01", "max": "today"}),
    field("E", "date"),
    field("P", "partial_date", range={"min": "2000-01-01", "max": "today"}),
    field("DT", "datetime", range={"max": "now"}),
    field("TM", "time"),
    field("C", "choice", codelist="COLOR"),
    field("G", "choice", codelist="GRADE"),
    field("MC", "multichoice", codelist="COLOR"),
    field("YN", "yesno"),
    field(
        "GRP",
        "group",
        min_rows=2,
        max_rows=3,
        fields=[
            field("VAL", "decimal", decimals=1, required=True, range={"min": 0, "max": 50}),
            field("DAY", "date"),
            field("KIND", "choice", codelist="COLOR"),
        ],
        checks=[check("ROW_VAL_LE_N", "VAL <= N", ["VAL"])],
    ),
]


def base_forms() -> dict[str, dict[str, Any]]:
    return {
        "enrol": {
            "id": "enrol",
            "version": "1",
            "title": label("Enrolment"),
            "fields": [
                field("ENRDAT", "date"),
                field("BRTHDAT", "date"),
                field("WT", "decimal", decimals=1, show_if="present(ENRDAT)"),
            ],
        },
        "obs": {
            "id": "obs",
            "version": "1",
            "title": label("Observation"),
            "fields": [
                field("WEIGHT", "decimal", decimals=1),
                field("COLOR", "choice", codelist="COLOR"),
                field("SHOW", "yesno"),
                field("SECRET", "integer", show_if='SHOW = "Y"'),
                field("HEIGHT_SCR", "decimal", decimals=1, visits=["screening"]),
                derived("DOUBLE", "WEIGHT * 2", "decimal", decimals=1),
            ],
        },
        "events": {
            "id": "events",
            "version": "1",
            "title": label("Events"),
            "repeating": True,
            "fields": [field("EVDAT", "date"), field("EVGRADE", "choice", codelist="GRADE"), field("EVONGO", "yesno")],
        },
        "late": {"id": "late", "version": "1", "title": label("Late"), "fields": [field("NOTE", "text")]},
        "probe": {
            "id": "probe",
            "version": "1",
            "title": label("Probe"),
            "fields": copy.deepcopy(PROBE_FIELDS),
            "checks": [],
        },
    }


def write_study(
    root: Path,
    probe_fields: list[dict[str, Any]] | tuple[dict[str, Any], ...] = (),
    probe_checks: list[dict[str, Any]] | tuple[dict[str, Any], ...] = (),
    forms: dict[str, dict[str, Any]] | None = None,
    visits: list[dict[str, Any]] | None = None,
    codelists: dict[str, Any] | None = None,
) -> Path:
    """Write the mini study into `root` (created if needed) and return `root`.

    `probe_fields` / `probe_checks` are appended to the probe form; `forms` replaces or adds whole forms.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    all_forms = base_forms()
    all_forms["probe"]["fields"] += [copy.deepcopy(f) for f in probe_fields]
    all_forms["probe"]["checks"] += [copy.deepcopy(c) for c in probe_checks]
    if forms:
        all_forms.update(copy.deepcopy(forms))
    study = {
        "id": "MINI",
        "version": "1",
        "title": label("Mini study"),
        "codelists": copy.deepcopy(codelists if codelists is not None else CODELISTS),
        "visits": copy.deepcopy(visits if visits is not None else VISITS),
    }
    (root / "study.json").write_text(json.dumps(study, ensure_ascii=False, indent=1), encoding="utf-8")
    for form_id, form in all_forms.items():
        (root / f"{form_id}.json").write_text(json.dumps(form, ensure_ascii=False, indent=1), encoding="utf-8")
    return root
