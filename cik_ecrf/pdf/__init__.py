"""Printed CRFs (ReportLab): one form, one visit, a casebook, the blank CRF set; and their content hash.

ReportLab loads only when a PDF is made: `store` imports `pdf.content` for hashing at signing, and a
login should not pay for the PDF machinery.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..definitions.spec import StudyDefinition


def blank_crf_pdf(study: StudyDefinition, generated_at: dt.datetime | None = None) -> bytes:
    """Every form of the study, empty, for paper back-up when a laptop fails (the installer's self-test)."""
    from .blank import render_blank

    return render_blank(study, generated_at)
