"""The laptop's client settings: typed, versioned, and a bad file is reported and kept, never lost."""

from __future__ import annotations

import json
from pathlib import Path

from cik_ecrf.client_settings import ClientSettings, load_settings, save_settings, settings_path


def test_defaults_when_there_is_no_file(tmp_path: Path) -> None:
    loaded = load_settings(tmp_path)
    assert loaded.settings == ClientSettings(language="en", idle_minutes=5) and loaded.problem is None


def test_saved_settings_are_read_back(tmp_path: Path) -> None:
    save_settings(tmp_path, ClientSettings(language="zh", idle_minutes=12))
    assert load_settings(tmp_path).settings == ClientSettings(language="zh", idle_minutes=12)
    assert json.loads(settings_path(tmp_path).read_text())["version"] == 1


def test_malformed_json_names_file_line_and_column(tmp_path: Path) -> None:
    settings_path(tmp_path).write_text('{\n  "language": "zh",\n  "idle_minutes": \n}\n')
    loaded = load_settings(tmp_path)
    assert loaded.settings == ClientSettings()
    assert loaded.problem is not None and f"{settings_path(tmp_path)}:4:1:" in loaded.problem


def test_a_bad_value_names_the_setting(tmp_path: Path) -> None:
    settings_path(tmp_path).write_text(json.dumps({"language": "fr", "idle_minutes": 5}))
    problem = load_settings(tmp_path).problem
    assert problem is not None and "$.language" in problem and "using the defaults" in problem
    settings_path(tmp_path).write_text(json.dumps({"idle_minutes": 0}))
    problem = load_settings(tmp_path).problem
    assert problem is not None and "$.idle_minutes" in problem and "from 1 to 60" in problem


def test_a_file_from_a_newer_client_is_not_misread(tmp_path: Path) -> None:
    settings_path(tmp_path).write_text(json.dumps({"version": 7, "language": "zh"}))
    loaded = load_settings(tmp_path)
    assert loaded.settings.language == "en" and "newer client (version 7)" in (loaded.problem or "")


def test_saving_over_a_bad_file_keeps_it_aside(tmp_path: Path) -> None:
    settings_path(tmp_path).write_text("not json")
    save_settings(tmp_path, ClientSettings(idle_minutes=3))
    assert (tmp_path / "client-settings.json.invalid").read_text() == "not json"
    assert load_settings(tmp_path).settings.idle_minutes == 3


def test_a_file_that_is_not_an_object_or_has_unknown_keys_is_reported(tmp_path: Path) -> None:
    settings_path(tmp_path).write_text("[1, 2]")
    assert "$: must be a JSON object" in (load_settings(tmp_path).problem or "")
    settings_path(tmp_path).write_text(json.dumps({"langauge": "zh"}))
    assert "$.langauge: not a setting" in (load_settings(tmp_path).problem or "")
