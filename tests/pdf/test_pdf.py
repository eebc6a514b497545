"""Printed CRFs read back with pypdf: every value, unit and signature manifestation, page numbers and the
content hash on every page, Chinese as Chinese, fonts embedded, the same bytes for the same data, and
`verify` failing (with the signature cleared) once a signed value changes."""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from cik_ecrf.pdf import blank_crf_pdf, record_pdf, verify_record
from cik_ecrf.store.api import Store
from cik_ecrf.store.entry import SaveRequest
from cik_ecrf.store.errors import StoreError
from tests.store.test_signatures import NURSE, PI, PI_NAME, PI_PW, signing_store

AT = dt.datetime(2026, 11, 24, 14, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))


@pytest.fixture(scope="module")
def signed(tmp_path_factory: pytest.TempPathFactory, study: Any) -> tuple[Path, str]:
    """A store whose screening vitals are signed (approve) after a confirmed change; labs complete but unsigned; diagnosis a draft."""
    directory = tmp_path_factory.mktemp("pdf") / "store"
    number = signing_store(directory, study)
    with Store.open(
        directory, NURSE[0], NURSE[2], study=study
    ) as nurse:  # a reason for change and a confirmed soft check
        nurse.save(
            SaveRequest(
                number, "screening", "vitals", {"HR": 185}, reason="re-measured after the walk", confirm_warnings=True
            )
        )
    with Store.open(directory, PI, PI_PW, study=study) as pi:
        pi.sign(number, "screening", "vitals", meaning="approve", username=PI, password=PI_PW)
    return directory, number


def pages(data: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def flat(text: str) -> str:
    """Extraction breaks lines where the font changes (Latin ↔ Chinese runs): compare without them."""
    return re.sub(r"\s+", "", text)


def test_a_signed_form_prints_every_value_unit_and_the_signature_manifestation(
    signed: tuple[Path, str], study: Any
) -> None:
    directory, number = signed
    with Store.open(directory, PI, PI_PW, study=study) as pi:
        data = record_pdf(pi, number, "screening", "vitals", generated_at=AT)
        (signature,) = pi.signatures(number)
        stored = next(r["values"] for r in pi.subject_values(number)[1] if r["form"] == "vitals")
    texts = pages(data)
    text = "\n".join(texts)
    expected_values = {
        "TEMP": "36.8",
        "HR": "185",
        "RESP": "20",
        "SYSBP": "105",
        "DIABP": "65",
        "OXYSAT": "98",
        "O2SUPP": "NONE",
        "WEIGHT": "38.0",
        "HEIGHT": "146.0",
        "ECOG": "1",
    }
    assert set(expected_values) <= set(stored)
    for field, shown in expected_values.items():
        assert shown in text, field
    assert stored["VSDAT"].replace("T", " ") in text
    assert "1.24" in text  # BSA, derived (Mosteller) and printed as such
    for unit in ("°C", "mmHg", "kg", "cm", "%", "m²", "/min"):
        assert unit in text, unit
    assert "NONE = None (room air)" in text  # code label
    assert "次/分" in text  # Chinese units
    assert PI_NAME in text and "investigator" in text
    assert "I have reviewed and approve the content of this record." in text
    assert flat("本人已审阅并批准本记录的内容。") in flat(text)
    assert signature.signed_at() in text  # UTC time with the site offset
    assert "2026-11-24 06:30:00 UTC (UTC+08:00, local 14:30)" in text  # the generation time given
    for page_number, page_text in enumerate(texts, start=1):
        assert f"Page {page_number} of {len(texts)}" in page_text
        assert signature.content_hash in flat(page_text)  # the signed content's hash, on every page
        for header in ("Protocol NCT06389305", "Site BJ01", f"Subject {number}", "(vitals) v1.0", "(screening)"):
            assert header in page_text, header


def test_chinese_labels_extract_as_chinese(signed: tuple[Path, str], study: Any) -> None:
    directory, number = signed
    with Store.open(directory, PI, PI_PW, study=study) as pi:
        text = flat("\n".join(pages(record_pdf(pi, number, "screening", "vitals", generated_at=AT))))
    for label in ("生命体征与体能状态", "测量日期和时间", "体温", "心率", "呼吸频率", "收缩压", "体表面积"):
        assert label in text, label


def test_a_visit_prints_not_applicable_items_empty_required_items_and_soft_check_confirmations(
    signed: tuple[Path, str], study: Any
) -> None:
    directory, number = signed
    with Store.open(directory, PI, PI_PW, study=study) as pi:
        texts = pages(record_pdf(pi, number, "screening", audit_appendix=True, generated_at=AT))
    text = "\n".join(texts)
    for form in ("(consent) v1.0", "(demographics) v1.0", "(diagnosis) v1.0", "(vitals) v1.0", "(labs) v1.0"):
        assert form in text, form
    diagnosis = "\n".join(t for t in texts if "(diagnosis) v1.0" in t)
    assert "status: draft" in diagnosis
    assert "EMPTY — REQUIRED" in diagnosis and "DIAGDAT" in diagnosis  # a required item left empty in the draft
    assert "Not applicable" in diagnosis  # NRELAPSE is shown only for relapsed disease: REFRACTORY was entered
    assert flat(
        "HR: 92 → 185 · confirmed soft check(s) HR:soft_range · reason for change: re-measured after the walk"
    ) in flat(text)
    assert "Audit trail appendix" in text and "value_set" in text and "signature" in text
    assert "Not signed" in text  # labs, consent, ...
    assert f"Page 1 of {len(texts)}" in texts[0]


def test_the_same_data_gives_the_same_bytes(signed: tuple[Path, str], study: Any) -> None:
    directory, number = signed
    with Store.open(directory, PI, PI_PW, study=study) as pi:
        first = record_pdf(pi, number, "screening", generated_at=AT)
        second = record_pdf(pi, number, "screening", generated_at=AT)
        later = record_pdf(pi, number, "screening", generated_at=AT + dt.timedelta(minutes=1))
    assert first == second
    assert later != first
    assert blank_crf_pdf(study, AT) == blank_crf_pdf(study, AT)


def _fonts(data: bytes) -> dict[str, bool]:
    """Every font used on any page: embedded (a FontFile2 TrueType program) or not."""
    found: dict[str, bool] = {}
    for page in PdfReader(io.BytesIO(data)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptor = font.get("/FontDescriptor")
            if descriptor is None and "/DescendantFonts" in font:
                descriptor = font["/DescendantFonts"][0].get_object().get("/FontDescriptor")
            found[str(font["/BaseFont"])] = descriptor is not None and "/FontFile2" in descriptor.get_object()
    return found


def test_every_font_is_embedded_truetype(signed: tuple[Path, str], study: Any) -> None:
    directory, number = signed
    with Store.open(directory, PI, PI_PW, study=study) as pi:
        used = _fonts(record_pdf(pi, number, "screening", audit_appendix=True, generated_at=AT))
    used.update(_fonts(blank_crf_pdf(study, AT)))
    assert used and all(used.values()), used
    assert any("DroidSansFallback" in name for name in used) and any("DejaVuSans" in name for name in used)


def test_the_blank_crf_set_holds_every_form_with_its_codes_and_a_signature_line(study: Any) -> None:
    texts = pages(blank_crf_pdf(study, AT))
    text = "\n".join(texts)
    for form in study.forms.values():
        assert f"({form.id}) v{form.version}" in text, form.id
    assert "☐ Y Yes" in text and "☐ CR" in text and "YYYY-MM-DD" in text
    assert "Investigator signature" in text and flat("I have reviewed and approve the content of this record.") in flat(
        text
    )
    assert flat("生命体征与体能状态") in flat(text)
    assert all(f"Page {n} of {len(texts)}" in t for n, t in enumerate(texts, start=1))
    assert "Blank CRF: no data" in texts[0]


def test_a_change_after_signing_makes_verify_fail_and_shows_the_signature_cleared(tmp_path: Path, study: Any) -> None:
    directory = tmp_path / "store"
    number = signing_store(directory, study)
    with Store.open(directory, PI, PI_PW, study=study) as pi:
        signature = pi.sign(number, "screening", "vitals", meaning="author", username=PI, password=PI_PW).signature
        printed = record_pdf(pi, number, "screening", "vitals")
        before = verify_record(pi, printed)
    assert before.matches and before.printed_hash == signature.content_hash == before.current_hash
    assert [s.active for s in before.signatures] == [True] and "matches the store" in before.message
    with Store.open(directory, NURSE[0], NURSE[2], study=study) as nurse:
        nurse.save(SaveRequest(number, "screening", "vitals", {"TEMP": 37.2}, reason="thermometer re-read"))
        after = verify_record(nurse, printed)
        reprint = record_pdf(nurse, number, "screening", "vitals")
    assert not after.matches and after.current_hash != after.printed_hash
    assert [s.active for s in after.signatures] == [False] and after.signatures[
        0
    ].cleared_reason == "thermometer re-read"
    assert "NO LONGER MATCHES" in after.message and "cleared" in after.message
    text = "\n".join(pages(reprint))
    assert (
        "SIGNATURE CLEARED" in text and "thermometer re-read" in text and "needs re-signing" in text and "37.2" in text
    )


def test_verify_refuses_files_that_are_not_intact_records(signed: tuple[Path, str], study: Any) -> None:
    directory, number = signed
    with Store.open(directory, PI, PI_PW, study=study) as pi:
        printed = record_pdf(pi, number, "screening", "vitals", generated_at=AT)
        with pytest.raises(StoreError, match="not a readable PDF"):
            verify_record(pi, b"%PDF-1.4 nothing else")
        with pytest.raises(StoreError, match="not a CIK-eCRF printed record"):
            verify_record(pi, blank_crf_pdf(study, AT))
        (signature,) = [s for s in pi.signatures(number) if s.form == "vitals"]
        forged = printed.replace(signature.content_hash.encode(), b"0" * 64, 1)  # the metadata copy comes first
        assert forged != printed
        with pytest.raises(StoreError, match="disagree"):
            verify_record(pi, forged)


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler's pdftoppm is not installed")
def test_pages_render_with_poppler(signed: tuple[Path, str], study: Any, tmp_path: Path) -> None:
    directory, number = signed
    with Store.open(directory, PI, PI_PW, study=study) as pi:
        (tmp_path / "visit.pdf").write_bytes(record_pdf(pi, number, "screening", generated_at=AT))
    result = subprocess.run(
        ["pdftoppm", "-r", "40", "-png", str(tmp_path / "visit.pdf"), str(tmp_path / "page")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0 and result.stderr == ""
    rendered = sorted(tmp_path.glob("page-*.png"))
    assert len(rendered) == len(pages((tmp_path / "visit.pdf").read_bytes())) and all(
        p.stat().st_size > 2000 for p in rendered
    )
