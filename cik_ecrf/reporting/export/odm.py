"""CDISC ODM 1.3.2 Snapshot: the study's metadata from the form definitions, every subject's data, the
audit trail and the signatures, in one XML file that validates against the official schema.

- Metadata (odm_metadata.py): one MetaDataVersion per study version in use (`definitions`: the versions
  published on the server or received by a laptop, oldest first), with
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

from collections.abc import Mapping
from json.encoder import encode_basestring  # type: ignore[attr-defined]
from typing import IO

from ... import __version__
from ...definitions.spec import StudyDefinition
from ...rules import RulesEngine
from .dataset import AuditRecord, Dataset, SignatureRecord
from .odm_metadata import (
    EDIT_POINTS,
    LEGAL_REASON,
    MEANINGS,
    NS,
    MetadataWriter,
    Version,
    a,
    group_oid,
    item_oid,
    location_oid,
    odm_time,
    t,
    user_oid,
)
from .values import FilledInstance, filled, text

__all__ = ["Version", "odm_time", "write_odm"]


class _Writer(MetadataWriter):
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
