"""Unsaved input held for its author while someone else uses the laptop.

When the idle lock ends with *another* user signing in, the form being filled in must not show
the first user's typing to the second (who could save it under their own name). The first user's
screen state is put aside here, keyed by user and form, and given back only to that user.

Kept in memory, not in the encrypted store: nothing here has been saved by anyone, so it has no
place in the audit trail, and a second copy of unsaved patient data on disk would be one more
thing to protect and purge. The price is that it ends with the program; closing the window asks
about unsaved input first, so that happens only on a crash.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class DraftKey:
    store: str  # the store's directory: two stores on one laptop never share drafts
    username: str
    subject: str
    visit: str
    form: str
    instance: str  # "" for a form that has one instance per visit


class HeldDrafts:
    def __init__(self) -> None:
        self._held: dict[DraftKey, dict[str, Any]] = {}

    def keep(self, key: DraftKey, entries: dict[str, Any]) -> None:
        self._held[key] = dict(entries)

    def take(self, key: DraftKey) -> dict[str, Any] | None:
        """The entries held for `key` (and no longer held), or None."""
        return self._held.pop(key, None)

    def peek(self, key: DraftKey) -> dict[str, Any] | None:
        return self._held.get(key)

    def drop(self, key: DraftKey) -> None:
        self._held.pop(key, None)

    def held_for(self, store: str, username: str) -> list[DraftKey]:
        return [k for k in self._held if k.store == store and k.username == username]


HELD = HeldDrafts()
