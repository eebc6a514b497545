"""Sending a finished PDF to a printer through the system's print spooler.

The client ships Qt's Essentials (no QtPdf to rasterise pages), and the spooler prints PDF
natively: CUPS (`lp`) on Linux and macOS, the shell's "printto" verb on Windows. The printer is
the one chosen in Qt's print dialog. Runs on the worker; a failure is a refusal the user reads.

`lp` has copied the file into the spooler when it returns, so its temporary folder goes at once.
Windows' "printto" returns before the PDF viewer it starts has read the file, so there the file is
left in a private spool folder and removed by a later print (or the next start) once it is old
enough for any spooler to have taken it.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from ..store.errors import StoreError

SPOOL_FOLDER = "cik-ecrf-print"
#: how long a handed-over file is kept: the viewer that prints it has long read it by then
KEEP_SECONDS = 15 * 60


class PrintFailed(StoreError):
    """The print system refused or is missing; the PDF can still be saved as a file."""


def spool_command(path: Path, printer: str, copies: int, lp: str | None) -> list[str]:
    """The CUPS command line for one job (`lp -d PRINTER -n COPIES -t TITLE FILE`)."""
    if lp is None:
        raise PrintFailed("no print system found (CUPS `lp`); save the record as a PDF file instead")
    return [lp, "-d", printer, "-n", str(max(1, copies)), "-t", path.stem, str(path)]


def spool_folder(root: Path | None = None) -> Path:
    """The private folder (0700) where files handed to Windows' spooler wait to be tidied."""
    folder = (root or Path(tempfile.gettempdir())) / SPOOL_FOLDER
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def hand_over(data: bytes, folder: Path) -> Path:
    """A uniquely named PDF (0600) in `folder` that stays after this call returns."""
    path = folder / f"record-{uuid.uuid4().hex}.pdf"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return path


def tidy(folder: Path, now: float | None = None, keep_seconds: float = KEEP_SECONDS) -> list[Path]:
    """Remove handed-over files old enough for the spooler to have read them; returns those removed.

    A file the viewer still holds open cannot be removed on Windows: it is simply tried again later.
    """
    now = time.time() if now is None else now
    removed = []
    for path in folder.glob("record-*.pdf"):
        with contextlib.suppress(OSError):
            if now - path.stat().st_mtime >= keep_seconds:
                path.unlink()
                removed.append(path)
    return removed


def tidy_at_start() -> None:
    """Called once the client is up: what earlier sessions handed to the spooler and left."""
    folder = Path(tempfile.gettempdir()) / SPOOL_FOLDER
    if folder.is_dir():
        tidy(folder)


def spool_pdf(data: bytes, printer: str, copies: int = 1) -> None:
    if sys.platform == "win32":  # pragma: no cover - Windows only
        folder = spool_folder()
        tidy(folder)
        path = hand_over(data, folder)  # stays: printto returns before the viewer reads it
        for _ in range(max(1, copies)):
            os.startfile(str(path), "printto", f'"{printer}"')  # type: ignore[attr-defined]
        return
    with tempfile.TemporaryDirectory(prefix="cik-ecrf-print-") as tmp:
        path = Path(tmp) / "record.pdf"
        path.write_bytes(data)
        command = spool_command(path, printer, copies, shutil.which("lp"))
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        if done.returncode != 0:
            raise PrintFailed(f"printer {printer}: {done.stderr.strip() or f'lp exited with {done.returncode}'}")
