"""The laptop's sync engine, Qt-free: push the outbox, pull the site's changes, refresh the site's users.

`SyncClient(store).run(progress)` does one whole sync and returns a `SyncOutcome` (it never raises
for a network or server problem: the outcome's `error` says what happened, and what was not
acknowledged is simply sent again next time). `status()` is cheap (one local query) for a status
indicator; `conflicts()` lists fields in conflict with every value, author and time. The desktop
client calls these from a background thread; `Backoff` spaces retries while the server is away.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import gc
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

from ..store import sync_local
from ..store.api import Store
from ..store.errors import StoreError
from . import restore
from .device_protocol import PULL_NEWS, STUDY_VERSION, USERS_ETAG
from .protocol import PushRequest
from .study_fetch import fetch_study_versions  # study versions
from .transport import SyncError, TooLarge, Transport, UnknownCursor, cursor_params, utc_now

SKEW_WARNING = dt.timedelta(minutes=5)
USERS_EVERY = 300.0  # seconds between refreshes of the site's users when nothing else arrived


@dataclass(frozen=True)
class SyncProgress:
    phase: str  # "push" or "pull"
    done: int  # changes so far in this phase
    total: int | None  # known for push (the outbox), not for pull


@dataclass(frozen=True)
class SyncOutcome:
    pushed: int  # changes the server acknowledged in this sync, even when it stopped part way
    pulled: int  # changes new to this laptop
    conflicts: int  # fields in conflict on this laptop after the sync
    waiting: int  # data changes still waiting to be pushed
    rejected: tuple[str, ...] = ()  # "change id: reason" for each change the server refused in this sync
    warnings: tuple[str, ...] = ()  # e.g. clock skew
    error: str | None = None
    full_pull: bool = False  # the server did not know our cursor: everything was pulled again
    to_push: int | None = None  # changes waiting when the sync started (what `pushed` is out of)
    held: int = 0  # this laptop's own changes the pull brought back as it already held them (not written again)

    @property
    def ok(self) -> bool:
        return self.error is None and not self.rejected and self.waiting == 0


@dataclass(frozen=True)
class SyncStatus:
    enrolled: bool
    server_url: str | None
    waiting: int
    conflicts: int
    quarantined: int
    last_sync_utc: str | None


class Cancelled(SyncError):
    pass


@dataclass
class _Tally:
    """Counts kept as each batch is acknowledged or applied, so that a sync stopped part way still says
    how far it got (a count returned at the end of a phase is lost with the exception that ends it)."""

    pushed: int = 0
    pulled: int = 0
    to_push: int | None = None
    held: int = 0

    def pushing(self, waiting: int) -> None:
        if self.to_push is None:
            self.to_push = waiting
        else:  # a later round (after a full pull, or what the pull produced): out of everything sent
            self.to_push = max(self.to_push, self.pushed + waiting)


class SyncClient:
    def __init__(
        self,
        store: Store,
        *,
        verify: bool | str = True,
        push_batch: int = 5000,
        pull_batch: int = 5000,
        transport: Callable[[str, str], Transport] | None = None,
        keep_connection: bool = False,
    ) -> None:
        self.store = store
        self.verify = verify
        self.push_batch = push_batch
        self.pull_batch = pull_batch
        self._transport = transport or (lambda url, token: Transport(url, token, verify=self.verify))
        self._open: tuple[tuple[str, str], Transport] | None = None
        self.keep_connection = keep_connection  # True: reuse one connection across run() calls (then call close())
        self._users_at: float | None = None

    def _connect(self, url: str, token: str) -> Transport:
        """The connection; with keep_connection it is kept across syncs (a no-change sync is then one round trip)."""
        if self._open is None or self._open[0] != (url, token):
            self.close()
            self._open = ((url, token), self._transport(url, token))
        return self._open[1]

    def close(self) -> None:
        if self._open is not None:
            self._open[1].close()
            self._open = None

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ cheap, local

    def status(self) -> SyncStatus:
        s = self.store.sync_status()
        return SyncStatus(s.enrolled, s.server_url, s.waiting, s.conflicts, s.quarantined, s.last_sync_utc)

    def conflicts(self) -> list[sync_local.Conflict]:
        return self.store.conflicts()

    # ------------------------------------------------------------------ one sync

    def run(
        self, progress: Callable[[SyncProgress], None] | None = None, cancel: threading.Event | None = None
    ) -> SyncOutcome:
        with _fewer_collections():
            return self._run(progress, cancel)

    def _run(self, progress: Callable[[SyncProgress], None] | None, cancel: threading.Event | None) -> SyncOutcome:
        report = progress or (lambda _p: None)
        tally = _Tally()
        rejected: list[str] = []
        warnings: list[str] = []
        full = False
        try:
            settings = self.store.sync_settings()
            url, token = settings["server_url"], settings["token"]
            if not url or not token:
                raise SyncError("this laptop is not enrolled: run `cik-ecrf enrol --server URL`")
            transport = self._connect(url, token)
            transport.hints.pop(PULL_NEWS, None)  # only this sync's answer counts
            cursor = cursor_params(int(settings["cursor"] or 0), settings["epoch"], settings.get("cursor_id"))
            warnings += restore.check(transport, self.store, cursor)  # restored from an older copy: found out here
            if self._study_behind(transport):
                fetch_study_versions(transport, self.store)  # study versions: before any change that needs them
            self._push(transport, report, rejected, warnings, cancel, tally)
            try:
                # skipped only when the server said nothing waits and nothing was sent (a push can make changes to pull)
                if tally.to_push is not None or transport.hints.get(PULL_NEWS) != "none":
                    self._pull(transport, report, cancel, tally, settings)
            except UnknownCursor:
                full = True
                self.store.sync_reset_full()
                self._push(transport, report, rejected, warnings, cancel, tally)
                self._pull(transport, report, cancel, tally)
            warnings += self.store.sync_heal()  # once per store: what an older server let through
            if tally.pulled and self.store.sync_status().waiting:
                # what the pull itself produced (a signature cleared by a change from another laptop) goes now
                self._push(transport, report, rejected, warnings, cancel, tally)
            if self._users_stale(transport, tally, settings):
                transport.hints.pop(USERS_ETAG, None)  # the one that comes with these users is kept
                self.store.sync_users([u.model_dump() for u in transport.users().users])
                self._users_at = time.monotonic()
                self.store.set_sync_settings(users_etag=transport.hints.get(USERS_ETAG), users_at=utc_now())
            warnings += _skew(transport.server_date)
            restore.record(self.store, last_sync=utc_now())
            error = None
        except StoreError as exc:  # the network or server (SyncError), or this laptop's disk (full, read-only)
            error = str(exc)
            self.close()  # a fresh connection next time
        finally:
            if not self.keep_connection:
                self.close()
        status = self.store.sync_status()
        return SyncOutcome(
            tally.pushed,
            tally.pulled,
            status.conflicts,
            status.waiting,
            tuple(rejected),
            tuple(dict.fromkeys(warnings)),
            error,
            full,
            tally.to_push,
            tally.held,
        )

    def _study_behind(self, transport: Transport) -> bool:
        """Whether the server may have study versions this laptop lacks (a server that does not say: yes)."""
        newest = transport.hints.get(STUDY_VERSION, "")
        return not newest.isdigit() or int(newest) > self.store.study_versions.latest_number

    def _users_stale(self, transport: Transport, tally: _Tally, settings: dict[str, str | None]) -> bool:
        """Whether to fetch the site's users: when the server's digest of them is not the one applied here,
        and at least every USERS_EVERY seconds in any case (a keyring put back from a backup is mended then).
        A server that gives no digest: after a pull that brought something, and every USERS_EVERY seconds."""
        etag = transport.hints.get(USERS_ETAG)
        if etag is not None and etag == settings.get("users_etag"):
            return _age(settings.get("users_at")) > USERS_EVERY
        if etag is not None:
            return True
        return bool(tally.pulled) or self._users_at is None or time.monotonic() - self._users_at > USERS_EVERY

    def _push(
        self,
        transport: Transport,
        report: Callable[[SyncProgress], None],
        rejected: list[str],
        warnings: list[str],
        cancel: threading.Event | None,
        tally: _Tally,
    ) -> int:
        """Batches in device order. The server is never left waiting on the laptop: the next batch is read
        and encoded while the server applies this one, and it is sent as soon as this one is answered,
        before this one's answers are recorded. That is safe: a batch sent again (the laptop stopped
        before recording) is answered "duplicate", and one sent after a held change is held too."""
        done, pushed_before = 0, tally.pushed
        resumed = 0  # rounds started again because the server held a change (it lost earlier ones)
        while resumed < 2:
            events = self.store.sync_outbox(self.push_batch)
            if not events:
                return done
            total = self.store.sync_status().waiting
            tally.pushing(total)
            batch = _encode(events, self.store.sync_seals(events))
            rewound = shrunk = False
            with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="sync-push") as pool:
                _check(cancel)
                pending = pool.submit(transport.push, batch[2]) if batch[2] is not None else None
                while events and not (rewound or shrunk):
                    changes, refused, _ = batch
                    upcoming = self.store.sync_outbox(self.push_batch, after=events[-1]["device_seq"])
                    batch = _encode(upcoming, self.store.sync_seals(upcoming)) if upcoming else ([], [], None)
                    try:
                        response = pending.result() if pending is not None else None
                    except TooLarge:
                        if len(events) == 1:
                            raise SyncError(
                                f"change {events[0]['id']} alone is larger than the server accepts"
                            ) from None
                        self.push_batch = max(1, len(events) // 2)  # smaller batches from here on
                        shrunk = True
                        continue
                    pending = None
                    held = response is not None and any(r.disposition == "held" for r in response.results)
                    if batch[2] is not None and not held and (cancel is None or not cancel.is_set()):
                        pending = pool.submit(transport.push, batch[2])  # the server works while we record
                    count, rewound = self._acknowledge(events, changes, refused, response, rejected, warnings)
                    done += _data_changes(events[:count])  # in the units of `waiting`: data changes
                    tally.pushed = pushed_before + done
                    report(SyncProgress("push", done, max(total, done)))
                    events = upcoming
                    _check(cancel)
            if not (rewound or shrunk):
                return done
            resumed += 1 if rewound else 0
        return done

    def _acknowledge(
        self,
        events: list[dict[str, Any]],
        changes: list[_Sent],
        refused: list[tuple[str, int, str]],
        response: Any,
        rejected: list[str],
        warnings: list[str],
    ) -> tuple[int, bool]:
        """Record the server's answers to one batch (the pushed mark moves past it); True when the server
        held a change and the push must start again from where the server is."""
        answers = {r.id: r for r in response.results} if response else {}
        if any(c.id not in answers for c in changes):
            raise SyncError("the server did not answer every change of the batch; it will be sent again")
        seqs = {c.id: c.device_seq for c in changes}
        held = sorted(
            (seqs[r.id], r.expected_device_seq or seqs[r.id]) for r in answers.values() if r.disposition == "held"
        )
        if held:  # the server is missing earlier changes of this laptop (restored from a backup): send again from there
            first, expected = held[0]
            answered = [c for c in changes if c.device_seq < first]
            refused += [
                (r.id, seqs[r.id], r.reason or "refused")
                for r in answers.values()
                if r.disposition == "rejected" and seqs[r.id] < first
            ]
            if expected > first:
                raise SyncError(
                    f"the server has this laptop's changes up to {expected - 1}, past what it holds here ({first}): it was restored from an older copy"
                )
            self.store.sync_record_push(
                answered[-1].device_seq if answered else first - 1, refused, _versions(events, answers, first)
            )
            self.store.sync_rewind_push(expected - 1)
            rejected += [f"{cid}: {reason}" for cid, _, reason in refused]
            return len(answered), True
        refused += [(r.id, seqs[r.id], r.reason or "refused") for r in answers.values() if r.disposition == "rejected"]
        self.store.sync_record_push(events[-1]["device_seq"], refused, _versions(events, answers))
        rejected += [f"{cid}: {reason}" for cid, _, reason in refused]
        warnings += response.warnings if response else []
        return len(events), False

    def _pull(
        self,
        transport: Transport,
        report: Callable[[SyncProgress], None],
        cancel: threading.Event | None,
        tally: _Tally,
        settings: dict[str, str | None] | None = None,
    ) -> int:
        settings = settings or self.store.sync_settings()
        cursor, epoch, cursor_id = int(settings["cursor"] or 0), settings["epoch"], settings.get("cursor_id")
        new = seen = 0
        while True:
            _check(cancel)
            page = transport.pull(cursor, epoch, self.pull_batch, cursor_id)
            changes = [(c.seq, c.disposition, c.change) for c in page.changes]
            applied = self.store.sync_apply_pull(changes, page.next_cursor, page.epoch, page.cursor_id)
            new += applied.fresh
            tally.pulled += applied.fresh
            tally.held += applied.held
            cursor, epoch, cursor_id = page.next_cursor, page.epoch, page.cursor_id
            seen += len(changes)
            report(SyncProgress("pull", seen, None))
            if not page.more:
                return new


class _Sent(NamedTuple):
    """A change as sent, to match the server's answers with (`Change.model_construct` costs as much as a
    validation)."""

    id: str
    device_seq: int


def _encode(
    events: list[dict[str, Any]],
    seals: list[dict[str, Any]] = (),  # type: ignore[assignment]
) -> tuple[list[_Sent], list[tuple[str, int, str]], PushRequest | None]:
    """`seals`: the authors' signatures over these events (`Store.sync_seals`).

    Events are sent as the trail holds them, not validated here: the server reads each change on its own
    and refuses a malformed one alone, in its place (validating 5,000 models per batch here was a fifth
    of the laptop's push time, for nothing the server does not do again)."""
    changes = [_Sent(event["id"], event["device_seq"]) for event in events]  # to match the answers
    request = PushRequest(changes=events, client_time_utc=utc_now(), seals=list(seals)) if events else None
    return changes, [], request


def _versions(
    events: list[dict[str, Any]], answers: dict[str, Any], before: int | None = None
) -> list[tuple[int, dict[str, Any]]]:
    """(server seq, event) of the answered value changes the server applied or merged (those before
    device_seq `before` only, when the server held the rest): the push answer's versions, recorded with
    the push so that the pull need not write these values again (`store/pushed_versions.py`)."""
    out = []
    for event in events:
        if before is not None and event["device_seq"] >= before:
            break
        answer = answers.get(event["id"])
        if (
            event["action"] == "value_set"
            and answer is not None
            and answer.disposition in ("applied", "merged")
            and answer.server_seq is not None
        ):
            out.append((answer.server_seq, event))
    return out


def _data_changes(events: list[dict[str, Any]]) -> int:
    """Data changes among pushed events (logins and the like travel too, but are not what waits)."""
    return sum(1 for event in events if event["action"] in sync_local.DATA_ACTIONS)


_GC_LOCK = threading.Lock()
_gc_state: dict[str, Any] = {"syncs": 0, "threshold": gc.get_threshold()}


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    """While any sync runs, the objects alive before it (modules, the study, the window) are left out of
    the collector's scans and young collections run less often: a sync makes hundreds of thousands of
    short-lived objects and no cycles worth chasing (the collector was a large part of the laptop's CPU)."""
    with _GC_LOCK:
        if _gc_state["syncs"] == 0:
            _gc_state["threshold"] = threshold = gc.get_threshold()
            gc.freeze()
            gc.set_threshold(max(threshold[0], 20_000), *threshold[1:])
        _gc_state["syncs"] += 1
    try:
        yield
    finally:
        with _GC_LOCK:
            _gc_state["syncs"] -= 1
            if _gc_state["syncs"] == 0:
                gc.set_threshold(*_gc_state["threshold"])
                gc.unfreeze()


def _check(cancel: threading.Event | None) -> None:
    if cancel is not None and cancel.is_set():
        raise Cancelled("sync cancelled; what was acknowledged is kept, the rest goes next time")


def _age(stamp: str | None) -> float:
    """Seconds since an ISO UTC time written here (unreadable or missing: forever)."""
    try:
        return (dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(stamp or "")).total_seconds()
    except (TypeError, ValueError):
        return float("inf")


def _skew(server_time: dt.datetime | None) -> list[str]:
    if server_time is None or server_time.tzinfo is None:
        return []
    skew = dt.datetime.now(dt.UTC) - server_time
    if abs(skew) <= SKEW_WARNING:
        return []
    hours = skew.total_seconds() / 3600
    return [
        f"this laptop's clock is {abs(hours):.1f} hours {'ahead of' if hours > 0 else 'behind'} the server's: set it right (times of new changes are recorded as the laptop says)"
    ]


@dataclass
class Backoff:
    """Delays between background sync attempts: `base` while all is well, doubling up to `ceiling` on failures."""

    base: float = 60.0
    first_retry: float = 5.0
    ceiling: float = 900.0
    failures: int = 0

    def next_delay(self, outcome: SyncOutcome | None) -> float:
        if outcome is not None and outcome.error is None:
            self.failures = 0
            return self.base
        self.failures += 1
        return min(self.ceiling, self.first_retry * 2 ** (self.failures - 1))

    def delays(self, outcomes: Iterator[SyncOutcome | None]) -> Iterator[float]:
        for outcome in outcomes:
            yield self.next_delay(outcome)


def describe(outcome: SyncOutcome) -> list[Any]:
    """One line per fact, for the CLI and logs; `pushed N of M, ..., then: why` when the sync stopped part way."""
    pushed = f"pushed {outcome.pushed}"
    if outcome.to_push is not None and outcome.pushed < outcome.to_push:
        pushed += f" of {outcome.to_push}"
    lines: list[Any] = [
        f"{pushed}, pulled {outcome.pulled}, waiting {outcome.waiting}, conflicts {outcome.conflicts}"
        + (f", then: {outcome.error}" if outcome.error else "")
    ]
    if outcome.full_pull:
        lines.append("the server did not know this laptop's cursor: everything was pulled (and pushed) again")
    lines += [f"warning: {w}" for w in outcome.warnings]
    lines += [f"refused: {r}" for r in outcome.rejected]
    return lines
