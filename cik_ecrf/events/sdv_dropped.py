"""The server's notice that verified source data changed: the marks it names (a field, and the whole
form's) show as "verification dropped" on every laptop until a monitor verifies again."""

from __future__ import annotations

from ..definitions.spec import StudyDefinition
from .base import EventType, LaptopState, need
from .change import Change
from .monitoring import SdvDropped, payload_of


def check(_study: StudyDefinition, change: Change) -> None:
    need(change.device_id == "server", "sdv_dropped comes from the server only")
    payload_of(SdvDropped, change)


def laptop_apply(state: LaptopState, _seq: int, _disposition: str, change: Change) -> None:
    state.monitoring().drop(change, [tuple(m) for m in payload_of(SdvDropped, change).marks])


EVENT = EventType("sdv_dropped", "server", True, None, check, laptop_apply=laptop_apply, doc=__doc__ or "")
