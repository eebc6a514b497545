"""json.dumps, for the hashes a trail is chained with, without building an encoder at every call.

json.dumps with any argument of its own makes a new JSONEncoder, and that a new C encoder, per call:
most of the time of hashing one small event. Here json's own C encoder is made once with the very
arguments json.dumps would give it (ensure_ascii=False, so json.encoder.encode_basestring). The
circular-reference check is off: nothing JSON-decoded or read from a row holds a cycle. Where that
private constructor is missing, or gives another text for a sample, the plain json.dumps is used.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any

SAMPLE: list[Any] = [
    'a"\\\n\u00e9\u4e2d\U0001f600\x00\u2028',
    1,
    -(2**70),
    0.1,
    1e300,
    float("inf"),
    None,
    True,
    False,
    [],
    {"k": [1], "b": {"z": None, "a": "é"}},
]


def dumps(separators: tuple[str, str], sort_keys: bool) -> Callable[[Any], str]:
    """`json.dumps(value, ensure_ascii=False, separators=separators, sort_keys=sort_keys)`, made once."""
    return c_encoder(separators, sort_keys) or functools.partial(
        json.dumps, ensure_ascii=False, separators=separators, sort_keys=sort_keys
    )


def c_encoder(separators: tuple[str, str], sort_keys: bool) -> Callable[[Any], str] | None:
    """json's C encoder made once as json.dumps would make it; None where it is missing or differs."""
    item_separator, key_separator = separators
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:
        return None
    try:
        iterencode = make(
            None,
            json.JSONEncoder().default,
            json.encoder.encode_basestring,
            None,
            key_separator,
            item_separator,
            sort_keys,
            False,
            True,
        )

        def fast(value: Any) -> str:
            return "".join(iterencode(value, 0))

        for sample in (SAMPLE, dict(enumerate(SAMPLE))):
            if fast(sample) != json.dumps(sample, ensure_ascii=False, separators=separators, sort_keys=sort_keys):
                return None
    except Exception:  # any surprise from a private API: the plain, slower path
        return None
    return fast
