"""A restored laptop's subject numbers, given again: registered under the next free number of its pattern.

A laptop numbers its subjects SITE-DEVICE-NNNN from a counter in its store. Put back from an older
copy, it hands out numbers again before its first sync tells it of the restore; a subject entered in
that window arrives with a number another subject holds. Only this device makes numbers of its own
pattern, so the collision can only be that; the server registers the subject under 1 + the highest
number of the pattern it holds, and tells every laptop (`subject_renumbered`). The restored laptop
has already done the same, by the same rule and in the same order, before pushing (store/restore.py).
A number outside the device's own pattern (a paper screening number typed twice) is still refused.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import select

from ..core.numbers import next_in_pattern, own_pattern
from ..events.change import Change
from .models import Device, Subject


class OwnNumbers:
    """Mixin of `BatchApplier` (apply.py): `conn`, `site`, `device_id`, `numbers` and `_log` are its."""

    conn: Any
    site: str
    device_id: str
    numbers: set[str]
    next_seq: int

    def next_own_number(self, number: str) -> str | None:
        code = self.conn.execute(select(Device.code).where(Device.id == self.device_id)).scalar()
        prefix = own_pattern(self.site, code) if code else None
        if prefix is None or not number.startswith(prefix):
            return None
        held = self.conn.execute(
            select(Subject.number).where(Subject.site_code == self.site, Subject.number.startswith(prefix))
        ).scalars()
        return next_in_pattern(prefix, [*held, *self.numbers])

    def log_renumbered(self, change: Change, given: str, number: str) -> None:
        self.log_server_event(  # type: ignore[attr-defined]  (BatchApplier's)
            "subject_renumbered",
            subject_id=change.subject_id,
            new_json=json.dumps({"given": given, "number": number}),
            reason=f"{given} was already taken: a laptop restored from an older copy gave it again",
        )
