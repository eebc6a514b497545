"""Printed CRFs (ReportLab): one form, one visit, a casebook, the blank CRF set; and their content hash.

ReportLab loads only when a PDF is made: a login should not pay for the PDF machinery. Printing sits
above the store (it reads through the store's unit of work); the store never imports it.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..definitions.spec import StudyDefinition
    from ..store.api import Store
    from .verify import VerifyResult


def blank_crf_pdf(study: StudyDefinition, generated_at: dt.datetime | None = None) -> bytes:
    """Every form of the study, empty, for paper back-up when a laptop fails (the installer's self-test)."""
    from .blank import render_blank

    return render_blank(study, generated_at)


def record_pdf(
    store: Store,
    subject: str,
    visit: str | None = None,
    form: str | None = None,
    *,
    audit_appendix: bool = False,
    generated_at: dt.datetime | None = None,
) -> bytes:
    """One form, one visit or a casebook as a PDF; `generated_at` (default now) is the printed generation time."""
    from ..core.content import Scope
    from ..core.errors import UserError
    from .casebook import casebook_pdf

    store.require()
    if form is not None and visit is None:
        raise UserError("pdf: a form is named with its visit (SUBJECT VISIT FORM)")
    with store.unit_of_work() as session:
        return casebook_pdf(
            session,
            store.study,
            store.rules,
            Scope(subject, visit, form),
            audit_appendix=audit_appendix,
            generated_at=generated_at,
            versions=getattr(store, "study_versions", None),  # study versions: each form under its own
        )


def verify_record(store: Store, pdf_bytes: bytes) -> VerifyResult:
    """Does a printed record still match the store? Recomputes its content hash from the current data."""
    from .verify import verify_pdf

    store.require()
    with store.unit_of_work() as session:
        return verify_pdf(session, store.study, pdf_bytes)
