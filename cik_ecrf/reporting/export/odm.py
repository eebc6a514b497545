"""CDISC ODM 1.3.2 Snapshot: the study's metadata from the form definitions, every subject's data, the
audit trail and the signatures, in one XML file that validates against the official schema.

- Metadata: one MetaDataVersion per set of form versions in use (today one: the shipped definitions;
  `definitions` maps further version labels to their definitions when amendments bring them), with
  StudyEventDef per visit, FormDef, ItemGroupDef (a group field is its own repeating item group),
  ItemDef (data type, length, units, English and Chinese question, range checks, code list).
- ClinicalData: subject → visit → form → item groups → items. A form's status and version are an
  Annotation flag (ODM has no attribute for them), coded by CL.FORM_STATUS and CL.FORM_VERSION.
- The audit trail: every event of a subject in ClinicalData/AuditRecords; who, where and when are
  the record's UserRef, LocationRef and DateTimeStamp, the reason its ReasonForChange, and what
  changed (item, old and new value) its SourceID, as compact JSON (ODM's AuditRecord has no slot
  for values). Signatures: all of them in ClinicalData/Signatures, and each active one inline on the
  form, visit or casebook it signs, referring to a SignatureDef with its meaning.

Written as text with the standard library (the ward laptop has no lxml); tests validate with lxml.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import IO, Any
from xml.sax.saxutils import escape

from ... import __version__
from ...definitions.spec import FieldSpec, FormSpec, StudyDefinition
from ...rules import RulesEngine
from .dataset import AuditRecord, Dataset, SignatureRecord
from .values import FilledInstance, filled, text, withheld_fields

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


class _Writer:
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

    def admin(self) -> None:
        d = self.dataset
        self.w(f"<AdminData StudyOID={a('S.' + d.study_id)}>")
        users = {u.username: u for u in d.users}
        names = sorted({r.username for r in d.audit} | {s.username for s in d.signatures} | set(users))
        for name in names:
            user = users.get(name)
            self.w(f"<User OID={a(user_oid(name))}><LoginName>{t(name)}</LoginName>")
            if user is not None:
                self.w(f"<FullName>{t(user.full_name)}</FullName><Organization>{t(user.role)}</Organization>")
            self.w("</User>")
        sites = sorted(set(d.sites) | {s.site for s in d.subjects} | {r.site for r in d.audit})
        effective = d.created_at.date().isoformat()
        for site in sites:
            self.w(f'<Location OID={a(location_oid(site))} Name={a(site)} LocationType="Site">')
            for version in self.versions:
                self.w(f"<MetaDataVersionRef StudyOID={a('S.' + d.study_id)} MetaDataVersionOID={a(version.oid)}")
                self.w(f' EffectiveDate="{effective}"/>')
            self.w("</Location>")
        for meaning, text_ in MEANINGS.items():
            self.w(f'<SignatureDef OID={a("SD." + meaning)} Methodology="Electronic"><Meaning>{t(text_)}</Meaning>')
            self.w(f"<LegalReason>{t(LEGAL_REASON)}</LegalReason></SignatureDef>")
        self.w("</AdminData>")

    # ------------------------------------------------------------------ clinical data

    def signature(self, s: SignatureRecord, ident: str | None = None) -> None:
        id_attr = f" ID={a(ident)}" if ident else ""
        self.w(f"<Signature{id_attr}><UserRef UserOID={a(user_oid(s.username))}/>")
        self.w(
            f"<LocationRef LocationOID={a(location_oid(s.site))}/><SignatureRef SignatureOID={a('SD.' + s.meaning)}/>"
        )
        self.w(f"<DateTimeStamp>{t(odm_time(s.signed_at_utc))}</DateTimeStamp></Signature>")

    def clinical(self, items: list[FilledInstance], version: Version, audit: bool) -> None:
        d = self.dataset
        self.w(f"<ClinicalData StudyOID={a('S.' + d.study_id)} MetaDataVersionOID={a(version.oid)}>")
        active = [s for s in d.signatures if s.active]
        on_form: dict[str, SignatureRecord] = {}
        on_visit: dict[tuple[str, str], SignatureRecord] = {}
        on_subject: dict[str, SignatureRecord] = {}
        for s in active:
            if s.scope == "form":
                for instance_id in s.instance_ids:
                    on_form.setdefault(instance_id, s)
            elif s.scope == "visit" and s.visit:
                on_visit.setdefault((s.subject_id, s.visit), s)
            else:
                on_subject.setdefault(s.subject_id, s)
        index = 0
        while index < len(items):
            subject = items[index].subject
            self.w(f"<SubjectData SubjectKey={a(subject.number)}>")
            if subject.id in on_subject:
                self.signature(on_subject[subject.id])
            self.w(f"<SiteRef LocationOID={a(location_oid(subject.site))}/>")
            visit_key = None
            while index < len(items) and items[index].subject.id == subject.id:
                item = items[index]
                instance = item.instance
                key = (instance.visit, instance.visit_repeat)
                if key != visit_key:
                    if visit_key is not None:
                        self.w("</StudyEventData>")
                    visit_key = key
                    visit = self.study.visit(instance.visit) if instance.visit in self.study.visit_ids() else None
                    repeat = (
                        f' StudyEventRepeatKey="{instance.visit_repeat + 1}"'
                        if visit is not None and visit.repeatable
                        else ""
                    )
                    self.w(f"<StudyEventData StudyEventOID={a('SE.' + instance.visit)}{repeat}>")
                    if (subject.id, instance.visit) in on_visit:
                        self.signature(on_visit[(subject.id, instance.visit)])
                self.form_data(item, on_form.get(instance.id))
                index += 1
            if visit_key is not None:
                self.w("</StudyEventData>")
            self.w("</SubjectData>")
        if audit:
            self.audit_records()
            if d.signatures:
                self.w("<Signatures>")
                for n, s in enumerate(d.signatures, 1):
                    self.signature(s, f"SG.{n}")
                self.w("</Signatures>")
        self.w("</ClinicalData>")

    def form_data(self, item: FilledInstance, signature: SignatureRecord | None) -> None:
        form = item.form
        instance = item.instance
        repeat = f' FormRepeatKey="{item.repeat}"' if form.repeating else ""
        self.w(f"<FormData FormOID={a('F.' + form.id)}{repeat}>")
        if signature is not None:
            self.signature(signature)
        self.w('<Annotation SeqNum="1">')
        self.w(f'<Flag><FlagValue CodeListOID="CL.FORM_STATUS">{t(instance.status)}</FlagValue>')
        self.w('<FlagType CodeListOID="CL.FLAG_TYPE">STATUS</FlagType></Flag>')
        if instance.version:
            self.w(f'<Flag><FlagValue CodeListOID="CL.FORM_VERSION">{t(instance.version)}</FlagValue>')
            self.w('<FlagType CodeListOID="CL.FLAG_TYPE">VERSION</FlagType></Flag>')
        self.w("</Annotation>")
        values = item.values
        parts = [f"<ItemGroupData ItemGroupOID={a(group_oid(form.id))}>"]
        groups = []
        for spec in form.fields.values():
            if spec.id not in values:
                continue
            if spec.definition.type == "group":
                groups.append(spec)
                continue
            value = values[spec.id]
            shown = text(value)
            if spec.kind == "datetime":
                shown = odm_time(shown)
            elif spec.kind == "time" and len(shown) == 5:
                shown += ":00"
            parts.append(f'<ItemData ItemOID="I.{form.id}.{spec.id}" Value={a(shown)}/>')
        parts.append("</ItemGroupData>")
        self.w("".join(parts))
        for spec in groups:
            rows = values[spec.id]
            if not isinstance(rows, list):
                continue
            for n, row in enumerate(rows, 1):
                self.w(f'<ItemGroupData ItemGroupOID={a(group_oid(form.id, spec.id))} ItemGroupRepeatKey="{n}">')
                for sub in spec.sub_fields:
                    cell = row.get(sub.id) if isinstance(row, Mapping) else None
                    if cell is None or cell == "":
                        continue
                    oid = item_oid(form.id, f"{spec.id}.{sub.id}")
                    self.w(f"<ItemData ItemOID={a(oid)} Value={a(text(cell))}/>")
                self.w("</ItemGroupData>")
        self.w("</FormData>")

    def audit_records(self) -> None:
        d = self.dataset
        numbers = {s.id: s.number for s in d.subjects}
        records = [r for r in d.audit if r.subject_id in numbers]
        if not records:
            return
        self.w("<AuditRecords>")
        for n, record in enumerate(records, 1):
            self.audit_record(record, n, numbers)
        self.w("</AuditRecords>")

    def audit_record(self, r: AuditRecord, n: int, numbers: Mapping[str, str]) -> None:
        """One record; SourceID is compact JSON built by hand (this runs once per value of the study)."""
        edit = EDIT_POINTS.get(r.role or "")
        edit_attr = f' EditPoint="{edit}"' if edit else ""
        withheld = r.form is not None and r.field is not None and (r.form, r.field) in self.withheld
        parts = [f'"id":{encode_basestring(r.id)},"action":{encode_basestring(r.action)}']
        number = numbers.get(r.subject_id or "")
        for key, value in (("subject", number), ("visit", r.visit), ("form", r.form), ("instance", r.instance_id)):
            if value is not None:
                parts.append(f'"{key}":{encode_basestring(value)}')
        if r.form and r.field:
            parts.append(f'"item":{encode_basestring(item_oid(r.form, r.field))}')
        if withheld:
            parts.append('"withheld":true')
        else:
            if r.old_json is not None:
                parts.append(f'"old":{encode_basestring(r.old_json)}')
            if r.new_json is not None:
                parts.append(f'"new":{encode_basestring(r.new_json)}')
        if r.role is not None:
            parts.append(f'"role":{encode_basestring(r.role)}')
        parts.append(f'"offset_min":{int(r.utc_offset_min)}')
        reason = f"<ReasonForChange>{t(r.reason)}</ReasonForChange>" if r.reason else ""
        self.w(
            f'<AuditRecord ID="AR.{n}"{edit_attr}><UserRef UserOID={a(user_oid(r.username))}/>'
            f"<LocationRef LocationOID={a(location_oid(r.site))}/>"
            f"<DateTimeStamp>{t(odm_time(r.at_utc))}</DateTimeStamp>{reason}"
            f"<SourceID>{t('{' + ','.join(parts) + '}')}</SourceID></AuditRecord>"
        )


def write_odm(
    dataset: Dataset,
    study: StudyDefinition,
    out: IO[str],
    definitions: Mapping[str, StudyDefinition] | None = None,
    engine: RulesEngine | None = None,
) -> None:
    """Write the Snapshot to `out` (text, UTF-8). `definitions`: version label → definitions, oldest
    first; default: the study's current definitions only."""
    versions = [Version(label, spec) for label, spec in (definitions or {study.study.version: study}).items()]
    writer = _Writer(out, dataset, versions)
    created = dataset.created_at.isoformat(timespec="seconds")
    file_oid = f"F.{dataset.study_id}.{dataset.created_at.strftime('%Y%m%dT%H%M%S')}"
    out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    out.write(
        f'<ODM xmlns="{NS}" ODMVersion="1.3.2" FileType="Snapshot" Granularity="All" FileOID={a(file_oid)}'
        f' CreationDateTime={a(created)} AsOfDateTime={a(created)} SourceSystem="CIK-eCRF"'
        f" SourceSystemVersion={a(__version__)} Originator={a(dataset.source)}"
        f" Description={a(('identified' if dataset.identified else 'de-identified') + ' snapshot')}>"
    )
    writer.study_element()
    writer.admin()
    by_version: dict[str, list[FilledInstance]] = {v.oid: [] for v in versions}
    for item in filled(dataset, study, engine):
        # the newest version holding the instance's form version (as the study versions resolve it)
        target = next(
            (v for v in reversed(versions) if v.holds(item.instance.form, item.instance.version)), writer.current
        )
        by_version[target.oid].append(item)
    for version in versions:
        items = by_version[version.oid]
        if items or version is writer.current:
            writer.clinical(items, version, audit=version is writer.current)
    out.write("</ODM>\n")
