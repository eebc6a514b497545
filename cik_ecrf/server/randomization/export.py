"""The pharmacy's exports of the allocation list: product codes per arm (CSV or PDF), and printed
code-break sheets (one per slot, opened only when the server is out of reach in an emergency).

Only an unblinded server role may export (the CLI checks the user's password and role on the
server), and every export is audited with the file's SHA-256 and row count (never an arm). The PDF
is drawn with reportlab directly (the server does not import the laptop's printing package); Chinese
text uses reportlab's built-in CID font, so no font file is needed.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from ...definitions.randomization import Design
from ..database import ServerError, now
from . import lists
from .models import RandSlot

FONT = "STSong-Light"  # Chinese (reportlab's built-in CID font); Latin text in the standard fonts
LATIN, LATIN_BOLD, MONO = "Helvetica", "Helvetica-Bold", "Courier-Bold"
COLUMNS = ("arm", "arm_label_en", "arm_label_zh", "stratum", "position", "randno", "prodid", "status")


@dataclass(frozen=True)
class Row:
    arm: str
    label_en: str
    label_zh: str
    stratum: str
    position: int
    randno: str
    prodid: str
    status: str


def rows(session: Session, design: Design) -> tuple[str, str, list[Row]]:
    """(list id, its SHA-256, the slots by arm, stratum and position)."""
    current = lists.active(session)
    if current is None:
        raise ServerError("no allocation list: make one with `cik-ecrf server randomization generate`")
    order = {a.code: i for i, a in enumerate(design.arms)}
    found = []
    for slot in session.scalars(select(RandSlot).where(RandSlot.list_id == current.id)):
        try:
            arm = design.arm(slot.arm)
            en, zh = arm.label.en, arm.label.zh
        except KeyError:
            en = zh = slot.arm
        found.append(Row(slot.arm, en, zh, slot.stratum, slot.position, slot.randno, slot.prodid, slot.status))
    found.sort(key=lambda r: (order.get(r.arm, 99), r.stratum, r.position))
    return current.id, current.sha256, found


def _csv(found: list[Row]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(COLUMNS)
    for r in found:
        writer.writerow((r.arm, r.label_en, r.label_zh, r.stratum, r.position, r.randno, r.prodid, r.status))
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # a BOM: spreadsheet programs then read the Chinese right


def _fonts() -> None:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))


def _zh(text: str) -> str:
    return f'<font face="{FONT}">{text}</font>'


def _pdf_list(found: list[Row], list_id: str, sha256: str, username: str) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    _fonts()
    title = ParagraphStyle("t", fontName=LATIN_BOLD, fontSize=14, leading=19)
    body = ParagraphStyle("b", fontName=LATIN, fontSize=8.5, leading=12)
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer, pagesize=A4, leftMargin=15 * mm, rightMargin=15 * mm, topMargin=15 * mm, bottomMargin=15 * mm
    )
    story: list = []
    arms: dict[str, list[Row]] = {}
    for r in found:
        arms.setdefault(r.arm, []).append(r)
    for index, (arm, members) in enumerate(arms.items()):
        if index:
            story.append(PageBreak())
        story.append(Paragraph(f"{members[0].label_en} ({arm})<br/>{_zh(members[0].label_zh)}", title))
        story.append(
            Paragraph(
                f"Product codes of this arm — UNBLINDED, pharmacy only · {_zh('本组产品编码 — 非盲，仅限药房')}<br/>"
                f"List {list_id} · SHA-256 {sha256}<br/>Exported {now()[:19]} UTC by {username}",
                body,
            )
        )
        story.append(Spacer(1, 4 * mm))
        data = [["Stratum", "#", "RANDNO", "PRODID", "Status"]]
        data += [[r.stratum, str(r.position), r.randno, r.prodid, r.status] for r in members]
        table = Table(data, repeatRows=1, colWidths=[30 * mm, 15 * mm, 40 * mm, 45 * mm, 25 * mm])
        table.setStyle(
            TableStyle(
                [
                    ("FONTNAME", (0, 0), (-1, -1), LATIN),
                    ("FONTNAME", (0, 0), (-1, 0), LATIN_BOLD),
                    ("FONTNAME", (3, 1), (3, -1), MONO),
                    ("FONTSIZE", (0, 0), (-1, -1), 9),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8e8e8")),
                    ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ]
            )
        )
        story.append(table)
    doc.build(story)
    return buffer.getvalue()


def _pdf_sheets(found: list[Row], list_id: str, username: str) -> bytes:
    """One code-break sheet per slot, eight to a page, to be cut apart and sealed by the pharmacy."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.pdfgen import canvas

    _fonts()
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    width, height = A4
    ordered = sorted(found, key=lambda r: (r.stratum, r.position))
    cell_h = (height - 20 * mm) / 4
    cell_w = (width - 20 * mm) / 2
    for index, r in enumerate(ordered):
        spot = index % 8
        if index and spot == 0:
            pdf.showPage()
        x = 10 * mm + (spot % 2) * cell_w
        y = height - 10 * mm - (spot // 2 + 1) * cell_h
        left, top = x + 5 * mm, y + cell_h
        pdf.setDash(3, 3)
        pdf.rect(x, y, cell_w, cell_h)
        pdf.setDash()
        lines = [
            (LATIN_BOLD, 9, 8, "Code-break sheet — open only in an emergency"),
            (FONT, 9, 13, "紧急揭盲信封 — 仅限紧急情况开启"),
            (LATIN_BOLD, 12, 22, f"RANDNO {r.randno}"),
            (MONO, 12, 28, f"PRODID {r.prodid}"),
            (LATIN_BOLD, 11, 38, f"Arm: {r.arm}"),
            (LATIN, 9, 44, r.label_en),
            (FONT, 9, 49, r.label_zh),
        ]
        for font, size, down, line in lines:
            pdf.setFont(font, size)
            pdf.drawString(left, top - down * mm, line)
        pdf.setFont(LATIN, 7)
        pdf.drawString(left, y + 8 * mm, "After use, record it on the server (cik-ecrf codebreak).")
        pdf.setFont(FONT, 7)
        pdf.drawString(left, y + 4.5 * mm, "使用后须在服务器登记（cik-ecrf codebreak）。")
        pdf.setFont(LATIN, 6.5)
        pdf.drawString(left, y + 1.5 * mm, f"List {list_id[:8]} · printed {now()[:10]} by {username}")
    pdf.save()
    return buffer.getvalue()


def export(
    session: Session, design: Design, path: Path, username: str, role: str, *, codebreak: bool = False
) -> tuple[int, str]:
    """Write the pharmacy's file (CSV or PDF by its suffix; `codebreak`: the sealed sheets, PDF only)
    and audit it. Returns (rows, the file's SHA-256)."""
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".pdf"):
        raise ServerError(f"{path}: the export is a .csv or a .pdf file")
    if codebreak and suffix != ".pdf":
        raise ServerError(f"{path}: code-break sheets are printed: give a .pdf file")
    list_id, sha256, found = rows(session, design)
    if codebreak:
        content = _pdf_sheets(found, list_id, username)
    elif suffix == ".csv":
        content = _csv(found)
    else:
        content = _pdf_list(found, list_id, sha256, username)
    try:
        path.write_bytes(content)
    except OSError as exc:
        raise ServerError(f"{path}: cannot write: {exc.strerror}") from None
    digest = hashlib.sha256(content).hexdigest()
    lists.audit(
        session,
        username,
        role,
        "codebreak_sheets_printed" if codebreak else "list_exported",
        list_id=list_id,
        file=str(path.name),
        format=suffix[1:],
        rows=len(found),
        sha256=digest,
    )
    return len(found), digest
