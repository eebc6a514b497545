"""The Ed25519 signatures of a push's seals, checked in a second process while the request thread
applies the same batch.

Why: on a large push the seal checks were about a fifth of the server's CPU, all of it on the push's
critical path, which made proof of authorship cost the push more than its 10 % (issue 14). The
signature checks, two thirds of that, depend only on a few hundred bytes per seal (what was signed,
the signature, and a public key the SERVER chose), so another core checks them meanwhile. The request
thread recomputes the device chain itself, so the worker is sent no change and holds no batch (its
memory stays at an interpreter's). Nothing is trusted early: the batch's transaction commits only
after the answers are back, and if a seal taken as signed is not, the batch is applied again from the
start knowing it (`authorship.BatchSeals.settle`), so a forged seal refuses exactly what it would have
refused had it been checked first.

A few saves' seals are checked in the request thread: handing them over costs more than checking
them. With one CPU, or when the worker cannot start or dies, every check is made in the request
thread, as before.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..core import keys
from . import logs

#: seals in a batch from which a worker process checks their signatures (about 500 changes)
OFFLOAD_AT = 40
#: worker failures after which this server process checks every signature itself
GIVE_UP_AFTER = 3


@dataclass(frozen=True)
class ProofJob:
    """One seal's signature to check: `signature` over `message` by `sign_public`."""

    sign_public: str
    message: bytes
    signature: str


def prove(jobs: Sequence[ProofJob]) -> list[bool]:
    """Whether each signature holds; the same code runs in the worker and here."""
    return [keys.verify(job.sign_public, job.message, job.signature) for job in jobs]


def _worker_start() -> None:
    """The worker leaves Ctrl-C to the server, which ends it on the way out (no second traceback)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class _Checker:
    """One worker process per server process, started at the first large push."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._failures = 0
        self.off = (os.cpu_count() or 1) < 2  # one core: a second process only adds hand-over costs

    def submit(self, jobs: list[ProofJob]) -> Callable[[], list[bool]]:
        """The answers, to be asked for once the batch has been applied: checked by the worker, or here."""
        if self.off or len(jobs) < OFFLOAD_AT:
            return lambda: prove(jobs)
        try:
            future = self._executor().submit(prove, jobs)
        except Exception as exc:  # noqa: BLE001 - no worker: check here, as before
            self._failed(exc)
            return lambda: prove(jobs)

        def result() -> list[bool]:
            try:
                return future.result()
            except Exception as exc:  # noqa: BLE001 - the worker died or could not be reached
                self._failed(exc)
                return prove(jobs)

        return result

    def _executor(self) -> concurrent.futures.ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                self._pool = concurrent.futures.ProcessPoolExecutor(
                    max_workers=1, mp_context=multiprocessing.get_context("spawn"), initializer=_worker_start
                )
            return self._pool

    def _failed(self, exc: BaseException) -> None:
        with self._lock:
            self._failures += 1
            pool, self._pool = self._pool, None
            if self._failures >= GIVE_UP_AFTER:
                self.off = True
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        logs.event("seal_worker_failed", error=type(exc).__name__, checks_here=self.off)

    def shutdown(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


checker = _Checker()
atexit.register(checker.shutdown)  # before the interpreter tears modules down under the pool's callbacks
