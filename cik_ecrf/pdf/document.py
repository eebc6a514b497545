"""The page frame every printed CRF shares: header, footer, "Page X of Y", metadata, invariant output.

A printout must stand alone before an inspector, so every page names the study and protocol, site,
subject, visit, form and form version, the generation time and the SHA-256 of the content printed.
The header follows the form being printed: each form section starts on a new page with a zero-size
marker that tells the page-end hook what to print. "Page X of Y" is drawn when the document is
saved, once the number of pages is known (ReportLab's deferred-canvas pattern, one layout pass).
ReportLab's invariant mode fixes the creation date and document id, so the same data and the same
generation time give the same bytes.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from dataclasses import dataclass
from typing import Any

from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, PageTemplate

from .. import __version__
from . import fonts

MARGIN = 14 * mm
HEADER = 17 * mm
FOOTER = 12 * mm
KEYWORD_PREFIX = "cik-ecrf-record:"


@dataclass(frozen=True)
class Section:
    """What the page header names while a form (or another part) is being printed."""

    visit: str  # "Screening 筛选 (screening)"
    form: str  # "Vital signs 生命体征 (vitals) v1.0"


@dataclass(frozen=True)
class PageFacts:
    """Document-wide header and footer facts."""

    protocol: str
    study_title: str
    site: str
    subject: str
    content_hash: str | None  # None on the blank CRF
    generated: str  # formatted generation time, with the site offset
    scope: str  # "BJ01-T1-0001 / screening" or "Blank CRF"


class Marker(Flowable):
    """Zero-size: records on the canvas which section the current page belongs to."""

    def __init__(self, section: Section) -> None:
        super().__init__()
        self.section = section
        self.width = self.height = 0

    def wrap(self, *_args: Any) -> tuple[float, float]:
        return 0, 0

    def draw(self) -> None:
        self.canv._cik_section = self.section  # type: ignore[attr-defined]


class _NumberedCanvas(Canvas):
    """Holds every page until save(), then stamps "Page X of Y" on each."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:  # ReportLab's name
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._pages)
        for number, state in enumerate(self._pages, start=1):
            self.__dict__.update(state)
            width, _ = self._pagesize
            fonts.draw(
                self,
                width - MARGIN,
                MARGIN - 5 * mm,
                f"Page {number} of {total}  第 {number} 页，共 {total} 页",
                8,
                bold=True,
                align="right",
            )
            super().showPage()
        super().save()


def format_generated(at: dt.datetime | None) -> str:
    """The generation time as UTC with the site's offset (the local offset when `at` is naive or None)."""
    local = at if at is not None and at.tzinfo is not None else (at or dt.datetime.now()).astimezone()
    offset = int((local.utcoffset() or dt.timedelta()).total_seconds() // 60)
    utc = local.astimezone(dt.UTC)
    sign = "+" if offset >= 0 else "-"
    hours, minutes = divmod(abs(offset), 60)
    return f"{utc:%Y-%m-%d %H:%M:%S} UTC (UTC{sign}{hours:02d}:{minutes:02d}, local {local:%H:%M})"


def _page_end(frame: PageFacts) -> Any:
    def draw(canvas: Canvas, doc: BaseDocTemplate) -> None:
        width, height = doc.pagesize
        section: Section | None = getattr(canvas, "_cik_section", None)
        right = width - MARGIN
        top = height - MARGIN
        canvas.saveState()
        canvas.setFillColorRGB(0, 0, 0)
        fonts.draw(canvas, MARGIN, top - 3, f"Protocol {frame.protocol}", 9.5, bold=True)
        fonts.draw(canvas, right, top - 3, f"Site {frame.site}", 9.5, bold=True, align="right")
        fonts.draw(canvas, MARGIN, top - 12, frame.study_title, 7)
        fonts.draw(canvas, MARGIN, top - 23, f"Subject {frame.subject}", 9, bold=True)
        if section is not None:
            fonts.draw(canvas, right, top - 23, f"Visit: {section.visit}", 8.5, align="right")
            fonts.draw(canvas, MARGIN, top - 34, f"Form: {section.form}", 8.5, bold=True)
        canvas.setLineWidth(0.6)
        canvas.line(MARGIN, top - 39, right, top - 39)
        bottom = MARGIN
        canvas.line(MARGIN, bottom + 9, right, bottom + 9)
        digest = (
            f"Content SHA-256 · 内容哈希: {frame.content_hash}"
            if frame.content_hash
            else "Blank CRF: no data, no content hash 空白病例报告表"
        )
        fonts.draw(canvas, MARGIN, bottom + 1, digest, 7, bold=bool(frame.content_hash))
        fonts.draw(canvas, MARGIN, bottom - 5 * mm, f"Generated {frame.generated} · CIK-eCRF {__version__}", 7)
        canvas.restoreState()

    return draw


def build(flowables: list[Flowable], frame: PageFacts, title: str, record: dict[str, Any] | None) -> bytes:
    """Lay out and write the PDF; `record` (scope and hash) goes into the metadata for `pdf verify`."""
    fonts.register()
    out = io.BytesIO()
    width, height = A4
    doc = BaseDocTemplate(
        out,
        pagesize=A4,
        invariant=1,
        title=title,
        author="CIK-eCRF",
        creator=f"CIK-eCRF {__version__}",
        subject=f"{frame.protocol} {frame.scope}",
        keywords=KEYWORD_PREFIX + json.dumps(record, sort_keys=True, separators=(",", ":")) if record else "",
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN + HEADER,
        bottomMargin=MARGIN + FOOTER,
        initialFontName=fonts.LATIN,
    )
    body = Frame(
        MARGIN,
        MARGIN + FOOTER,
        width - 2 * MARGIN,
        height - 2 * MARGIN - HEADER - FOOTER,
        id="body",
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
    )
    doc.addPageTemplates([PageTemplate(id="page", frames=[body], onPageEnd=_page_end(frame))])
    doc.build(flowables, canvasmaker=_NumberedCanvas)
    return out.getvalue()
