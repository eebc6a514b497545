"""One form drawn with no display attached, for `cik-ecrf --self-test` (cik_ecrf/selftest.py).

The self-test lives outside `ui/` (nothing there may import Qt), so the Qt half of its "render a
form" step is here. It renders through the real `FormView`, so an installed bundle that lacks a Qt
plugin, the bundled font or the translations fails here rather than in front of a nurse.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QLibraryInfo, QTranslator
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication

from ..definitions.spec import StudyDefinition
from ..rules import RulesEngine
from .form_view import FormView
from .resources import install_fonts
from .texts import qt_translator


@dataclass(frozen=True)
class Rendering:
    form_id: str
    language: str
    fields: int  # field widgets built, one per field of the definition
    width: int
    height: int
    colours: int  # distinct colours in the picture; drawn text brings dozens (anti-aliasing)
    font_family: str | None  # the bundled CJK font as Qt registered it; None if it failed to load
    catalogue: bool  # whether the client's Chinese translations loaded (always True for English)
    qt_catalogue: bool  # whether Qt's own translations (standard buttons, dialogs) loaded, likewise
    platform: str  # the Qt platform plugin that drew it


def _distinct_colours(image: QImage) -> int:
    rgb = image.convertToFormat(QImage.Format.Format_RGB32)
    return len(set(memoryview(bytes(rgb.constBits())).cast("I")))


def _qt_catalogue(language: str) -> bool:
    if not language.startswith("zh"):
        return True
    return QTranslator().load("qtbase_zh_CN", QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath))


def render_form(
    study: StudyDefinition, form_id: str, visit_id: str, language: str = "zh", png: Path | None = None
) -> Rendering:
    """Build the form's page offscreen, draw it, and say what was drawn (saved as PNG if asked)."""
    if QApplication.instance() is None:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"  # the self-test runs over SSH and in CI too
    app = QApplication.instance() or QApplication([sys.argv[0]])
    family = install_fonts(app)  # type: ignore[arg-type]
    view = FormView(RulesEngine(study), form_id, visit_id, language=language)
    try:
        view.resize(1000, 1400)  # not shown: grab() lays the page out and draws it all the same
        image = view.grab().toImage()
        if png is not None and not image.save(str(png)):
            raise OSError(f"{png}: could not write the picture")
        return Rendering(
            form_id=form_id,
            language=language,
            fields=len(view.widgets),
            width=image.width(),
            height=image.height(),
            colours=_distinct_colours(image) if not image.isNull() else 0,
            font_family=family,
            catalogue=language == "en" or qt_translator(language) is not None,
            qt_catalogue=_qt_catalogue(language),
            platform=QApplication.platformName(),
        )
    finally:
        view.close()
        view.deleteLater()
        app.processEvents()
