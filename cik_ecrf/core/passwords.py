"""Passwords and names: the rules a password must meet, and argon2id hashing. Laptops and the server
share them, so a password accepted on one is accepted on the other."""

from __future__ import annotations

import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .errors import UserError
from .roles import ROLES

MIN_LENGTH = 10
USERNAME = re.compile(r"^[a-z][a-z0-9._-]{1,31}$")

_hasher = PasswordHasher()


def check_username(name: str) -> None:
    if not USERNAME.match(name):
        raise UserError(
            f"user name {name!r}: 2–32 characters, lower-case letters, digits, '.', '_' or '-', starting with a letter"
        )


def check_role(role: str) -> None:
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; one of: {', '.join(ROLES)}")


def check_password(password: str, username: str) -> None:
    """Minimum rules (site policy may add more): length, letters and digits, not the user name."""
    problems = []
    if len(password) < MIN_LENGTH:
        problems.append(f"at least {MIN_LENGTH} characters")
    if not re.search(r"[A-Za-z]", password) or not re.search(r"[0-9]", password):
        problems.append("both letters and digits")
    if username.lower() in password.lower():
        problems.append("must not contain the user name")
    if problems:
        raise UserError("password too weak: " + "; ".join(problems))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
