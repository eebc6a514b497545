"""Errors meant for users of the store: each says what is wrong and, where it helps, what to do."""

from __future__ import annotations

from ..core.errors import UserError

#: the store's name for the root of user-facing errors (one root for store, sync, server and printouts)
StoreError = UserError


class AuthError(StoreError):
    """Wrong user or password, locked account, or a password that must be changed first."""


class PermissionDenied(StoreError):
    """The user's role does not allow the action."""


class ValidationFailed(StoreError):
    """A save refused by the rules: one `FIELD: message` line per problem."""

    def __init__(self, lines: list[str]) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines
