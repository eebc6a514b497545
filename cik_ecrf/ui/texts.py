"""The client's own bilingual texts: each module keeps a table {key: {"en": ..., "zh": ...}}."""

from __future__ import annotations

from collections.abc import Callable, Mapping


def translator(table: Mapping[str, Mapping[str, str]]) -> Callable[[str, str], str]:
    """`_t = translator(TEXTS)`, then `_t(key, language)`; any zh-* language gets the Chinese text."""

    def lookup(key: str, language: str) -> str:
        return table[key]["zh" if language.startswith("zh") else "en"]

    return lookup
