"""The study versions a laptop fetches from the server (`GET /api/v1/study/versions?after=N`)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class StudyVersionOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    number: Annotated[int, Field(ge=1)]
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    note: Annotated[str, Field(max_length=2000)] = ""
    published_at: Annotated[str, Field(max_length=40)] = ""
    bundle: str  # JSON {file name: text}: the definitions, hashed as published
    mapping: str | None = None  # JSON mapping from the version before


class StudyVersions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    versions: list[StudyVersionOut]
