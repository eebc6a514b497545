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
from typing import Any

SETTINGS_FILE = "client-settings.json"
VERSION = 1
LANGUAGES = ("en", "zh")
IDLE_MINUTES = (1, 60)


@dataclass(frozen=True)
class ClientSettings:
    """A plain dataclass, not pydantic: the client reads it before its sign-in window shows, and
    importing pydantic would cost more than Qt itself (bench/bench_ui.py)."""

    language: str = "en"
    idle_minutes: float = 5
    version: int = VERSION

    def __post_init__(self) -> None:
        problem = next(iter(_problems(self.__dict__)), None)
        if problem:
            raise ValueError(f"{problem[0]}: {problem[1]}")

    def as_json(self) -> dict[str, Any]:
        return {"version": self.version, "language": self.language, "idle_minutes": self.idle_minutes}


def _problems(raw: dict[str, Any]) -> list[tuple[str, str]]:
    """Each bad entry as (JSON path, what is wrong)."""
    problems = [(f"$.{key}", "not a setting") for key in raw if key not in ("version", "language", "idle_minutes")]
    if "language" in raw and raw["language"] not in LANGUAGES:
        problems.append(("$.language", f"must be one of {', '.join(LANGUAGES)}, not {raw['language']!r}"))
    if "idle_minutes" in raw:
        minutes = raw["idle_minutes"]
        low, high = IDLE_MINUTES
        if isinstance(minutes, bool) or not isinstance(minutes, int | float) or not low <= minutes <= high:
            problems.append(("$.idle_minutes", f"must be a number of minutes from {low} to {high}, not {minutes!r}"))
    if "version" in raw and (isinstance(raw["version"], bool) or not isinstance(raw["version"], int)):
        problems.append(("$.version", f"must be a whole number, not {raw['version']!r}"))
    return problems


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
    if not isinstance(raw, dict):
        return LoadedSettings(ClientSettings(), f"{path}: $: must be a JSON object; using the defaults")
    problems = _problems(raw)
    if problems:
        where, what = problems[0]
        return LoadedSettings(ClientSettings(), f"{path}: {where}: {what}; using the defaults")
    if raw.get("version", VERSION) > VERSION:
        return LoadedSettings(
            ClientSettings(), f"{path}: written by a newer client (version {raw['version']}); using the defaults"
        )
    return LoadedSettings(ClientSettings(**raw))


def save_settings(data_dir: Path, settings: ClientSettings) -> None:
    """Atomic replace; a file that could not be read is first kept as `.invalid`."""
    path = settings_path(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    if path.exists() and load_settings(data_dir).problem is not None:
        os.replace(path, path.with_suffix(".json.invalid"))
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(json.dumps(settings.as_json(), indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)
