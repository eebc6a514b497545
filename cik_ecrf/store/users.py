"""Users on a laptop: the shared role table and password rules (`core`), and the lockout defaults."""

from __future__ import annotations

from ..core.passwords import (
    MIN_LENGTH,
    USERNAME,
    check_password,
    check_role,
    check_username,
    hash_password,
    verify_password,
)
from ..core.roles import ADMIN_ROLES, ENTRY_ROLES, ROLES

MAX_FAILURES = 5
LOCKOUT_MINUTES = 15

__all__ = [
    "ADMIN_ROLES",
    "ENTRY_ROLES",
    "LOCKOUT_MINUTES",
    "MAX_FAILURES",
    "MIN_LENGTH",
    "ROLES",
    "USERNAME",
    "check_password",
    "check_role",
    "check_username",
    "hash_password",
    "verify_password",
]
