"""One filled form as flowables: every item with label, value, units and code label; notes; signatures.

What an inspector must be able to read off the paper without the laptop: which items were not
applicable (hidden by a show-if), which required items are empty, which soft checks were confirmed
and why values changed, and who signed with what meaning, or that a signature was cleared.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from reportlab.lib import colors
from reportlab.lib.styles import ParagraphStyle
from reportlab.platypus import CondPageBreak, Flowable, KeepTogether, PageBreak, Paragraph, Spacer, Table, TableStyle

from ..definitions.models import I18n
from ..definitions.spec import FieldSpec, FormSpec
from ..rules.jsonvalues import to_json
from ..rules.results import FormEvaluation
from ..store.signatures import SignatureRecord, format_time
from . import fonts
from .document import Marker, Section

BODY = ParagraphStyle("body", fontName=fonts.LATIN, fontSize=8, leading=10)
SMALL = ParagraphStyle("small", parent=BODY, fontSize=6.5, leading=8, textColor=colors.HexColor("#555555"))
TITLE = ParagraphStyle("title", parent=BODY, fontName=fonts.LATIN_BOLD, fontSize=12, leading=15, spaceAfter=4)
HEADING = ParagraphStyle(
    "heading", parent=BODY, fontName=fonts.LATIN_BOLD, fontSize=9, leading=12, spaceBefore=6, spaceAfter=2
)
WIDTHS = (185, 140, 62, 180)  # item, value, units, code label: 567 pt between the margins of A4
GRID = TableStyle(
    [
        ("FONTNAME", (0, 0), (-1, -1), fonts.LATIN),  # cells given as plain strings: never an unembedded Helvetica
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#888888")),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("TOPPADDING", (0, 0), (-1, -1), 2),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ("LEFTPADDING", (0, 0), (-1, -1), 3),
        ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
)
NOT_APPLICABLE = "Not applicable · 不适用"
MISSING = "EMPTY — REQUIRED · 必填项未填"


@dataclass(frozen=True)
class Note:
    """A soft-check confirmation or a reason for change, from the audit trail."""

    at: str
    who: str
    text: str


@dataclass(frozen=True)
class PrintedForm:
    visit: str
    visit_label: I18n
    spec: FormSpec
    instance: str
    version: str  # the version the data was entered under
    status: str
    evaluation: FormEvaluation
    notes: tuple[Note, ...]
    signatures: tuple[SignatureRecord, ...]  # every signature covering this instance, active or cleared

    @property
    def needs_resigning(self) -> bool:
        return any(not s.active for s in self.signatures) and not any(s.active for s in self.signatures)


def para(text: str, style: ParagraphStyle = BODY, bold: bool = False, colour: str | None = None) -> Paragraph:
    body = fonts.markup(text, bold)
    return Paragraph(f'<font color="{colour}">{body}</font>' if colour else body, style)


def bilingual(text: I18n | str | None) -> str:
    if text is None:
        return ""
    if isinstance(text, str):
        return text
    return text.en if text.en == text.zh else f"{text.en} · {text.zh}"


def display(spec: FieldSpec, value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return ", ".join(display(spec, v) for v in value)
    if isinstance(value, Decimal):
        decimals = spec.definition.decimals
        return f"{value:.{decimals}f}" if decimals is not None else str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="minutes").replace("T", " ")
    return str(to_json(value))


def code_labels(spec: FieldSpec, value: Any) -> str:
    if not spec.codes or value is None:
        return ""
    values = value if isinstance(value, (list, tuple)) else [value]
    labels = []
    for v in values:
        en, zh = spec.code_label(v, "en"), spec.code_label(v, "zh")
        labels.append(f"{v} = {en}" + (f" · {zh}" if zh and zh != en else "") if en else f"{v}: not in the code list")
    return "; ".join(labels)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == ()


def _item_row(spec: FieldSpec, label: str, value: Any, state: str) -> list[Flowable]:
    kind = spec.definition.type
    note = (
        " (derived · 计算值)" if kind == "derived" else " (central · 中心)" if spec.definition.entry == "server" else ""
    )
    item = [para(label), para(f"{spec.id}{note}", SMALL)]
    if state == "na":
        value_cell: Flowable = para(NOT_APPLICABLE, SMALL)
    elif state == "missing":
        value_cell = para(MISSING, BODY, bold=True, colour="#b00000")
    elif state == "empty":
        value_cell = para("—")
    else:
        value_cell = para(display(spec, value), bold=True)
    return [
        item,
        value_cell,
        para(bilingual(spec.definition.units)),
        para(code_labels(spec, value) if state == "value" else ""),
    ]


def item_rows(form: PrintedForm) -> list[list[Any]]:
    ev = form.evaluation
    missing = set(ev.missing_required)
    rows: list[list[Any]] = []
    for spec in form.spec.fields.values():
        if not form.spec.applies(spec.id, form.visit):
            continue  # the field does not exist at this visit
        value = ev.values.get(spec.id)
        label = f"{spec.definition.label.en}\n{spec.definition.label.zh}"
        if spec.id not in ev.visible:
            rows.append(_item_row(spec, label, None, "na"))
            continue
        state = (
            "missing"
            if _empty(value) and (spec.id in missing or spec.id in ev.required)
            else "empty"
            if _empty(value)
            else "value"
        )
        if spec.definition.type != "group" or state != "value":
            rows.append(_item_row(spec, label, value, state))
            continue
        rows.append(
            _item_row(spec, label, None, "empty")[:1]
            + [para(f"{len(value)} row(s) · {len(value)} 行"), para(""), para("")]
        )
        for number, row in enumerate(value, start=1):
            for sub in spec.sub_fields:
                sub_value = row.get(sub.id) if isinstance(row, Mapping) else None
                where = f"{spec.id}[{number}].{sub.id}"
                sub_state = (
                    "missing"
                    if _empty(sub_value) and any(m.startswith(where) for m in missing)
                    else "empty"
                    if _empty(sub_value)
                    else "value"
                )
                cells = _item_row(
                    sub, f"   {number}. {sub.definition.label.en} · {sub.definition.label.zh}", sub_value, sub_state
                )
                cells[0] = [
                    para(f"   {number}. {sub.definition.label.en}\n   {sub.definition.label.zh}"),
                    para(f"   {where}", SMALL),
                ]
                rows.append(cells)
    return rows


def signature_block(
    signatures: tuple[SignatureRecord, ...], needs_resigning: bool, title: str = "Signatures · 签名"
) -> list[Flowable]:
    lines: list[Flowable] = [para(title, HEADING)]
    if not signatures:
        lines.append(para("Not signed · 未签名"))
    for s in signatures:
        where = {"form": f"form {s.visit}/{s.form}", "visit": f"visit {s.visit}", "casebook": "the whole casebook"}[
            s.scope
        ]
        text = (
            f"Electronically signed by {s.full_name} ({s.username}, {s.role}) · 电子签名\n"
            f"Signed at {s.signed_at()} · over {where}\n"
            f"Meaning: {s.meaning_text('en')}\n含义：{s.meaning_text('zh')}\n"
            f"Signed content SHA-256: {s.content_hash}"
        )
        if s.active:
            cell: Flowable = para(text)
        else:
            cleared = format_time(s.cleared_at_utc or "", s.utc_offset_min)
            cell = para(
                f"SIGNATURE CLEARED · 签名已失效 on {cleared}: the signed data changed ({s.cleared_reason})\n" + text,
                BODY,
                colour="#b00000",
            )
        box = Table([[cell]], colWidths=[sum(WIDTHS)])
        box.setStyle(
            TableStyle(
                [
                    ("FONTNAME", (0, 0), (-1, -1), fonts.LATIN),
                    ("BOX", (0, 0), (-1, -1), 0.8, colors.black if s.active else colors.HexColor("#b00000")),
                    ("LEFTPADDING", (0, 0), (-1, -1), 5),
                    ("TOPPADDING", (0, 0), (-1, -1), 3),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
                ]
            )
        )
        lines += [box, Spacer(1, 3)]
    if needs_resigning:
        lines.append(
            para(
                "This record changed after it was signed: it needs re-signing · 本记录签名后已修改，需要重新签名",
                BODY,
                bold=True,
                colour="#b00000",
            )
        )
    return [KeepTogether(lines)]


def form_section(form: PrintedForm, first: bool) -> list[Flowable]:
    spec = form.spec
    section = Section(
        f"{bilingual(form.visit_label)} ({form.visit})",
        f"{bilingual(spec.definition.title)} ({spec.id}) v{form.version}",
    )
    out: list[Flowable] = [] if first else [PageBreak()]
    out += [Marker(section), para(f"{spec.definition.title.en} · {spec.definition.title.zh}", TITLE)]
    out.append(
        para(
            f"Visit {section.visit} · form {spec.id}, version {form.version} · status: {form.status} · instance {form.instance}",
            SMALL,
        )
    )
    out.append(Spacer(1, 4))
    header = [para(h, bold=True) for h in ("Item · 项目", "Value · 值", "Units · 单位", "Code label · 代码含义")]
    table = Table([header, *item_rows(form)], colWidths=WIDTHS, repeatRows=1)
    table.setStyle(GRID)
    out.append(table)
    out += criteria_section(form)
    if form.notes:
        out.append(para("Soft-check confirmations and reasons for change · 软核查确认与修改原因", HEADING))
        out += [para(f"{n.at} · {n.who}: {n.text}", SMALL) for n in form.notes]
    out.append(CondPageBreak(60))
    out += signature_block(form.signatures, form.needs_resigning)
    return out


OUTCOMES = {
    "met": "met · 符合",
    "not met": "NOT MET · 不符合",
    "present": "PRESENT · 存在",
    "absent": "absent · 不存在",
    "not evaluable": "not evaluable · 无法判定",
}


def _source(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return f"{len(value)} row{'' if len(value) == 1 else 's'} · {len(value)} 行"
    if isinstance(value, dt.datetime):
        return value.isoformat(timespec="minutes").replace("T", " ")
    return str(to_json(value))


def criteria_section(form: PrintedForm) -> list[Flowable]:
    """Each eligibility criterion with its outcome and the values it read: the decision, checkable on paper."""
    result = form.evaluation.eligibility
    if result is None:
        return []
    labels = {c.id: c.definition.label for c in form.spec.criteria}
    header = [para(h, bold=True) for h in ("Criterion · 标准", "Outcome · 结果", "Source values · 依据数据")]
    rows = []
    for c in result.criteria:
        bad = c.outcome in ("not met", "present")
        rows.append(
            [
                para(f"{c.id} {bilingual(labels.get(c.id))}", SMALL),
                para(OUTCOMES.get(c.outcome, c.outcome), BODY, bold=bad, colour="#b00000" if bad else None),
                para("; ".join(f"{name} = {_source(v)}" for name, v in c.values.items()), SMALL),
            ]
        )
    verdict = {"Y": "Eligible · 符合入组条件", "N": "NOT eligible · 不符合入组条件"}.get(
        result.eligible or "", "Not yet evaluable · 尚无法判定"
    )
    table = Table([header, *rows], colWidths=(250, 85, sum(WIDTHS) - 335), repeatRows=1)
    table.setStyle(GRID)
    return [
        para("Eligibility criteria, one by one · 入选/排除标准逐条结果", HEADING),
        para(f"System assessment · 系统判定: {verdict}", BODY, bold=True),
        Spacer(1, 2),
        table,
    ]


def appendix_section(events: list[list[str]]) -> list[Flowable]:
    """The audit trail of the printed forms: every change with who, when, old → new, reason."""
    out: list[Flowable] = [
        PageBreak(),
        Marker(Section("all printed forms · 所有打印表单", "audit trail appendix · 稽查轨迹附录")),
        para("Audit trail appendix · 稽查轨迹附录", TITLE),
    ]
    header = [para(h, bold=True) for h in ("When (UTC, offset)", "Who", "What", "Change · reason")]
    table = Table(
        [header, *[[para(c, SMALL) for c in row] for row in events]],
        colWidths=(105, 80, 120, sum(WIDTHS) - 305),
        repeatRows=1,
    )
    table.setStyle(GRID)
    out.append(table)
    return out


__all__ = ["Note", "PrintedForm", "appendix_section", "form_section", "signature_block"]
