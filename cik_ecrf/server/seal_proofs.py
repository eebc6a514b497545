"""The proofs a push's seals carry (the device chain's steps and each Ed25519 signature), checked in a
second process while the request thread reads and applies the same batch.

Why: on a large push these checks were about a fifth of the server's CPU, all of it on the push's
critical path, which made proof of authorship cost the push more than its 10 % (issue 14). They depend
only on what was sent and on a public key the SERVER chose, never on the database, so another core can
check them meanwhile. Nothing is trusted early: the batch's transaction commits only after the answers
are back, and if a seal taken as holding does not, the batch is applied again from the start knowing it
(`authorship.BatchSeals.settle`), so a forged seal refuses exactly what it would have refused had it
been checked first.

A few saves' seals are checked in the request thread: handing them over costs more than checking
them. With one CPU, or when the worker cannot start or dies, every check is made in the request
thread, as before.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import json
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..core import keys
from . import logs

#: events covered by a batch's seals from which a worker process checks them
OFFLOAD_AT = 500
#: worker failures after which this server process checks every seal itself
GIVE_UP_AFTER = 3


@dataclass(frozen=True)
class ProofJob:
    """One seal to check: its signature over `message` by `sign_public`, and the device chain from
    `previous` over the changes `first`..`last` ending at `head`."""

    sign_public: str
    message: bytes
    signature: str
    previous: str
    head: str
    first: int
    last: int


@dataclass(frozen=True)
class Proof:
    holds: bool
    heads: tuple[str, ...]  # the chain after each change the seal covers; empty when it does not hold


def sent_changes(raws: Sequence[Any], device_id: str) -> dict[int, Mapping[str, Any]]:
    """device_seq -> the change as sent (what the chain covers): the first item at each place that
    names this device. The request thread and the worker read the batch by this one rule."""
    content: dict[int, Mapping[str, Any]] = {}
    for raw in raws:
        item = raw.model_dump() if hasattr(raw, "model_dump") else raw
        if isinstance(item, dict) and item.get("device_id") == device_id and type(item.get("device_seq")) is int:
            content.setdefault(item["device_seq"], item)
    return content


def prove(jobs: Sequence[ProofJob], content: Mapping[int, Mapping[str, Any]]) -> list[Proof]:
    """Check each job over `content` (`sent_changes`); the same code runs in the worker and here."""
    proofs = []
    for job in jobs:
        head, heads = job.previous, []
        for seq in range(job.first, job.last + 1):
            head = keys.chain_step(head, content[seq])
            heads.append(head)
        holds = head == job.head and keys.verify(job.sign_public, job.message, job.signature)
        proofs.append(Proof(holds, tuple(heads) if holds else ()))
    return proofs


def prove_body(body: bytes, device_id: str, jobs: Sequence[ProofJob]) -> list[Proof]:
    """`prove` over a push's body as received, read here as the server reads it (`json.loads`, what
    FastAPI uses): handing the worker the bytes costs a copy, where the parsed batch cost a pickling."""
    changes = json.loads(body).get("changes")
    return prove(jobs, sent_changes(changes if isinstance(changes, list) else [], device_id))


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

    def submit(
        self,
        jobs: list[ProofJob],
        content: Mapping[int, Mapping[str, Any]],
        body: bytes | None = None,
        device_id: str = "",
    ) -> Callable[[], list[Proof]]:
        """The proofs, to be asked for when the batch has been applied: checked by the worker from
        `body` (the request's bytes, when given) or here from `content`."""
        size = sum(job.last - job.first + 1 for job in jobs)
        if body is None or self.off or size < OFFLOAD_AT:
            return lambda: prove(jobs, content)
        try:
            future = self._executor().submit(prove_body, body, device_id, jobs)
        except Exception as exc:  # noqa: BLE001 - no worker: check here, as before
            self._failed(exc)
            return lambda: prove(jobs, content)

        def result() -> list[Proof]:
            try:
                return future.result()
            except Exception as exc:  # noqa: BLE001 - the worker died or could not be reached
                self._failed(exc)
                return prove(jobs, content)

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
