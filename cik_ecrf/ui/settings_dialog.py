"""Settings: the client's language and the idle-lock time, applied at once when accepted."""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import QT_TRANSLATE_NOOP
from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QWidget

from ..client_settings import IDLE_MINUTES, ClientSettings
from .texts import LANGUAGES, translator

CONTEXT = "Settings"
TEXTS = {
    "title": QT_TRANSLATE_NOOP("Settings", "Settings"),
    "language": QT_TRANSLATE_NOOP("Settings", "Language"),
    "idle": QT_TRANSLATE_NOOP("Settings", "Lock after inactivity"),
    "minutes": QT_TRANSLATE_NOOP("Settings", " min"),
}
_t = translator(CONTEXT, TEXTS)


class SettingsDialog(QDialog):
    def __init__(self, settings: ClientSettings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        language = settings.language
        self.setObjectName("settingsDialog")
        self.setWindowTitle(_t("title", language))
        self.original = settings
        self.language = QComboBox()
        self.language.setObjectName("settingsLanguage")
        for code, name in LANGUAGES.items():
            self.language.addItem(name, code)
        self.language.setCurrentIndex(list(LANGUAGES).index(settings.language))
        self.language.setAccessibleName(_t("language", language))
        self.idle = QDoubleSpinBox()
        self.idle.setObjectName("settingsIdleMinutes")
        self.idle.setAccessibleName(_t("idle", language))
        self.idle.setRange(*IDLE_MINUTES)
        self.idle.setDecimals(0)
        self.idle.setSuffix(_t("minutes", language))
        self.idle.setValue(settings.idle_minutes)
        form = QFormLayout(self)
        form.addRow(_t("language", language), self.language)
        form.addRow(_t("idle", language), self.idle)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.setObjectName("settingsButtons")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def chosen(self) -> ClientSettings:
        return dataclasses.replace(self.original, language=self.language.currentData(), idle_minutes=self.idle.value())
