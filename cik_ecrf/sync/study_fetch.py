"""At each sync, before pushing or pulling: fetch the study versions published since the newest this
laptop holds, so a version is here before any change made under it (pulled forms, or this laptop's
own new instances) needs it. A server without study versions (older) answers 404: nothing to fetch."""

from __future__ import annotations

from pydantic import ValidationError

from ..store.api import Store
from .study_protocol import StudyVersions
from .transport import SyncError, Transport


def fetch_study_versions(transport: Transport, store: Store) -> list[int]:
    """The numbers of the versions received (usually none: one small request)."""
    after = store.study_versions.latest_number
    try:
        content = transport._call("GET", "/study/versions", params={"after": after})
    except SyncError as exc:
        if "(404)" in str(exc):
            return []
        raise
    try:
        answer = StudyVersions.model_validate_json(content)
    except ValidationError as exc:
        raise SyncError(f"the server's study versions do not follow the protocol: {exc.errors()[0]['msg']}") from None
    if not answer.versions:
        return []
    return store.amendments.receive([v.model_dump() for v in answer.versions])
