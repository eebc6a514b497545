"""Screenshots of the monitoring screens, to look at: a form with badges and a thread open, the worklist,
the subject view with SDV progress, a locked form; at 1366×768 and 1920×1080 (and two in Chinese).

Run: xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python tests/ui/monitoring_shots.py OUT_DIR
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

os.environ.setdefault("CIK_ECRF_KDF_MEMORY_KIB", "8192")
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE.parent), str(HERE)]

from monitoring_setup import DATA_MANAGER, MONITOR, NURSE, enter_vitals, login, make_site  # noqa: E402
from PySide6.QtCore import QPoint, qInstallMessageHandler  # noqa: E402
from PySide6.QtGui import QPainter, QPixmap  # noqa: E402
from PySide6.QtWidgets import QApplication, QWidget  # noqa: E402

from cik_ecrf.definitions.loader import load_study  # noqa: E402
from cik_ecrf.store.entry import SaveRequest  # noqa: E402
from cik_ecrf.ui.app import MainWindow  # noqa: E402
from cik_ecrf.ui.texts import install_language  # noqa: E402
from cik_ecrf.ui.worker import StoreWorker  # noqa: E402

SIZES = ((1366, 768), (1920, 1080))


def wait(app: QApplication, done: Any, limit: int = 2_000_000) -> None:
    for _ in range(limit):
        if done():
            break
        app.processEvents()
    for _ in range(50):
        app.processEvents()


def site(directory: Path, study: Any) -> tuple[str, str]:
    """Subject A: vitals with queries in every status, SDV marks; subject B: a visit locked."""
    make_site(directory, study)
    nurse = login(directory, study, NURSE)
    a, _ = enter_vitals(nurse)
    b, _ = enter_vitals(nurse)
    monitor = login(directory, study, MONITOR)
    m = monitor.monitoring
    m.verify(a, "screening", "vitals", ["TEMP", "RESP", "SYSBP", "HEIGHT"])
    hr = m.open_query(a, "screening", "vitals", "HR", text="The nursing notes say 88 bpm at 09:00. Please check.")
    temp = m.open_query(a, "screening", "vitals", "TEMP", text="37.2 °C axillary or oral?")
    weight = m.open_query(a, "screening", "vitals", "WEIGHT", text="Weight in kg?")
    sys_bp = m.open_query(a, "screening", "vitals", "SYSBP", text="Second measurement?")
    m.open_query(a, "screening", "vitals", text="Vitals taken before or after the consent?")
    m.open_query(a, "screening", text="The visit date in the source is one day later.")
    m.open_query(b, "screening", "vitals", "OXYSAT", text="On room air?")
    nurse.monitoring.answer_query(temp, "Axillary, as per the ward's practice.")
    nurse.monitoring.answer_query(weight, "Yes, kg (scale in the ward).")
    m.close_query(weight, "Thank you.")
    nurse.monitoring.answer_query(sys_bp, "Only one measurement was taken.")
    m.close_query(sys_bp)
    nurse.monitoring.answer_query(hr, "Transcription error: the source says 88.", {"HR": 88})
    m.reopen_query(hr, "Please also correct the time of the measurement.")
    nurse.save(SaveRequest(a, "screening", "vitals", {"SYSBP": "112"}, False, None, "re-measured", True))
    manager = login(directory, study, DATA_MANAGER)
    manager.monitoring.lock(b, "screening")
    for store in (nurse, monitor, manager):
        store.close()
    return a, b


def grab_with_dialog(window: QWidget, dialog: QWidget | None) -> QPixmap:
    """The window with its (separate, top-level) dialog painted where it stands."""
    shot = window.grab()
    if dialog is not None and dialog.isVisible():
        painter = QPainter(shot)
        where = dialog.mapToGlobal(QPoint(0, 0)) - window.mapToGlobal(QPoint(0, 0))
        painter.drawPixmap(where, dialog.grab())
        painter.end()
    return shot


def main(out: Path) -> int:
    qInstallMessageHandler(lambda *_: None)
    app = QApplication.instance() or QApplication([])
    study = load_study(HERE.parents[1] / "forms")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "store"
        a, b = site(directory, study)
        for user, shots in ((NURSE, ("form", "locked")), (MONITOR, ("worklist", "subject"))):
            for language in ("en", "zh"):
                install_language(app, language)
                for width, height in SIZES:
                    if language == "zh" and width != 1366:
                        continue
                    worker = StoreWorker()
                    window = MainWindow(login(directory, study, user), worker, language, 60, settings_dir=directory)
                    window.resize(width, height)
                    window.show()
                    wait(app, lambda w=window: w.subject_list.rows)
                    for shot in shots:
                        name = f"monitoring-{shot}-{width}x{height}{'-zh' if language == 'zh' else ''}.png"
                        take(app, window, shot, a, b).save(str(out / name))
                        print(out / name)
                    window.close()
                    app.processEvents()
    return 0


def take(app: QApplication, window: MainWindow, shot: str, a: str, b: str) -> QPixmap:
    dialog = None
    if shot in ("form", "locked"):
        window.open_subject(a if shot == "form" else b)
        page = window.open_form(a if shot == "form" else b, "screening", "vitals", None)
        wait(app, lambda: page.monitoring.data is not None and page.view is not None and page.view.isVisible())
        if shot == "form":
            marks = page.monitoring.marks["HR"]
            marks.badge.click()
            dialog = page.monitoring.thread_dialog
            wait(app, lambda: bool(dialog.messages))
            dialog.move(window.mapToGlobal(QPoint(300, window.height() - dialog.height() - 60)))  # badges in view
            wait(app, lambda: True)
    elif shot == "worklist":
        page = window.worklist.show()
        page.status.setCurrentIndex(page.status.findData(None))
        wait(app, lambda: page.model.rowCount() > 0)
    else:
        window.open_subject(a)
        view = window.subject_view
        wait(app, lambda: view.monitoring.progress is not None and view.fully_loaded)
    shot_ = grab_with_dialog(window, dialog)
    if dialog is not None:
        dialog.close()
    return shot_


if __name__ == "__main__":
    raise SystemExit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "/work/notes/shots")))
