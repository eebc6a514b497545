"""What the server tells a laptop about its own device (`GET /api/v1/device`): shared by server and laptop.

Kept apart from protocol.py so that device binding and restore detection add one model, not edits to
the shared protocol module.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from ..events.change import Id, Model

#: Headers the server adds to `GET /device` (and `GET /users`): what a laptop may skip fetching. Headers,
#: not fields, so that laptops of every version read the same bodies.
USERS_ETAG = "x-cik-users-etag"  # a digest of what `GET /users` sends this site's laptops
STUDY_VERSION = "x-cik-study-version"  # the newest published study version's number (0: none)
#: "none" when the site has nothing to pull after the cursor the laptop sent with `GET /device` (a cursor
#: this server knows), "some" otherwise: a laptop that pushed nothing in this sync then skips the pull
PULL_NEWS = "x-cik-pull"
HINTS = (USERS_ETAG, STUDY_VERSION, PULL_NEWS)

#: a device sequence number, bounded as a change's is (a database integer holds it)
DeviceSeq = Annotated[int, Field(ge=1, le=2**62)]


class DeviceState(Model):
    """The server's record of one device: the highest device sequence it ever accepted from it (a laptop
    restored from an older copy of its store is behind this), and the subject numbers it made that the
    server holds (its counter must move past them)."""

    device_id: Id
    last_device_seq: int = Field(ge=0)
    last_change_id: Id | None = None  # the change at last_device_seq: a laptop that does not hold it was restored
    subject_numbers: list[str] = []  # the site's numbers in this laptop's pattern (SITE-CODE-NNNN)


class RestoredRequest(Model):
    """A laptop restored from an older copy declares the changes it wrote since under device numbers the
    server already holds: (device_seq, change id) of each of its own changes after its pushed mark, up
    to the server's last accepted device_seq, in order."""

    window: list[tuple[DeviceSeq, Id]] = Field(max_length=100_000)


class RestoredRun(Model):
    """The run of device numbers the server now takes from this laptop a second time (None: nothing to
    take, the laptop holds what the server holds), and the highest it accepted before."""

    from_seq: int | None = None
    to_seq: int | None = None
    last_device_seq: int
