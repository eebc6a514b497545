"""The blank CRF set: every form on paper, for when a ward laptop fails mid-visit.

What the nurse writes later into the eCRF must be collected the same way on paper: each item with
its label in both languages, its units, the codes to tick, the format and range to respect, when
it applies (show-if, visit restrictions), and a wet-ink signature line with the meanings.
"""

from __future__ import annotations

import datetime as dt

from reportlab.lib import colors
from reportlab.platypus import Flowable, KeepTogether, PageBreak, Spacer, Table, TableStyle

from ..definitions.spec import FieldSpec, FormSpec, StudyDefinition
from ..store.signatures import MEANINGS
from . import fonts
from .document import Marker, PageFacts, Section, build, format_generated
from .render import BODY, GRID, SMALL, TITLE, WIDTHS, bilingual, para

FORMATS = {
    "date": "YYYY-MM-DD",
    "partial_date": "YYYY, YYYY-MM or YYYY-MM-DD",
    "datetime": "YYYY-MM-DD hh:mm ±hh:mm",
    "time": "hh:mm",
    "integer": "whole number",
    "yesno": "tick one",
    "choice": "tick one",
    "multichoice": "tick all that apply",
}
BLANK = "____________"


def _hints(spec: FieldSpec) -> str:
    d = spec.definition
    hints = []
    if d.type == "decimal":
        hints.append(f"{d.decimals} decimal(s)" if d.decimals is not None else "number")
    elif d.type in FORMATS:
        hints.append(FORMATS[d.type])
    if d.range is not None:
        hints.append(
            f"allowed {d.range.min if d.range.min is not None else '…'} – {d.range.max if d.range.max is not None else '…'}"
        )
    if d.soft_range is not None:
        hints.append(
            f"expected {d.soft_range.min if d.soft_range.min is not None else '…'} – {d.soft_range.max if d.soft_range.max is not None else '…'}"
        )
    if d.required:
        hints.append("required · 必填")
    if d.required_if:
        hints.append(f"required if {d.required_if}")
    if d.show_if:
        hints.append(f"only if {d.show_if}; otherwise write N/A · 不适用")
    if d.visits:
        hints.append(f"only at {', '.join(d.visits)}")
    return "; ".join(hints)


def _options(spec: FieldSpec) -> str:
    return "\n".join(f"☐ {c.code} {bilingual(c.label)}" for c in spec.codes)


def _field_rows(spec: FieldSpec) -> list[list[Flowable]]:
    d = spec.definition
    item = [para(f"{d.label.en}\n{d.label.zh}"), para(f"{spec.id} · {_hints(spec)}", SMALL)]
    if d.type == "derived":
        return [
            [
                item,
                para("computed by the eCRF, not entered · 系统计算，无需填写", SMALL),
                para(bilingual(d.units)),
                para(""),
            ]
        ]
    if d.entry == "server":
        return [
            [
                item,
                para("set by the central server · 由中心服务器设定", SMALL),
                para(bilingual(d.units)),
                para(_options(spec)),
            ]
        ]
    if d.type != "group":
        return [[item, para(""), para(bilingual(d.units)), para(_options(spec))]]
    return [[item, para(f"rows below ({d.min_rows or 0} at least) · 见下表", SMALL), para(""), para("")]]


def _group_table(spec: FieldSpec) -> Flowable:
    subs = spec.sub_fields
    header = [
        para(
            f"{s.definition.label.en}\n{s.definition.label.zh}\n{s.id} {bilingual(s.definition.units)}\n{_options(s) or FORMATS.get(s.kind, '')}",
            SMALL,
        )
        for s in subs
    ]
    rows = max(spec.definition.min_rows or 0, 4)
    table = Table(
        [[para("#", SMALL), *header], *[[para(str(n + 1)), *["" for _ in subs]] for n in range(rows)]],
        colWidths=[18] + [(sum(WIDTHS) - 18) / len(subs)] * len(subs),
        rowHeights=[None] + [20] * rows,
    )
    table.setStyle(GRID)
    return KeepTogether(
        [para(f"{spec.definition.label.en} · {spec.definition.label.zh} ({spec.id})", BODY, bold=True), table]
    )


def signature_lines() -> Flowable:
    meanings = "\n".join(f"☐ {m}: {text.en}" for m, text in MEANINGS.items())
    rows = [
        [
            para("Investigator signature · 研究者签名", bold=True),
            para(""),
            para("Printed name · 姓名", bold=True),
            para(""),
        ],
        [
            para("Date/time and UTC offset · 日期时间及时区", bold=True),
            para(""),
            para("Meaning · 签名含义", bold=True),
            para(meanings, SMALL),
        ],
    ]
    table = Table(rows, colWidths=(120, 160, 80, sum(WIDTHS) - 360), rowHeights=(26, 48))
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), fonts.LATIN),
                ("GRID", (0, 0), (-1, -1), 0.6, colors.black),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return KeepTogether([Spacer(1, 8), table])


def blank_form(study: StudyDefinition, form: FormSpec, first: bool) -> list[Flowable]:
    visits = [v.id for v in study.study.visits if form.id in study.forms_at(v.id) and v.id != "unscheduled"]
    section = Section(
        f"{BLANK} (collected at: {', '.join(visits)})",
        f"{bilingual(form.definition.title)} ({form.id}) v{form.version}",
    )
    out: list[Flowable] = [] if first else [PageBreak()]
    out += [Marker(section), para(f"{form.definition.title.en} · {form.definition.title.zh}", TITLE)]
    out.append(
        para(
            f"Subject number · 受试者编号 {BLANK}    Visit · 访视 {BLANK}    Form {form.id}, version {form.version}{' · repeating: one sheet per entry' if form.repeating else ''}",
            BODY,
        )
    )
    out.append(
        para(
            "Paper back-up: transcribe into the eCRF when a laptop works again; the transcription is audited · 纸质备份",
            SMALL,
        )
    )
    out.append(Spacer(1, 4))
    header = [para(h, bold=True) for h in ("Item · 项目", "Entry · 填写", "Units · 单位", "Codes · 代码")]
    rows = [row for spec in form.fields.values() for row in _field_rows(spec)]
    table = Table([header, *rows], colWidths=WIDTHS, repeatRows=1)
    table.setStyle(GRID)
    out.append(table)
    for spec in form.fields.values():
        if spec.definition.type == "group":
            out += [Spacer(1, 6), _group_table(spec)]
    out.append(signature_lines())
    return out


def render_blank(study: StudyDefinition, generated_at: dt.datetime | None = None) -> bytes:
    order = {v.id: i for i, v in enumerate(study.study.visits)}
    first_visit = {f: min((order[v] for v in form.visits), default=len(order)) for f, form in study.forms.items()}
    forms = sorted(study.forms.values(), key=lambda f: first_visit[f.id])
    flowables: list[Flowable] = []
    for index, form in enumerate(forms):
        flowables += blank_form(study, form, index == 0)
    page = PageFacts(
        protocol=study.study.id,
        study_title=study.study.title.en.split(":")[0] + f" · data dictionary v{study.study.version}",
        site=BLANK,
        subject=BLANK,
        content_hash=None,
        generated=format_generated(generated_at),
        scope="blank CRF set",
    )
    return build(flowables, page, f"{study.study.id} blank CRF set", None)
