"""`cik-ecrf server anchors`: each laptop's chain head as the server anchored it, and the laptops whose
pushed history was rewritten afterwards (flagged for the data manager, who clears the flag once
they have looked into it: `server anchors clear DEVICE_ID`)."""

from __future__ import annotations

import argparse
from typing import Any


def add_anchor_commands(actions: Any, db: Any) -> None:
    anchors = actions.add_parser(
        "anchors", help="laptops' chain anchors; flagged: pushed history rewritten later (data manager)"
    )
    db(anchors, suppress=True)
    anchors.add_argument("--flagged", action="store_true", help="only the flagged laptops")
    sub = anchors.add_subparsers(dest="anchors_command", metavar="ACTION")
    clear = sub.add_parser("clear", help="clear a laptop's flag once the rewrite is dealt with")
    clear.add_argument("device_id")
    db(clear, suppress=True)


def run_anchor_command(engine: Any, args: argparse.Namespace) -> int:
    from ..server import authorship

    if getattr(args, "anchors_command", None) == "clear":
        authorship.clear_flag(engine, args.device_id)
        print(f"device {args.device_id}: flag cleared")
        return 0
    for device_id, seq, head, flag in authorship.anchors(engine):
        if flag or not args.flagged:
            print(f"{device_id} change {seq} head {head[:16]}" + (f"  FLAGGED: {flag}" if flag else ""))
    return 0
