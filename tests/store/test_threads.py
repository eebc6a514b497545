"""One open store used from many threads at once, as the client does (UI thread, store worker, sync thread).

SQLAlchemy's default pool for SQLCipher (SingletonThreadPool) closes connections that other threads
still use once more threads than its size have touched the engine; saves then failed with "closed
database" or crashed the process. Each thread here both reads and writes; every save must land.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from stores import store_with_nurse

from cik_ecrf.store.api import Store
from cik_ecrf.store.entry import SaveRequest

ADMIN = ("admin", "Kettle-9-lantern")
NURSE = ("nurse", "Temporary-7-pass", "Harbour-4-willow")
THREADS = 12  # more than SingletonThreadPool's five
ROUNDS = 6


def test_saves_and_reads_from_many_threads_all_land(tmp_path: Path, study: Any) -> None:
    store_with_nurse(tmp_path, study, "T1", ADMIN, NURSE)
    with Store.open(tmp_path, NURSE[0], NURSE[2], study) as store:
        numbers = [store.add_subject() for _ in range(THREADS)]
        errors: list[BaseException] = []
        start = threading.Barrier(THREADS)

        def work(number: str) -> None:
            try:
                start.wait(timeout=60)
                for heart_rate in range(60, 60 + ROUNDS):
                    store.save(SaveRequest(number, "screening", "vitals", {"HR": heart_rate}, draft=True))
                    store.subject_values(number)
                    store.subject_numbers()
            except BaseException as exc:  # noqa: BLE001 - collected and reported by the test
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in numbers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=300)
        assert not errors, errors[:3]
        assert not any(t.is_alive() for t in threads)
        for number in numbers:
            _, rows = store.subject_values(number)
            assert [r["values"]["HR"] for r in rows if r["form"] == "vitals"] == [60 + ROUNDS - 1]
        assert store.verify_audit().ok
