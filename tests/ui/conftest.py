"""Qt tests run offscreen: no display is needed, on a laptop or in CI."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


from collections.abc import Iterator  # noqa: E402

import pytest  # noqa: E402

from cik_ecrf.ui.worker import StoreWorker  # noqa: E402


@pytest.fixture
def worker() -> Iterator[StoreWorker]:
    """A background store worker, stopped after the test (queued work finishes first)."""
    running = StoreWorker()
    yield running
    running.shutdown()
