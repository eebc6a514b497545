"""The canonical content of signed data and its SHA-256: what a signature and a printout are bound to.

Standard library only, because three places must agree on every byte: the store hashes at signing,
the PDF prints the hash on every page, and `pdf verify` recomputes it from the store later. Values
enter as the exact JSON text the store holds (never re-encoded floats), so the hash cannot drift
with a Python version. Form status is left out: signing itself moves a form from complete to signed.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

CANON_VERSION = 1


@dataclass(frozen=True)
class Scope:
    """One form, one visit or a whole casebook of one subject."""

    subject: str  # the subject number
    visit: str | None = None
    form: str | None = None

    def __post_init__(self) -> None:
        if self.form is not None and self.visit is None:
            raise ValueError("a form scope needs its visit")

    @property
    def kind(self) -> str:
        return "form" if self.form else "visit" if self.visit else "casebook"

    def covers(self, visit: str, form: str) -> bool:
        return (self.visit is None or self.visit == visit) and (self.form is None or self.form == form)

    def describe(self) -> str:
        return " / ".join(x for x in (self.subject, self.visit, self.form) if x)

    def as_json(self) -> dict[str, str | None]:
        return {"subject": self.subject, "visit": self.visit, "form": self.form}


@dataclass(frozen=True)
class FormContent:
    """One form instance as stored: its values as the JSON text in `field_value.value_json`."""

    visit: str
    form: str
    version: str
    instance: str
    values: Mapping[str, str]


def canonical(study_id: str, scope: Scope, forms: Iterable[FormContent]) -> bytes:
    """Sorted-key, compact UTF-8 JSON of the scope and every covered instance, in id order."""
    rows = sorted(forms, key=lambda f: (f.visit, f.form, f.instance))
    document = {
        "canon": CANON_VERSION,
        "study": study_id,
        "scope": scope.kind,
        **scope.as_json(),
        "forms": [
            {
                "visit": f.visit,
                "form": f.form,
                "version": f.version,
                "instance": f.instance,
                "values": dict(sorted(f.values.items())),
            }
            for f in rows
        ],
    }
    return json.dumps(document, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def content_hash(study_id: str, scope: Scope, forms: Iterable[FormContent]) -> str:
    return hashlib.sha256(canonical(study_id, scope, forms)).hexdigest()
