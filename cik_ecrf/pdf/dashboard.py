"""`cik-ecrf report`: the study dashboard on one landscape A4 page, drawn with ReportLab.

The same `Dashboard` record the client draws, so the printout and the screen agree number for number;
the fonts are the CRF printouts' (DejaVu Sans with Droid Sans Fallback for Chinese, `pdf.fonts`).
Headings exist in English and Chinese here, without Qt (the client's own texts live in its Qt
catalogue).
"""

from __future__ import annotations

import io
from collections.abc import Sequence

from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas

from .. import __version__
from ..definitions.spec import StudyDefinition
from ..reporting.dashboard import STATUS_COLOURS as COLOURS
from ..reporting.dashboard import Dashboard
from . import fonts

LABELS: dict[str, tuple[str, str]] = {
    "title": ("Study dashboard", "研究总览"),
    "subtitle": (
        "{study} · site {site} · as of {today} · data on this laptop",
        "{study} · 中心 {site} · 截至 {today} · 本机数据",
    ),
    "enrolled": ("Enrolled", "已入组"),
    "of_target": ("{n} of {target} ({percent:.1f} %)", "{n} / {target}（{percent:.1f}%）"),
    "screened": ("Screened", "已筛选"),
    "failures": ("Screen failures", "筛选失败"),
    "due": ("Visits due (7 days)", "7 天内到期访视"),
    "overdue": ("Visits overdue", "逾期访视"),
    "enrolment": (
        "Enrolment against the target of {target} (cumulative by month)",
        "入组进度（目标 {target} 例，按月累计）",
    ),
    "series_screened": ("Screened", "已筛选"),
    "series_enrolled": ("Enrolled", "已入组"),
    "by_criterion": ("Screen failures by criterion", "按标准统计的筛选失败"),
    "no_failures": ("No screen failure.", "无筛选失败。"),
    "visits": ("Visits due and overdue", "到期及逾期访视"),
    "no_visits": ("Nothing due or overdue.", "无到期或逾期访视。"),
    "bar_due": ("{visit} — due", "{visit} — 到期"),
    "bar_overdue": ("{visit} — overdue", "{visit} — 逾期"),
    "forms": ("Forms by status", "按状态统计的表单"),
    "draft": ("Draft", "草稿"),
    "complete": ("Complete", "已完成"),
    "signed": ("Signed", "已签名"),
    "locked": ("Locked", "已锁定"),
    "missing": ("Not started, visit overdue", "未开始（访视已逾期）"),
    "subjects": ("Subjects by status", "按状态统计的受试者"),
    "screening": ("Screening", "筛选中"),
    "eligible": ("Eligible", "符合入选"),
    "randomized": ("Randomized", "已随机"),
    "in follow-up": ("In follow-up", "随访中"),
    "ended": ("Ended", "已结束"),
    "not_yet": ("Queries and source data verification", "质疑与源数据核查"),
    "not_yet_text": (
        "Not available in this version: there is no query or SDV workflow yet, so there is nothing to count.",
        "本版本尚无质疑及源数据核查（SDV）流程，因此没有可统计的数据。",
    ),
    "footer": ("CIK-eCRF {version} · cik-ecrf report", "CIK-eCRF {version} · cik-ecrf report"),
}
GREY, DARK, LINE = HexColor("#6c757d"), HexColor("#212529"), HexColor("#dee2e6")


def _l(key: str, language: str) -> str:
    en, zh = LABELS[key]
    return zh if language.startswith("zh") else en


def _fit(text: str, size: float, room: float) -> str:
    if fonts.width(text, size) <= room:
        return text
    while text and fonts.width(text + "…", size) > room:
        text = text[:-1]
    return text + "…"


def _bars(
    c: Canvas, x: float, y: float, w: float, title: str, bars: Sequence[tuple[str, int, str]], empty: str
) -> float:
    """Horizontal bars under a heading, from the top `y` down; returns the y below them."""
    fonts.draw(c, x, y, title, 10, bold=True)
    y -= 6 * mm
    if not bars:
        fonts.draw(c, x, y, empty, 8.5)
        return y - 6 * mm
    label_w = min(w * 0.45, max(fonts.width(b[0], 8) for b in bars) + 4)
    top = max(1, max(b[1] for b in bars))
    room = w - label_w - 12 * mm
    for label, value, colour in bars:
        fonts.draw(c, x + label_w - 2, y, _fit(label, 8, label_w - 4), 8, align="right")
        c.setFillColor(HexColor(colour))
        c.rect(x + label_w + 1, y - 1, max(room * value / top, 1 if value else 0), 3.6 * mm, stroke=0, fill=1)
        c.setFillColor(DARK)
        fonts.draw(c, x + label_w + 3 + room * value / top, y, str(value), 8)
        y -= 5 * mm
    return y - 2 * mm


def _line_chart(c: Canvas, x: float, y: float, w: float, h: float, data: Dashboard, language: str) -> None:
    points = data.enrolment.by_month
    fonts.draw(c, x, y, _l("enrolment", language).format(target=data.enrolment.target), 10, bold=True)
    top_y, bottom = y - 10 * mm, y - h
    if not points:
        return
    top = max(1, max(max(p.screened, p.enrolled) for p in points))
    left = x + 8 * mm
    width = w - 10 * mm
    c.setStrokeColor(LINE)
    c.setLineWidth(0.4)
    for tick in (0, top / 2, top):
        ty = bottom + (top_y - bottom) * tick / top
        c.line(left, ty, left + width, ty)
        fonts.draw(c, left - 2, ty - 1.2, f"{tick:.0f}", 7, align="right")
    count = len(points)

    def at(i: int, v: int) -> tuple[float, float]:
        px = left + (width * i / (count - 1) if count > 1 else width / 2)
        return px, bottom + (top_y - bottom) * v / top

    every = max(1, -(-count // 6))
    for i, point in enumerate(points):
        if i % every == 0 or i == count - 1:
            fonts.draw(c, at(i, 0)[0], bottom - 4 * mm, point.month.strftime("%Y-%m"), 6.5, align="centre")
    legend_x = x + w - 70 * mm
    for key, colour, values in (
        ("series_screened", "#adb5bd", [p.screened for p in points]),
        ("series_enrolled", "#0b5ed7", [p.enrolled for p in points]),
    ):
        c.setStrokeColor(HexColor(colour))
        c.setLineWidth(1.6)
        xy = [at(i, v) for i, v in enumerate(values)]
        for (x1, y1), (x2, y2) in zip(xy, xy[1:], strict=False):
            c.line(x1, y1, x2, y2)
        c.line(legend_x, y - 4.5 * mm, legend_x + 6 * mm, y - 4.5 * mm)
        label = f"{_l(key, language)} ({values[-1]})"
        fonts.draw(c, legend_x + 7 * mm, y - 5.5 * mm, label, 8)
        legend_x += fonts.width(label, 8) + 14 * mm


def render(data: Dashboard, study: StudyDefinition, language: str = "en") -> bytes:
    """One landscape A4 page; the same data always gives the same bytes (ReportLab's invariant mode)."""
    buffer = io.BytesIO()
    page_w, page_h = landscape(A4)
    c = Canvas(buffer, pagesize=(page_w, page_h), invariant=1)
    c.setTitle(f"{_l('title', language)} {data.study} {data.today}")
    c.setAuthor("CIK-eCRF")
    margin = 14 * mm
    y = page_h - margin
    fonts.draw(c, margin, y - 4, _l("title", language), 16, bold=True)
    subtitle = _l("subtitle", language).format(study=data.study, site=data.site, today=data.today.isoformat())
    fonts.draw(c, page_w - margin, y - 4, subtitle, 9, align="right")
    y -= 14 * mm
    enrolment = data.enrolment
    kpis = [
        (
            "enrolled",
            _l("of_target", language).format(
                n=enrolment.enrolled, target=enrolment.target, percent=enrolment.percent_of_target
            ),
        ),
        ("screened", str(enrolment.screened)),
        ("failures", str(data.screen_failures.subjects)),
        ("due", str(data.visits.due)),
        ("overdue", str(data.visits.overdue)),
    ]
    box_w = (page_w - 2 * margin - 4 * 4 * mm) / 5
    for n, (key, value) in enumerate(kpis):
        bx = margin + n * (box_w + 4 * mm)
        c.setStrokeColor(LINE)
        c.roundRect(bx, y - 16 * mm, box_w, 17 * mm, 2 * mm, stroke=1, fill=0)
        fonts.draw(c, bx + 3 * mm, y - 4.5 * mm, _l(key, language), 8.5)
        fonts.draw(c, bx + 3 * mm, y - 12.5 * mm, value, 14, bold=True)
    y -= 24 * mm
    column_w = (page_w - 2 * margin - 8 * mm) / 2
    right = margin + column_w + 8 * mm
    _line_chart(c, margin, y, column_w, 62 * mm, data, language)
    visit_label = {v.id: v.label.get(language) for v in study.study.visits}
    visits = []
    for count in data.visits.by_visit:
        label = visit_label.get(count.visit, count.visit)
        if count.overdue:
            visits.append((_l("bar_overdue", language).format(visit=label), count.overdue, "#b02a37"))
        if count.due:
            visits.append((_l("bar_due", language).format(visit=label), count.due, "#0b5ed7"))
    left_y = _bars(c, margin, y - 72 * mm, column_w, _l("visits", language), visits[:14], _l("no_visits", language))
    failures = [
        (f"{f.criterion} {f.label(language)}", f.subjects, "#b02a37" if f.inclusion else "#fd7e14")
        for f in data.screen_failures.by_criterion
    ]
    right_y = _bars(c, right, y, column_w, _l("by_criterion", language), failures[:10], _l("no_failures", language))
    forms = [(_l(s, language), n, COLOURS[s]) for s, n in data.forms.counts]
    forms.append((_l("missing", language), data.forms.missing, COLOURS["missing"]))
    right_y = _bars(c, right, right_y - 2 * mm, column_w, _l("forms", language), forms, "")
    subjects = [(_l(s, language), n, COLOURS[s]) for s, n in data.subjects_by_status]
    right_y = _bars(c, right, right_y - 2 * mm, column_w, _l("subjects", language), subjects, "")
    bottom = min(left_y, right_y) - 2 * mm
    fonts.draw(c, margin, bottom, _l("not_yet", language), 10, bold=True)
    fonts.draw(c, margin, bottom - 5 * mm, _l("not_yet_text", language), 8.5)
    c.setFillColor(GREY)
    fonts.draw(c, margin, 8 * mm, _l("footer", language).format(version=__version__), 7)
    c.showPage()
    c.save()
    return buffer.getvalue()
