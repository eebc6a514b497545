"""CSV for a statistician: one file per form, a data dictionary, the endpoint dataset.

Every file is UTF-8 with a byte-order mark, so that Excel shows the Chinese. A form's file has one
row per instance (site, subject, visit, its repeat, the instance's number, form version, status) and
each field as its code column, followed for a coded field by a label column (`FIELD_LABEL`, in the
export's language). A group field (repeating rows inside a form) gets a file of its own,
`form__GROUP.csv`, one row per group row, keyed like the form's rows plus ROW. Multiple codes are
joined with '|'.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from ...definitions.spec import FieldSpec, StudyDefinition
from ...rules import RulesEngine
from .dataset import Dataset
from .endpoints import EXCLUDED_COLUMNS, EndpointData
from .values import exported_fields, filled, label, text, withheld_fields

ENCODING = "utf-8-sig"
KEYS = ("SITE", "SUBJECT", "VISIT", "VISIT_REPEAT", "INSTANCE", "FORM_VERSION", "STATUS")
DICTIONARY = "dictionary.csv"
DICTIONARY_COLUMNS = (
    "FORM",
    "FORM_VERSION",
    "FIELD",
    "LABEL_EN",
    "LABEL_ZH",
    "TYPE",
    "UNITS",
    "CODES",
    "DERIVATION",
    "IDENTIFIER",
    "COLUMNS",
)


def write_rows(path: Path, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
    with path.open("w", encoding=ENCODING, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        writer.writerows(rows)


def _coded(spec: FieldSpec) -> bool:
    return bool(spec.codes)


def _columns(fields: list[FieldSpec]) -> list[str]:
    out: list[str] = []
    for spec in fields:
        if spec.definition.type == "group":
            continue
        out.append(spec.id)
        if _coded(spec):
            out.append(f"{spec.id}_LABEL")
    return out


def _type(spec: FieldSpec) -> str:
    d = spec.definition
    kind = spec.kind or "text"
    if kind == "decimal" and d.decimals is not None:
        kind = f"decimal({d.decimals})"
    if d.type == "derived":
        kind = f"derived {kind}"
    return kind


def _codes(spec: FieldSpec) -> str:
    return "; ".join(f"{c.code}={c.label.en}/{c.label.zh}" for c in spec.codes)


def _units(spec: FieldSpec) -> str:
    units = spec.definition.units
    if units is None:
        return ""
    return units if isinstance(units, str) else f"{units.en} / {units.zh}"


def write_dictionary(path: Path, study: StudyDefinition, withheld: frozenset[tuple[str, str]]) -> None:
    rows = []
    for form in study.forms.values():
        for spec in form.fields.values():
            identifier = (form.id, spec.id) in withheld
            specs = [(spec.id, spec)] + [(f"{spec.id}.{sub.id}", sub) for sub in spec.sub_fields]
            for name, s in specs:
                d = s.definition
                columns = "" if identifier or d.type == "group" else name + (f", {name}_LABEL" if _coded(s) else "")
                if d.type == "group":
                    columns = f"{form.id}__{spec.id}.csv"
                rows.append(
                    (
                        form.id,
                        form.version,
                        name,
                        d.label.en,
                        d.label.zh,
                        _type(s),
                        _units(s),
                        _codes(s),
                        d.derive or "",
                        "Y (withheld)" if identifier else "N",
                        columns,
                    )
                )
    write_rows(path, DICTIONARY_COLUMNS, rows)


def write_forms(
    directory: Path,
    dataset: Dataset,
    study: StudyDefinition,
    language: str = "en",
    engine: RulesEngine | None = None,
) -> list[Path]:
    """One CSV per form (and per group field) plus the dictionary; returns the files written."""
    directory.mkdir(parents=True, exist_ok=True)
    withheld = withheld_fields(dataset, study)
    fields: dict[str, list[FieldSpec]] = {f.id: exported_fields(f, withheld) for f in study.forms.values()}
    rows: dict[str, list[list[str]]] = {f: [] for f in study.forms}
    group_rows: dict[tuple[str, str], list[list[str]]] = {
        (f.id, s.id): [] for f in study.forms.values() for s in fields[f.id] if s.definition.type == "group"
    }
    for item in filled(dataset, study, engine):
        instance = item.instance
        keys = [
            item.subject.site,
            item.subject.number,
            instance.visit,
            str(instance.visit_repeat + 1),
            str(item.repeat),
            instance.version,
            instance.status,
        ]
        row = list(keys)
        for spec in fields[item.form.id]:
            value = item.values.get(spec.id)
            if spec.definition.type == "group":
                for n, cells in enumerate(value or [], 1):
                    out = [*keys, str(n)]
                    for sub in spec.sub_fields:
                        cell = cells.get(sub.id) if isinstance(cells, dict) else None
                        out.append(text(cell))
                        if _coded(sub):
                            out.append(label(sub, cell, language))
                    group_rows[(item.form.id, spec.id)].append(out)
                continue
            row.append(text(value))
            if _coded(spec):
                row.append(label(spec, value, language))
        rows[item.form.id].append(row)
    written = []
    for form_id, form_rows in rows.items():
        path = directory / f"{form_id}.csv"
        write_rows(path, [*KEYS, *_columns(fields[form_id])], form_rows)
        written.append(path)
    for (form_id, group_id), cells in group_rows.items():
        group = study.forms[form_id].fields[group_id]
        path = directory / f"{form_id}__{group_id}.csv"
        write_rows(path, [*KEYS, "ROW", *_columns(list(group.sub_fields))], cells)
        written.append(path)
    dictionary = directory / DICTIONARY
    write_dictionary(dictionary, study, withheld)
    written.append(dictionary)
    return written


def write_endpoints(path: Path, data: EndpointData) -> list[Path]:
    """The ADTTE-shaped dataset, and beside it `<name>_excluded.csv`: subjects left out, with the reason."""
    columns = data.columns()
    records = data.records()
    write_rows(path, columns, ([r[c] for c in columns] for r in records))
    side = path.with_name(f"{path.stem}_excluded{path.suffix or '.csv'}")
    write_rows(side, EXCLUDED_COLUMNS, ([e.record()[c] for c in EXCLUDED_COLUMNS] for e in data.excluded))
    return [path, side]
