"""The client's texts go through Qt's translation system: a complete zh_CN catalogue, compiled."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from cik_ecrf.ui import texts
from cik_ecrf.ui.resources import resources_dir

UI = Path(texts.__file__).resolve().parent
TS = resources_dir() / f"{texts.CATALOGUE}.ts"
TOOLS = Path(sys.executable).parent


def _catalogue() -> dict[tuple[str, str], ET.Element]:
    root = ET.parse(TS).getroot()
    return {
        (c.findtext("name"), m.findtext("source")): m.find("translation")
        for c in root.iter("context")
        for m in c.iter("message")
    }


def _source_texts() -> set[tuple[str, str]]:
    """Every QT_TRANSLATE_NOOP(context, text) in the client's modules."""
    found = set()
    for path in UI.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "QT_TRANSLATE_NOOP":
                found.add((node.args[0].value, node.args[1].value))
    return found


def test_every_client_text_has_a_finished_chinese_translation() -> None:
    catalogue = _catalogue()
    missing = _source_texts() - set(catalogue)
    assert not missing, f"not in {TS.name}; run `python -m cik_ecrf.ui.texts --update`: {sorted(missing)}"
    unfinished = [
        key
        for key, translation in catalogue.items()
        if translation.get("type") in ("unfinished", "obsolete", "vanished") or not translation.text
    ]
    assert not unfinished, f"untranslated in {TS.name}: {unfinished}"


def test_translations_keep_their_placeholders() -> None:
    import string

    for (_, source), translation in _catalogue().items():
        names = {f for _, f, _, _ in string.Formatter().parse(source) if f}
        assert names == {f for _, f, _, _ in string.Formatter().parse(translation.text or "") if f}, source


@pytest.mark.skipif(not (TOOLS / "pyside6-lrelease").exists(), reason="pyside6-lrelease is not installed")
def test_the_shipped_qm_is_compiled_from_the_ts(tmp_path: Path) -> None:
    shutil.copy(TS, tmp_path / TS.name)
    subprocess.run(
        [str(TOOLS / "pyside6-lrelease"), "-silent", str(tmp_path / TS.name), "-qm", str(tmp_path / "out.qm")],
        check=True,
    )
    assert (tmp_path / "out.qm").read_bytes() == TS.with_suffix(".qm").read_bytes(), (
        "run `python -m cik_ecrf.ui.texts --update`"
    )


def test_lookup_uses_the_compiled_catalogue(qapp: object) -> None:
    lookup = texts.translator("SubjectList", {"search": "Search subject number…"})
    assert lookup("search", "en") == "Search subject number…"
    assert lookup("search", "zh") == "搜索受试者编号…"
