"""The lines above a form that say what the fields cannot: who signed it (role in words), whether a
change cleared a signature, conflicting values from another laptop, and whether a completed form
has since been broken by a value on another form."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP

from ..store.signatures import SignatureRecord, needs_resigning
from .conflicts import candidate_text
from .field_history import role_text
from .texts import translator

# The context stays "FormPage": these texts were the page's, and their Chinese is kept under it.
TEXTS = {
    "signed_by": QT_TRANSLATE_NOOP("FormPage", "✔ Signed by {name} ({role}) on {at}: {meaning}"),
    "conflict": QT_TRANSLATE_NOOP("FormPage", "⚠ {field} is in conflict: {values}. Resolve it under Conflicts."),
    "resign": QT_TRANSLATE_NOOP("FormPage", "⚠ A change cleared this form's signature: it needs signing again."),
    "attention": QT_TRANSLATE_NOOP(
        "FormPage", "⚠ Needs attention: this form is {status} but no longer passes its checks — {lines}"
    ),
}
_t = translator("FormPage", TEXTS)


def signature_lines(signatures: list[SignatureRecord], instance: str | None, language: str) -> list[str]:
    """Active signatures on the instance with their manifestation; a warning when a change cleared one."""
    lines = [
        _t("signed_by", language).format(
            name=s.full_name, role=role_text(s.role, language), at=s.signed_at(), meaning=s.meaning_text(language)
        )
        for s in signatures
        if instance in s.instances and s.active
    ]
    if instance in needs_resigning(signatures):
        lines.append(_t("resign", language))
    return lines


def conflict_lines(conflicts: list[Any], language: str) -> list[str]:
    """Fields two laptops changed differently: both values, until someone resolves them with a reason."""
    return [
        _t("conflict", language).format(field=c.field_id, values=" / ".join(candidate_text(v) for v in c.candidates))
        for c in conflicts
    ]


def attention_text(status: str, problems: list[str], language: str) -> str:
    if not problems:
        return ""
    return _t("attention", language).format(status=status, lines="; ".join(problems))
