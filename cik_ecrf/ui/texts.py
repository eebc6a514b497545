"""The client's own texts, through Qt's translation system.

Each module declares its English source texts with `QT_TRANSLATE_NOOP(context, text)` so that
`pyside6-lupdate` finds them; the Chinese lives in `resources/translations/cik_ecrf_zh_CN.ts`,
compiled to the `.qm` the client loads (`python -m cik_ecrf.ui.texts --update` refreshes both).
Widgets take the language explicitly rather than reading a global, so a form can be shown in
Chinese next to an English one (and tests need no global state); the same translator is also
installed application-wide so Qt's own dialogs follow the language.
"""

from __future__ import annotations

import functools
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QLibraryInfo, QLocale, QTranslator

from .resources import resources_dir

LANGUAGES = {"en": "English", "zh": "简体中文"}
CATALOGUE = "translations/cik_ecrf_zh_CN"


def _is_chinese(language: str) -> bool:
    return language.startswith("zh")


@functools.cache
def qt_translator(language: str) -> QTranslator | None:
    """The loaded catalogue of the client's texts for `language`; None for English (the source)."""
    if not _is_chinese(language):
        return None
    translator = QTranslator()
    if not translator.load(str(resources_dir() / f"{CATALOGUE}.qm")):
        return None  # a broken install shows English rather than nothing
    return translator


def translator(context: str, table: Mapping[str, str]) -> Callable[[str, str], str]:
    """`_t = translator(CONTEXT, TEXTS)`, then `_t(key, language)`: the text of `key` in `language`."""

    def lookup(key: str, language: str) -> str:
        source = table[key]
        catalogue = qt_translator(language)
        return (catalogue.translate(context, source) or source) if catalogue is not None else source

    return lookup


_installed: list[QTranslator] = []


def install_language(app: QCoreApplication, language: str) -> None:
    """Make `language` the application's: Qt's own buttons and dialogs, and `tr()` lookups."""
    for old in _installed:
        app.removeTranslator(old)
    _installed.clear()
    if not _is_chinese(language):
        QLocale.setDefault(QLocale(QLocale.Language.English, QLocale.Country.UnitedStates))
        return
    QLocale.setDefault(QLocale(QLocale.Language.Chinese, QLocale.Country.China))
    qtbase = QTranslator()
    if qtbase.load("qtbase_zh_CN", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)):
        _installed.append(qtbase)
    own = qt_translator(language)
    if own is not None:
        _installed.append(own)
    for translator_ in _installed:
        app.installTranslator(translator_)


def update_catalogue() -> int:
    """Developers: re-extract the source texts into the .ts (keeping translations) and compile the .qm."""
    ui = Path(__file__).resolve().parent
    ts = resources_dir() / f"{CATALOGUE}.ts"
    sources = sorted(str(p) for p in ui.glob("*.py"))
    tools = Path(sys.executable).parent
    subprocess.run(
        [str(tools / "pyside6-lupdate"), "-no-obsolete", "-locations", "none", *sources, "-ts", str(ts)], check=True
    )
    subprocess.run([str(tools / "pyside6-lrelease"), str(ts), "-qm", str(ts.with_suffix(".qm"))], check=True)
    return 0


if __name__ == "__main__":
    if sys.argv[1:] == ["--update"]:
        raise SystemExit(update_catalogue())
    print("usage: python -m cik_ecrf.ui.texts --update", file=sys.stderr)
    raise SystemExit(2)
