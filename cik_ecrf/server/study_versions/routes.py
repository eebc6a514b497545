"""`GET /api/v1/study/versions?after=N`: the study versions published after N, with their definitions.

A laptop calls it at each sync before it pushes or pulls, so it holds a version before any change made
under it arrives (a dedicated call, not an event in the change log: versions are for every site, a
bundle is a few hundred kB, and the pull pages stay as they are). The device token is checked by the
app's token gate before this runs.
"""

from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy import Engine

from ...sync.protocol import API
from ...sync.study_protocol import StudyVersionOut, StudyVersions
from .store import bundles_after

router = APIRouter()


@router.get(f"{API}/study/versions", response_model=StudyVersions)
def study_versions(request: Request, after: Annotated[int, Query(ge=0, le=1_000_000)] = 0) -> StudyVersions:
    reader: Engine = request.app.state.reader
    with reader.connect() as conn:
        rows = bundles_after(conn, after)
        return StudyVersions(
            versions=[
                StudyVersionOut(
                    number=r.number,
                    sha256=r.sha256,
                    note=r.note,
                    published_at=r.published_at,
                    bundle=r.bundle,
                    mapping=r.mapping,
                )
                for r in rows
            ]
        )
