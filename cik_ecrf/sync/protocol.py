"""The sync protocol: pydantic models shared by the laptop client and the central server.

A change is one audit event of a laptop's hash-chained trail, sent as it was written (the trail is
the outbox). The server answers each change on its own; a pull returns the site's changes after a
cursor in the server's commit order. Unknown keys are refused, so a client and a server that
disagree about the protocol fail loudly instead of dropping data.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from ..events.change import Change, Id, Model, Name, Short
from ..events.registry import DATA_ACTIONS, PULLED_ACTIONS, SERVER_ACTIONS

PROTOCOL = 1
API = "/api/v1"

#: held: not applied and not logged: it follows a gap in its device's sequence; send again from `expected_device_seq`
Disposition = Literal["applied", "merged", "duplicate", "conflict", "rejected", "held"]


class PushRequest(Model):
    # Each change is read on its own (`Change`): a malformed one is refused alone, never the whole batch.
    changes: list[Any] = Field(max_length=5000)
    client_time_utc: Short | None = None  # for the clock-skew warning only; clocks never pick a winner
    # each covers a run of `changes` with its author's signature (read on their own by the server, like changes)
    seals: list[Any] = Field(default_factory=list, max_length=5000)


class Seal(Model):
    """An author's Ed25519 signature over a run of a device's changes and the device chain before them
    (`core.keys.seal_message`): the server refuses every change no valid seal of its author covers."""

    username: Name
    key_id: Annotated[str, Field(min_length=1, max_length=32)]
    first: int = Field(ge=1, le=2**62)
    last: int = Field(ge=1, le=2**62)
    previous: Annotated[str, Field(min_length=64, max_length=64)]
    head: Annotated[str, Field(min_length=64, max_length=64)]
    signature: Annotated[str, Field(min_length=1, max_length=100)]


class Anchor(Model):
    """A device's chain head as the server anchored it (`GET /anchor`), and why it is flagged, if it is."""

    device_seq: int
    head: str | None
    flagged: str | None = None


class ChangeResult(Model):
    id: Id
    disposition: Disposition
    reason: str | None = None
    server_seq: int | None = None  # where the change sits in the server's log (not for rejected ones)
    expected_device_seq: int | None = None  # with `held`: the device_seq the server takes next


class PushResponse(Model):
    results: list[ChangeResult]
    warnings: list[str] = []


class ServerChange(Model):
    """A change as the server logged it: the laptop's event, its commit-ordered place and its outcome."""

    seq: int
    disposition: Disposition
    # read on its own by the laptop (`Change`): one it cannot read is quarantined there, the page goes on
    change: dict[str, Any]


class PullResponse(Model):
    epoch: str  # the server database's identity: a cursor from another database is unknown here
    changes: list[ServerChange]
    next_cursor: int
    cursor_id: str | None = None  # the change at next_cursor: a restored server has other changes at those numbers
    more: bool


class PublicKey(Model):
    """A user's public keys (base64 raw): Ed25519 to verify their signatures, X25519 to seal to them."""

    key_id: Annotated[str, Field(max_length=32)]
    sign: Annotated[str, Field(max_length=64)]
    box: Annotated[str, Field(max_length=64)]


class UserKeys(PublicKey):
    """The user's current keys, with the private keys locked under their password (argon2id +
    AES-GCM): only that password opens them, so a laptop can seal its store key to the user and the
    user signs there offline. Nothing here is derived from the password alone."""

    locked: dict[str, Any]


class UserRecord(Model):
    """A user of the site as laptops need them to act offline."""

    id: Id
    username: Name
    full_name: str
    role: Short
    active: bool
    keys: UserKeys | None = None  # None for a deactivated user, or one whose keys are not made yet
    key_history: list[PublicKey] = []  # every key they had, to verify what they signed before


class SiteUsers(Model):
    users: list[UserRecord]


class EnrolRequest(Model):
    username: Name
    password: Annotated[str, Field(min_length=1, max_length=200)]
    device_id: Id
    device_code: Annotated[str, Field(max_length=8)] | None = None  # None: the server picks a free one
    site_code: Annotated[str, Field(max_length=16)] | None = None  # the laptop's store site, when it has one


class EnrolResponse(Model):
    token: str
    site_code: str
    site_name: str
    device_code: str
    user: UserRecord
    epoch: str


class ServerInfo(Model):
    protocol: int
    epoch: str
    server_time_utc: str


class ErrorBody(Model):
    detail: str


__all__ = [
    "API",
    "DATA_ACTIONS",
    "PROTOCOL",
    "PULLED_ACTIONS",
    "SERVER_ACTIONS",
    "Change",
    "Id",
    "Model",
    "Name",
    "Short",
]
