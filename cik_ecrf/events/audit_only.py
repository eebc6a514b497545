"""Events that are kept in the trail (on the laptop and, once pushed, centrally) and change no
clinical data: sign-ins, user administration on a laptop, refused signatures. The server logs them
and sends them to no other laptop."""

from __future__ import annotations

from .base import EventType

NAMES = (
    "store_init",
    "login",
    "login_failed",
    "logout",
    "user_add",
    "user_deactivate",
    "role_change",
    "password_change",
    "signature_refused",
    "users_synced",
    "sync_repair",
    "lockout_state_edited",
    "store_damaged",
    "store_head_unreadable",
    "store_rolled_back",
    "data_export",  # an export (ODM, CSV, endpoints) taken off the laptop: format and SHA-256 of each file
    "study_version_received",  # a study version (protocol amendment) from the server kept here: number and SHA-256
)

EVENTS = tuple(EventType(name, "laptop", False, None, doc=__doc__ or "") for name in NAMES)
