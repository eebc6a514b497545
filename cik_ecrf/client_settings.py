"""The desktop client's settings on this laptop: language and idle-lock time.

Kept beside the store (`client-settings.json` in the data directory) so hospital IT can place one
when preparing a laptop. A typed, versioned record: a file from a newer client or with a bad value
is reported (file, place, what) and the defaults are used; the bad file is kept aside, never lost,
when the user saves new settings over it.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

SETTINGS_FILE = "client-settings.json"
VERSION = 1


class ClientSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    version: int = VERSION
    language: Literal["en", "zh"] = "en"
    idle_minutes: float = Field(default=5, ge=1, le=60, description="minutes without input before the lock")


@dataclass(frozen=True)
class LoadedSettings:
    settings: ClientSettings
    problem: str | None = None  # why the file was not used, for the status bar


def settings_path(data_dir: Path) -> Path:
    return data_dir / SETTINGS_FILE


def load_settings(data_dir: Path) -> LoadedSettings:
    path = settings_path(data_dir)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return LoadedSettings(ClientSettings())
    except OSError as exc:
        return LoadedSettings(ClientSettings(), f"{path}: cannot be read ({exc.strerror}); using the defaults")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        return LoadedSettings(ClientSettings(), f"{path}:{exc.lineno}:{exc.colno}: {exc.msg}; using the defaults")
    if isinstance(raw, dict) and isinstance(raw.get("version"), int) and raw["version"] > VERSION:
        return LoadedSettings(ClientSettings(), f"{path}: written by a newer client (version {raw['version']}); using the defaults")
    try:
        return LoadedSettings(ClientSettings.model_validate(raw))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first["loc"])
        return LoadedSettings(ClientSettings(), f"{path}: {where}: {first['msg']}; using the defaults")


def save_settings(data_dir: Path, settings: ClientSettings) -> None:
    """Atomic replace; a file that could not be read is first kept as `.invalid`."""
    path = settings_path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    if path.exists() and load_settings(data_dir).problem is not None:
        os.replace(path, path.with_suffix(".json.invalid"))
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(settings.model_dump(), indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)
