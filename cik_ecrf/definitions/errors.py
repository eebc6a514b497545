"""Located errors for definition authors: file, JSON path (or line and column) and what is wrong."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DefinitionError:
    file: str
    path: str  # "$.fields[3].range", or "LINE:COLUMN" for malformed JSON
    message: str

    def __str__(self) -> str:
        if self.path and self.path[0].isdigit():
            return f"{self.file}:{self.path}: {self.message}"
        return f"{self.file}: {self.path}: {self.message}" if self.path else f"{self.file}: {self.message}"


class DefinitionErrors(Exception):
    """Every problem found in one load; raised only when there is at least one."""

    def __init__(self, errors: list[DefinitionError]) -> None:
        super().__init__(f"{len(errors)} error(s) in the form definitions")
        self.errors = errors

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)


def json_path(loc: tuple[object, ...]) -> str:
    path = "$"
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path
