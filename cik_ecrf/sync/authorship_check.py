"""`audit verify` online: the server's word on users, keys and this device's chain anchor.

Anyone who signs in on a laptop can rewrite its store, public keys and user table included, so the
laptop's own checks (`store.authorship.verify`) are repeated against what the server holds: its
users' public keys and roles, and the device chain head it anchored at this laptop's last push.
"""

from __future__ import annotations

from typing import Any

from ..store.api import Store
from ..store.errors import StoreError
from .protocol import Anchor
from .transport import Transport, _parse


def server_view(store: Store, verify: bool | str = True) -> dict[str, Any] | None:
    """The server's keys, users and anchor for this laptop; None when not enrolled or unreachable."""
    settings = store.sync_settings()
    if not settings["server_url"] or not settings["token"]:
        return None
    try:
        with Transport(settings["server_url"], settings["token"], verify=verify) as transport:
            users = transport.users().users
            anchor = _parse(Anchor, transport._call("GET", "/anchor"))
    except StoreError:
        return None
    keys: dict[str, tuple[str, str]] = {}
    for user in users:
        for key in [*user.key_history, *([user.keys] if user.keys else [])]:
            keys[key.key_id] = (user.username, key.sign)
    return {
        "keys": keys,
        "users": {u.username: (u.role, u.active) for u in users},
        "anchor": (anchor.device_seq, anchor.head),
        "flagged": anchor.flagged,
    }


def check(store: Store, verify: bool | str = True) -> tuple[list[str], list[str]]:
    """(problems, notes) of the authorship checks, online when the server answers."""
    server = server_view(store, verify)
    result = store.verify_authorship(server)
    notes = list(result.notes)
    if server is None and store.sync_status().enrolled:
        notes.append("the server was not reached: signatures were checked with the public keys on this laptop only")
    elif server is not None:
        notes.append(
            f"checked against the server: its keys, users and this laptop's anchor (change {server['anchor'][0]})"
        )
        if server["flagged"]:
            notes.append(f"the server flagged this laptop: {server['flagged']}")
    return list(result.problems), notes
