"""`pdf verify`: does a printed record still match the store it came from?

The PDF carries its scope and content hash in its metadata (Keywords) and prints the hash on every
page. Verification reads both (they must agree: a record whose metadata was edited is refused),
recomputes the hash from the store's current data with the function signing uses, and reports the
signatures over the printed forms as they stand now (a change after signing has cleared them).
"""

from __future__ import annotations

import io
import json
import logging
import re
from dataclasses import dataclass

from sqlalchemy.orm import Session

from ..core.content import CANON_VERSION, Scope
from ..definitions.spec import StudyDefinition
from ..store import save_sql
from ..store import signatures as esign
from ..store.errors import StoreError
from .document import KEYWORD_PREFIX

HASH_ON_PAGE = re.compile(r"内容哈希\s*:\s*([0-9a-f]{64})")  # the footer; text extraction may break the line


@dataclass(frozen=True)
class VerifyResult:
    matches: bool  # the store's content now hashes to what the record printed
    scope: Scope
    printed_hash: str
    current_hash: str
    signatures: tuple[esign.SignatureRecord, ...]  # over the printed forms, as they stand now

    @property
    def message(self) -> str:
        active = [s for s in self.signatures if s.active and s.content_hash == self.printed_hash]
        cleared = [s for s in self.signatures if not s.active]
        if self.matches:
            signed = (
                f"; signed by {', '.join(f'{s.full_name} ({s.meaning})' for s in active)}"
                if active
                else "; no signature over exactly this content"
            )
            return f"{self.scope.kind} {self.scope.describe()}: the printed record matches the store (SHA-256 {self.printed_hash}){signed}"
        return (
            f"{self.scope.kind} {self.scope.describe()}: the printed record NO LONGER MATCHES the store: printed SHA-256 {self.printed_hash}, "
            f"now {self.current_hash}"
            + (f"; {len(cleared)} signature(s) cleared since, the data needs re-signing" if cleared else "")
        )


def read_record(pdf_bytes: bytes) -> tuple[dict[str, str | None], str]:
    """The record (study, scope, hash) from the metadata, and the hash printed on the first page."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    if not pdf_bytes.startswith(b"%PDF-"):
        raise StoreError("not a readable PDF (no %PDF- header)")
    quiet = logging.getLogger("pypdf")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # a damaged file is reported once, as our one line, not as pypdf's warnings
    try:
        reader = PdfReader(io.BytesIO(pdf_bytes))
        keywords = str((reader.metadata or {}).get("/Keywords") or "")
        page_text = reader.pages[0].extract_text() if reader.pages else ""
    except (PdfReadError, ValueError, KeyError, IndexError) as exc:
        raise StoreError(f"not a readable PDF: {exc}") from None
    finally:
        quiet.setLevel(level)
    if not keywords.startswith(KEYWORD_PREFIX):
        raise StoreError("not a CIK-eCRF printed record (its metadata holds no content record; a blank CRF has none)")
    try:
        record = json.loads(keywords[len(KEYWORD_PREFIX) :])
    except json.JSONDecodeError:
        raise StoreError("the PDF's content record is damaged (malformed JSON in its metadata)") from None
    if record.get("v") != CANON_VERSION or not isinstance(record.get("sha256"), str):
        raise StoreError(f"the PDF's content record has an unknown format (version {record.get('v')!r})")
    printed = HASH_ON_PAGE.search(page_text)
    if printed is None or printed.group(1) != record["sha256"]:
        raise StoreError("the hash printed on the page and the PDF's metadata disagree: the file was altered")
    return record, printed.group(1)


def verify_pdf(session: Session, study: StudyDefinition, pdf_bytes: bytes) -> VerifyResult:
    record, printed = read_record(pdf_bytes)
    if record.get("study") != study.study.id:
        raise StoreError(f"the record is from study {record.get('study')!r}, this store holds {study.study.id}")
    conn = session.connection()
    subject_id, number = save_sql.subject_ref(conn, str(record.get("subject")))
    scope = Scope(number, record.get("visit"), record.get("form"))
    rows, current = esign.scope_content(conn, study.study.id, subject_id, scope)
    instances = {r.id for r in rows}
    over = tuple(s for s in esign.list_signatures(session, subject_id, number) if instances & set(s.instances))
    return VerifyResult(current == printed, scope, printed, current, over)
