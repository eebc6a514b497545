"""A field's audit history as a person reads it: labels of coded values, the role in words, the time."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QT_TRANSLATE_NOOP

from .texts import translator

CONTEXT = "FieldHistory"
TEXTS = {
    "nurse": QT_TRANSLATE_NOOP("FieldHistory", "research nurse"),
    "investigator": QT_TRANSLATE_NOOP("FieldHistory", "investigator"),
    "monitor": QT_TRANSLATE_NOOP("FieldHistory", "monitor"),
    "data_manager": QT_TRANSLATE_NOOP("FieldHistory", "data manager"),
    "admin": QT_TRANSLATE_NOOP("FieldHistory", "administrator"),
    "system": QT_TRANSLATE_NOOP("FieldHistory", "system"),
}
_t = translator(CONTEXT, TEXTS)


def role_text(role: str, language: str) -> str:
    return _t(role, language) if role in TEXTS else role


def history_lines(
    events: list[Any], field_id: str, instance: str | None, shown: Callable[[Any], str], language: str
) -> list[str]:
    """The field's audit events, oldest first: `2026-01-11 09:00 UTC+8 nina (research nurse): 80 → 82 (reason)`."""
    lines = []
    for e in events:
        if e.field_id != field_id or e.instance_id != instance:
            continue
        old = shown(json.loads(e.old_json)) if e.old_json else "—"
        new = shown(json.loads(e.new_json)) if e.new_json else "—"
        reason = f" ({e.reason})" if e.reason else ""
        lines.append(
            f"{e.at_utc[:16].replace('T', ' ')} UTC{e.utc_offset_min / 60:+.0f} {e.username} "
            f"({role_text(e.role, language)}): {old} → {new}{reason}"
        )
    return lines


def confirmed_keys(events: list[Any], instance: str | None) -> frozenset[str]:
    """The soft checks ("FIELD:code") confirmed for an instance and not changed since."""
    keys: set[str] = set()
    for e in events:
        if e.instance_id != instance or instance is None:
            continue
        if e.field_id:
            keys = {k for k in keys if k.split(":", 1)[0] != e.field_id}
        if e.confirmed_json:
            keys |= set(json.loads(e.confirmed_json))
    return frozenset(keys)
