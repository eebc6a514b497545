"""Screenshots to look at: an old-version vitals form with the "newer version available" mark, the move
dialog over it, and the form after the move (English and Chinese), at 1366×768.

Run: xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python tests/amendments/amendments_shots.py OUT_DIR
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

os.environ.setdefault("CIK_ECRF_KDF_MEMORY_KIB", "8192")
HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parents[1]), str(HERE.parent / "server"), str(HERE.parent), str(HERE)]

from laptop_versions import NURSE, NURSE_PW, VITALS, add_pain, bundle_with, laptop, receive, save  # noqa: E402
from PySide6.QtGui import QPainter  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from cik_ecrf.definitions.loader import load_study  # noqa: E402
from cik_ecrf.store.api import Store  # noqa: E402
from cik_ecrf.ui.form_page import FormPage  # noqa: E402
from cik_ecrf.ui.texts import install_language  # noqa: E402
from cik_ecrf.ui.worker import StoreWorker  # noqa: E402


def wait(app: QApplication, done: Any) -> None:
    while not done():
        app.processEvents()
    for _ in range(50):
        app.processEvents()


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication(sys.argv)
    study = load_study(HERE.parents[1] / "forms")
    with tempfile.TemporaryDirectory() as tmp:
        laptop(Path(tmp) / "store", study)
        store = Store.open(Path(tmp) / "store", NURSE, NURSE_PW, study)
        subject = store.add_subject()
        for visit in ("D1", "D7"):  # one old instance for each language's shots
            save(store, subject, visit, "vitals", VITALS)
        receive(store, bundle_with(add_pain))
        worker = StoreWorker()
        for language, visit in (("en", "D1"), ("zh", "D7")):
            install_language(app, language)
            page = FormPage(store, worker, subject, visit, "vitals", language=language)
            page.resize(1366, 768)
            page.show()
            wait(app, lambda p=page: p.view is not None and p.upgrade.bar.isVisible())
            suffix = "" if language == "en" else "-zh"
            page.grab().save(str(out / f"amendments-old-form-1366x768{suffix}.png"))
            dialog = page.upgrade.ask()
            assert dialog is not None
            dialog.reason.setPlainText(
                "Protocol amendment 2: pain score" if language == "en" else "方案修订2：疼痛评分"
            )
            wait(app, dialog.isVisible)
            shot = page.grab()
            painter = QPainter(shot)
            painter.drawPixmap(page.rect().center() - dialog.rect().center(), dialog.grab())
            painter.end()
            shot.save(str(out / f"amendments-dialog-1366x768{suffix}.png"))
            moved: list[Any] = []
            page.upgrade.sig_upgraded.connect(moved.append)
            dialog.accept()
            wait(app, lambda p=page, m=moved: bool(m) and p.view is not None and p.view.form.version == "1.1")
            page.grab().save(str(out / f"amendments-moved-1366x768{suffix}.png"))
            page.close()
        worker.shutdown()
        store.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
