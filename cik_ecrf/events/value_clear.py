"""A field's value removed (a correction to "no value"); the same rules as entering one."""

from __future__ import annotations

from ..core.roles import ENTRY_ROLES
from .base import EventType
from .value_set import check, laptop_apply, server_apply

EVENT = EventType("value_clear", "laptop", True, ENTRY_ROLES, check, server_apply, laptop_apply, __doc__ or "")
