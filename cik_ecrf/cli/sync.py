"""`cik-ecrf enrol` and `cik-ecrf sync`: the laptop's side of the central server, headless.

`sync` exits 0 when everything is pushed and pulled (including what the pull itself produced, such as
a signature it cleared), 1 with the reason otherwise (server unreachable, token revoked, changes
refused). The counts are what the server acknowledged, also when the sync stopped part way.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def add_sync_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    enrol = sub.add_parser(
        "enrol",
        parents=[common],
        help="register this laptop with the central server (creates the store for the user's site if there is none)",
    )
    enrol.add_argument("--server", required=True, help="the server's URL, e.g. https://ecrf.example.org:8765")
    enrol.add_argument("--ca-cert", type=Path, help="trust this CA certificate (PEM) for the server's TLS")
    sync = sub.add_parser(
        "sync",
        parents=[common],
        help="push this laptop's changes and pull the site's; exit 1 with the reason if not everything went through",
    )
    sync.add_argument("--ca-cert", type=Path, help="trust this CA certificate (PEM) for the server's TLS")
    sync.add_argument("--json", action="store_true", help="print the outcome as JSON")
    sync.add_argument("--batch", type=int, default=None, metavar="N", help="changes per request (default: 5000)")


def run_sync_command(args: argparse.Namespace) -> int:
    from ..store.errors import StoreError
    from .common import Usage, bounded, default_data_dir, read_password

    try:
        if not args.user:
            raise Usage("--user is required")
        directory = args.data_dir or default_data_dir()
        password = read_password("CIK_ECRF_PASSWORD", f"Password for {args.user}: ")
        verify: bool | str = str(args.ca_cert) if args.ca_cert else True
        if args.command == "enrol":
            return _enrol(directory, args.server, args.user, password, verify)
        return _sync(directory, args.user, password, verify, args.json, args.batch)
    except (StoreError, Usage) as exc:
        print(f"error: {bounded(exc)}", file=sys.stderr)
        return 1


def _enrol(directory: Path, server: str, user: str, password: str, verify: bool | str) -> int:
    from ..sync.enrol import enrol

    done = enrol(directory, server, user, password, verify=verify)
    created = f"created the store for site {done.site} in {directory}; " if done.created_store else ""
    print(f"{created}enrolled device {done.device_code} ({done.device_id}) of site {done.site} with {server}")
    return 0


def _sync(
    directory: Path, user: str, password: str, verify: bool | str, as_json: bool, batch: int | None = None
) -> int:
    import dataclasses
    import json

    from ..store.api import Store
    from ..sync.client import SyncClient, describe
    from .common import bounded, report_login

    with Store.open(directory, user, password) as store:
        report_login(directory, store)
        sizes = {"push_batch": batch, "pull_batch": batch} if batch else {}
        outcome = SyncClient(store, verify=verify, **sizes).run()
    if as_json:
        print(json.dumps(dataclasses.asdict(outcome), indent=2))
    else:
        for line in describe(outcome):
            print(bounded(line, 2000))
    if outcome.error:
        print(f"error: {bounded(outcome.error)}", file=sys.stderr)
    elif not outcome.ok:
        print(
            f"error: not everything went through ({len(outcome.rejected)} refused, {outcome.waiting} waiting)",
            file=sys.stderr,
        )
    return 0 if outcome.ok else 1
