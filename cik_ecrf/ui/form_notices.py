"""The lines above a form that say what the fields cannot: who signed it (role in words), whether a
change cleared a signature, conflicting values from another laptop, and whether a completed form
has since been broken by a value on another form; `FormNotices` shows them on the form page."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP
from PySide6.QtWidgets import QLabel

from ..rules import SubjectData
from ..rules.cross import needs_attention
from ..store.signatures import SignatureRecord, needs_resigning
from .conflicts import candidate_text
from .field_history import role_text
from .subject_view import status_text
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


class FormNotices:
    """Mixed into `FormPage`, which holds the labels and what they describe."""

    signature_info: QLabel
    conflict_info: QLabel
    attention_info: QLabel
    instance: str | None
    language: str
    status: str | None
    form: str
    visit: str
    saved_values: dict[str, Any]
    subject_data: SubjectData
    view: Any
    upgrade: Any
    signatures: list[SignatureRecord]
    _all_signatures: list[SignatureRecord]

    def _show_signatures(self, signatures: list[SignatureRecord]) -> None:
        self._all_signatures = signatures
        self.signatures = [s for s in signatures if self.instance in s.instances]
        lines = signature_lines(signatures, self.instance, self.language)
        self.signature_info.setText("\n".join(lines))
        self.signature_info.setVisible(bool(lines))

    def _show_conflicts(self, conflicts: list[Any]) -> None:
        lines = conflict_lines(conflicts, self.language)
        self.conflict_info.setText("\n".join(lines))
        self.conflict_info.setVisible(bool(lines))

    def _show_attention(self) -> None:
        """A completed form a value elsewhere has since broken (the guardian's signature, a date order)."""
        problems: list[str] = []
        if self.status in ("complete", "signed") and self.view is not None:
            issues = needs_attention(
                self.upgrade.rules(), self.form, self.visit, self.saved_values, self.subject_data, self.view.clock
            )
            problems = [f"{self.view._label(i.field)}: {i.message.get(self.language)}" for i in issues]
        text = (
            attention_text(status_text(self.status or "", self.language), problems, self.language) if problems else ""
        )
        self.attention_info.setText(text)
        self.attention_info.setVisible(bool(text))
