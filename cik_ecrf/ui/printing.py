"""Sending a finished PDF to a printer through the system's print spooler.

The client ships Qt's Essentials (no QtPdf to rasterise pages), and the spooler prints PDF
natively: CUPS (`lp`) on Linux and macOS, the shell's "printto" verb on Windows. The printer is
the one chosen in Qt's print dialog. Runs on the worker; a failure is a refusal the user reads.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from ..store.errors import StoreError


class PrintFailed(StoreError):
    """The print system refused or is missing; the PDF can still be saved as a file."""


def spool_command(path: Path, printer: str, copies: int, lp: str | None) -> list[str]:
    """The CUPS command line for one job (`lp -d PRINTER -n COPIES -t TITLE FILE`)."""
    if lp is None:
        raise PrintFailed("no print system found (CUPS `lp`); save the record as a PDF file instead")
    return [lp, "-d", printer, "-n", str(max(1, copies)), "-t", path.stem, str(path)]


def spool_pdf(data: bytes, printer: str, copies: int = 1) -> None:
    with tempfile.TemporaryDirectory(prefix="cik-ecrf-print-") as tmp:
        path = Path(tmp) / "record.pdf"
        path.write_bytes(data)
        if sys.platform == "win32":  # pragma: no cover - Windows only
            for _ in range(max(1, copies)):
                os.startfile(str(path), "printto", f'"{printer}"')  # type: ignore[attr-defined]
            return
        command = spool_command(path, printer, copies, shutil.which("lp"))
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        if done.returncode != 0:
            raise PrintFailed(f"printer {printer}: {done.stderr.strip() or f'lp exited with {done.returncode}'}")
