"""What the server tells a laptop about its own device (`GET /api/v1/device`): shared by server and laptop.

Kept apart from protocol.py so that device binding and restore detection add one model, not edits to
the shared protocol module.
"""

from __future__ import annotations

from pydantic import Field

from ..events.change import Id, Model


class DeviceState(Model):
    """The server's record of one device: the highest device sequence it ever accepted from it (a laptop
    restored from an older copy of its store is behind this), and the subject numbers its site has taken."""

    device_id: Id
    last_device_seq: int = Field(ge=0)
    subject_numbers: list[str] = []
