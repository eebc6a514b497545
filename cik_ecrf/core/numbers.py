"""Subject numbers a laptop makes: SITE-DEVICE-NNNN, from a counter only that device holds.

One rule for the laptop and the server, so that a restored laptop and the server renumber a subject
entered in the window alike (server/renumber.py, store/restore.py)."""

from __future__ import annotations

import re
from collections.abc import Iterable


def own_pattern(site: str, device_code: str) -> str:
    return f"{site}-{device_code}-"


def number(site: str, device_code: str, counter: int) -> str:
    return f"{own_pattern(site, device_code)}{counter:04d}"


def counter_of(prefix: str, value: str) -> int | None:
    """The counter in a number of the pattern `prefix`, or None for any other number."""
    rest = value[len(prefix) :] if value.startswith(prefix) else ""
    return int(rest) if rest.isdigit() else None


def highest(prefix: str, taken: Iterable[str]) -> int:
    """The highest counter of the pattern `prefix` among `taken` (0: none). Asked at every sync over
    every number of the laptop's pattern, so matched by one regular expression over them all."""
    found = re.findall(rf"^{re.escape(prefix)}([0-9]+)$", "\n".join(taken), re.MULTILINE)
    return max(map(int, found), default=0)


def next_in_pattern(prefix: str, taken: Iterable[str]) -> str:
    """1 + the highest counter of the pattern among `taken`, written as the laptop writes it."""
    return f"{prefix}{highest(prefix, taken) + 1:04d}"


def laptop_made(site: str, value: str) -> bool:
    """A number of some laptop's pattern at `site` (a paper screening number is not)."""
    return re.fullmatch(rf"{re.escape(site)}-[A-Za-z0-9]+-\d{{4,}}", value) is not None
