"""The metadata half of the ODM writer: the study, its measurement units and one MetaDataVersion per study
version (StudyEventDef, FormDef, ItemGroupDef, ItemDef, CodeList), from the form definitions; and the
text helpers (escaping on the hot path, OIDs) both halves share."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import IO, Any
from xml.sax.saxutils import escape

from ...definitions.spec import FieldSpec, FormSpec, StudyDefinition
from .dataset import Dataset
from .values import text, withheld_fields

NS = "http://www.cdisc.org/ns/odm/v1.3"
STATUSES = ("draft", "complete", "signed", "locked")
MEANINGS = {
    "author": "I am the author of this record and attest that its content is accurate and complete.",
    "review": "I have reviewed the content of this record.",
    "approve": "I have reviewed and approve the content of this record.",
}
LEGAL_REASON = "Electronic signature (21 CFR Part 11): user id and password, checked when signing"
DATA_TYPES = {
    "text": "text",
    "integer": "integer",
    "decimal": "float",
    "date": "date",
    "partial_date": "partialDate",
    "datetime": "datetime",
    "time": "time",
    "choice": "text",
    "multichoice": "text",
    "yesno": "text",
}
EDIT_POINTS = {"monitor": "Monitoring", "data_manager": "DataManagement"}


_ATTR_SPECIAL = re.compile(r'[&<>"\n\r\t]')
_TEXT_SPECIAL = re.compile(r"[&<>]")
_ATTR_ENTITIES = {'"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}


def a(value: object) -> str:
    """An attribute value in double quotes. Most values need no escaping, so that is checked first:
    this runs for every item of the study."""
    text_ = str(value)
    if _ATTR_SPECIAL.search(text_) is None:
        return f'"{text_}"'
    return '"' + escape(text_, _ATTR_ENTITIES) + '"'


def t(value: object) -> str:
    text_ = str(value)
    return text_ if _TEXT_SPECIAL.search(text_) is None else escape(text_)


def item_oid(form: str, field: str) -> str:
    return f"I.{form}.{field}"


def group_oid(form: str, group: str | None = None) -> str:
    return f"IG.{form}" if group is None else f"IG.{form}.{group}"


def location_oid(site: str) -> str:
    return f"LOC.{site}"


def user_oid(username: str) -> str:
    return f"U.{username}"


def mdv_oid(label: str) -> str:
    return f"MDV.{label}"


def odm_time(text_: str) -> str:
    """xs:dateTime needs seconds: '2026-03-01T08:30+08:00' → '2026-03-01T08:30:00+08:00'."""
    date, sep, rest = text_.partition("T")
    if not sep:
        return text_
    clock = rest[:5]
    tail = rest[5:]
    if not tail.startswith(":"):
        tail = ":00" + tail
    return f"{date}T{clock}{tail}"


@dataclass(frozen=True)
class Version:
    """One MetaDataVersion: a label and the definitions it describes."""

    label: str
    study: StudyDefinition

    @property
    def oid(self) -> str:
        return mdv_oid(self.label)

    def holds(self, form: str, version: str) -> bool:
        spec = self.study.forms.get(form)
        return spec is not None and spec.version == version


def _value_type(spec: FieldSpec) -> str:
    kind = spec.kind
    if spec.codes and kind in ("choice", "derived") and all(isinstance(c.code, int) for c in spec.codes):
        return "integer"
    return DATA_TYPES.get(kind or "text", "text")


def _codelist_oid(form: FormSpec, spec: FieldSpec) -> str | None:
    d = spec.definition
    if not spec.codes or spec.kind == "multichoice":
        return None
    if d.type == "yesno" or spec.kind == "yesno":
        return "CL.NY"
    if d.codelist:
        return f"CL.{d.codelist}"
    return f"CL.{form.id}.{spec.id}"


def _units(spec: FieldSpec) -> tuple[str, str] | None:
    units = spec.definition.units
    if units is None:
        return None
    return (units, units) if isinstance(units, str) else (units.en, units.zh)


def _bound(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str) and value in ("today", "now"):
        return None
    return text(value)


class MetadataWriter:
    """Writes the Study element; `odm._Writer` adds administration and clinical data."""

    def __init__(self, out: IO[str], dataset: Dataset, versions: list[Version]) -> None:
        self.out = out
        self.dataset = dataset
        self.versions = versions
        self.current = versions[-1]
        self.study = self.current.study
        self.withheld = withheld_fields(dataset, self.study)
        self.units: dict[tuple[str, str], str] = {}
        for version in versions:
            for form in version.study.forms.values():
                for spec in self._all_fields(form):
                    units = _units(spec)
                    if units is not None and units not in self.units:
                        self.units[units] = f"MU.{len(self.units) + 1}"

    @staticmethod
    def _all_fields(form: FormSpec) -> Iterable[FieldSpec]:
        for spec in form.fields.values():
            yield spec
            yield from spec.sub_fields

    def w(self, text_: str) -> None:
        self.out.write(text_)

    # ------------------------------------------------------------------ study and metadata

    def study_element(self) -> None:
        s = self.study.study
        self.w(f"<Study OID={a('S.' + s.id)}><GlobalVariables><StudyName>{t(s.id)}</StudyName>")
        self.w(f"<StudyDescription>{t(s.title.en)} / {t(s.title.zh)}</StudyDescription>")
        self.w(f"<ProtocolName>{t(s.id)}</ProtocolName></GlobalVariables>")
        if self.units:
            self.w("<BasicDefinitions>")
            for (en, zh), oid in self.units.items():
                self.w(f"<MeasurementUnit OID={a(oid)} Name={a(en)}><Symbol>")
                self.w(f'<TranslatedText xml:lang="en">{t(en)}</TranslatedText>')
                self.w(f'<TranslatedText xml:lang="zh">{t(zh)}</TranslatedText></Symbol></MeasurementUnit>')
            self.w("</BasicDefinitions>")
        for version in self.versions:
            self.metadata(version)
        self.w("</Study>")

    def translated(self, element: str, en: str, zh: str) -> None:
        self.w(f'<{element}><TranslatedText xml:lang="en">{t(en)}</TranslatedText>')
        self.w(f'<TranslatedText xml:lang="zh">{t(zh)}</TranslatedText></{element}>')

    def metadata(self, version: Version) -> None:
        study = version.study
        s = study.study
        self.w(f"<MetaDataVersion OID={a(version.oid)} Name={a(s.id + ' definitions ' + version.label)}")
        self.w(f" Description={a('form versions: ' + ', '.join(f'{f.id} {f.version}' for f in study.forms.values()))}>")
        self.w("<Protocol>")
        for n, visit in enumerate(s.visits, 1):
            self.w(f'<StudyEventRef StudyEventOID={a("SE." + visit.id)} OrderNumber="{n}" Mandatory="No"/>')
        self.w("</Protocol>")
        for visit in s.visits:
            kind = "Unscheduled" if visit.repeatable else "Scheduled" if visit.window else "Common"
            repeating = "Yes" if visit.repeatable else "No"
            self.w(
                f'<StudyEventDef OID={a("SE." + visit.id)} Name={a(visit.label.en)} Repeating="{repeating}" Type="{kind}">'
            )
            self.translated("Description", visit.label.en, visit.label.zh)
            for n, form_id in enumerate(f for f in dict.fromkeys(study.forms_at(visit.id)) if f in study.forms):
                self.w(f'<FormRef FormOID={a("F." + form_id)} OrderNumber="{n + 1}" Mandatory="No"/>')
            self.w("</StudyEventDef>")
        for form in study.forms.values():
            title = form.definition.title
            repeating = "Yes" if form.repeating else "No"
            self.w(f'<FormDef OID={a("F." + form.id)} Name={a(title.en)} Repeating="{repeating}">')
            self.translated("Description", title.en, title.zh)
            self.w(f'<ItemGroupRef ItemGroupOID={a(group_oid(form.id))} OrderNumber="1" Mandatory="Yes"/>')
            groups = [spec for spec in form.fields.values() if spec.definition.type == "group"]
            for n, spec in enumerate(groups, 2):
                self.w(
                    f'<ItemGroupRef ItemGroupOID={a(group_oid(form.id, spec.id))} OrderNumber="{n}" Mandatory="No"/>'
                )
            self.w("</FormDef>")
        for form in study.forms.values():
            self.item_groups(form)
        for form in study.forms.values():
            for spec in form.fields.values():
                if spec.definition.type == "group":
                    for sub in spec.sub_fields:
                        self.item_def(form, sub, f"{spec.id}.{sub.id}")
                else:
                    self.item_def(form, spec, spec.id)
        self.codelists(study)
        self.w("</MetaDataVersion>")

    def item_groups(self, form: FormSpec) -> None:
        title = form.definition.title
        self.w(f'<ItemGroupDef OID={a(group_oid(form.id))} Name={a(title.en)} Repeating="No">')
        n = 0
        for spec in form.fields.values():
            if spec.definition.type == "group":
                continue
            n += 1
            mandatory = "Yes" if spec.definition.required else "No"
            self.w(f'<ItemRef ItemOID={a(item_oid(form.id, spec.id))} OrderNumber="{n}" Mandatory="{mandatory}"/>')
        self.w("</ItemGroupDef>")
        for spec in form.fields.values():
            if spec.definition.type != "group":
                continue
            label = spec.definition.label
            self.w(f'<ItemGroupDef OID={a(group_oid(form.id, spec.id))} Name={a(label.en)} Repeating="Yes">')
            for n, sub in enumerate(spec.sub_fields, 1):
                mandatory = "Yes" if sub.definition.required else "No"
                oid = item_oid(form.id, f"{spec.id}.{sub.id}")
                self.w(f'<ItemRef ItemOID={a(oid)} OrderNumber="{n}" Mandatory="{mandatory}"/>')
            self.w("</ItemGroupDef>")

    def item_def(self, form: FormSpec, spec: FieldSpec, path: str) -> None:
        d = spec.definition
        data_type = _value_type(spec)
        attrs = f'OID={a(item_oid(form.id, path))} Name={a(path)} DataType="{data_type}"'
        if data_type == "text" and d.length is not None and d.length.max is not None:
            attrs += f' Length="{d.length.max}"'
        if data_type == "float" and d.decimals is not None:
            attrs += f' SignificantDigits="{d.decimals}"'
        if d.type == "derived":
            attrs += f' Origin="Derived" Comment={a(d.derive or "computed by the system")}'
        if (form.id, spec.id) in self.withheld:
            attrs += ' Comment="direct identifier: withheld from this export"'
        self.w(f"<ItemDef {attrs}>")
        if spec.kind == "multichoice":
            self.translated(
                "Description",
                f"codes separated by '|' from {d.codelist or 'the inline list'}",
                f"多个代码以“|”分隔（{d.codelist or '内联代码表'}）",
            )
        self.translated("Question", d.label.en, d.label.zh)
        units = _units(spec)
        if units is not None:
            self.w(f"<MeasurementUnitRef MeasurementUnitOID={a(self.units[units])}/>")
        for bounds, hardness in ((d.range, "Hard"), (d.soft_range, "Soft")):
            if bounds is None:
                continue
            for value, comparator in ((bounds.min, "GE"), (bounds.max, "LE")):
                shown = _bound(value)
                if shown is not None:
                    self.w(f'<RangeCheck Comparator="{comparator}" SoftHard="{hardness}">')
                    self.w(f"<CheckValue>{t(shown)}</CheckValue></RangeCheck>")
        codelist = _codelist_oid(form, spec)
        if codelist is not None:
            self.w(f"<CodeListRef CodeListOID={a(codelist)}/>")
        self.w("</ItemDef>")

    def codelists(self, study: StudyDefinition) -> None:
        written: set[str] = set()
        for form in study.forms.values():
            for spec in self._all_fields(form):
                oid = _codelist_oid(form, spec)
                if oid is None or oid in written:
                    continue
                written.add(oid)
                name = spec.definition.codelist or ("NY" if oid == "CL.NY" else f"{form.id}.{spec.id}")
                data_type = "integer" if all(isinstance(c.code, int) for c in spec.codes) else "text"
                self.w(f'<CodeList OID={a(oid)} Name={a(name)} DataType="{data_type}">')
                for n, code in enumerate(spec.codes, 1):
                    self.w(f'<CodeListItem CodedValue={a(code.code)} OrderNumber="{n}">')
                    self.translated("Decode", code.label.en, code.label.zh)
                    self.w("</CodeListItem>")
                self.w("</CodeList>")
        versions = sorted({f.version for f in study.forms.values()} | {i.version for i in self.dataset.instances})
        for oid, name, codes in (
            ("CL.FORM_STATUS", "Form status", STATUSES),
            ("CL.FORM_VERSION", "Form definition version", tuple(v for v in versions if v)),
            ("CL.FLAG_TYPE", "Form annotation", ("STATUS", "VERSION")),
        ):
            self.w(f'<CodeList OID={a(oid)} Name={a(name)} DataType="text">')
            for n, code in enumerate(codes, 1):
                self.w(f'<CodeListItem CodedValue={a(code)} OrderNumber="{n}">')
                self.translated("Decode", code, code)
                self.w("</CodeListItem>")
            self.w("</CodeList>")

    # ------------------------------------------------------------------ administration
