"""A site's changes after a laptop's cursor, in commit order: what `GET /pull` sends, and whether there is any.

One place decides both, so that `GET /device` can tell a laptop "nothing new after your cursor" (it then
skips the pull, and a sync with nothing to do is one request) by exactly the rule the pull itself
follows: a cursor this server does not know is never answered "nothing", it is left to the pull's 410.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, bindparam, select
from sqlalchemy.orm import Session

from ..sync.protocol import DATA_ACTIONS, SERVER_ACTIONS
from .models import Change as ChangeRow
from .models import SeqCounter, ServerMeta

PULLED = tuple(sorted(DATA_ACTIONS | SERVER_ACTIONS))


class UnknownCursor(Exception):
    """The laptop's cursor is not one of this server's (restored from a backup, or another server)."""


@dataclass(frozen=True)
class Window:
    """Where a pull may read: after the laptop's cursor, up to the highest seq committed (`high`)."""

    epoch: str
    cursor: int
    high: int


# built once, run with each request's values: a pull and the `GET /device` asked at every sync spend more
# building statements than running them on their indexes
_EPOCH = select(ServerMeta.value).where(ServerMeta.key == "epoch")
_HIGH = select(SeqCounter.next_seq).where(SeqCounter.id == 1)


def _at(seq: Any) -> Any:
    """The id of the change at `seq`."""
    return select(ChangeRow.id).where(ChangeRow.seq == seq)


def _pulled(high: Any) -> tuple[Any, ...]:
    """What a pull sends: the site's changes after the cursor up to `high` (all committed), refused ones left out."""
    return (
        ChangeRow.site_code == bindparam("site"),
        ChangeRow.seq > bindparam("cursor"),
        ChangeRow.seq <= high,
        ChangeRow.disposition != "rejected",
        ChangeRow.action.in_(PULLED),
    )


_AT = _at(bindparam("seq"))
_ROWS = (
    select(ChangeRow.seq, ChangeRow.disposition, ChangeRow.body)
    .where(*_pulled(bindparam("high")))
    .order_by(ChangeRow.seq)
    .limit(bindparam("limit"))
)
# the three facts a cursor is judged by, in one round trip (each is a lookup on a key)
_WINDOW = select(_EPOCH.scalar_subquery(), _HIGH.scalar_subquery(), _AT.scalar_subquery())
# the same three and the site's first pulled change after the cursor (`:cursor`, `:site`), as columns for
# `GET /device` to read with its own facts in one statement
NEWS = (
    _EPOCH.scalar_subquery(),
    _HIGH.scalar_subquery(),
    _at(bindparam("cursor")).scalar_subquery(),
    select(ChangeRow.seq).where(*_pulled(_HIGH.scalar_subquery() - 1)).limit(1).scalar_subquery(),
)


def _judged(cursor: int, since_epoch: str | None, cursor_id: str | None, facts: Sequence[Any]) -> Window:
    current, high, at_cursor = facts[0] or "", int(facts[1] or 1) - 1, facts[2]  # high: all committed
    if cursor > 0 and (since_epoch != current or cursor > high or (cursor_id is not None and at_cursor != cursor_id)):
        raise UnknownCursor(
            f"cursor {cursor} is unknown to this server (restored from a backup, or another server): pull everything again"
        )
    return Window(current, cursor, high)


def window(s: Session | Connection, cursor: int, since_epoch: str | None, cursor_id: str | None) -> Window:
    """The readable window after `cursor`; UnknownCursor when this server cannot vouch for that cursor."""
    return _judged(cursor, since_epoch, cursor_id, s.execute(_WINDOW, {"seq": cursor}).one())


def at_seq(s: Session | Connection, seq: int) -> str | None:
    """The id of the change at `seq` (a pull's `cursor_id`)."""
    return s.scalar(_AT, {"seq": seq}) if seq > 0 else None


def rows(s: Session | Connection, site_code: str, at: Window, limit: int) -> list[Row[tuple[int, str, str]]]:
    """(seq, disposition, logged body) of the site's pulled changes in the window, the first `limit`."""
    return list(s.execute(_ROWS, {"site": site_code, "cursor": at.cursor, "high": at.high, "limit": limit}).all())


def nothing_after(cursor: int, since_epoch: str | None, cursor_id: str | None, news: Sequence[Any]) -> bool:
    """True only when the cursor is known here (the pull's own rule) and the site has no pulled change
    after it. `news`: the values of NEWS read with `cursor` and the laptop's site."""
    try:
        _judged(cursor, since_epoch, cursor_id, news[:3])
    except UnknownCursor:
        return False
    return news[3] is None
