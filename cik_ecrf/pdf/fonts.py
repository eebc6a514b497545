"""Embedded TrueType fonts, with per-character fallback so mixed English/Chinese text prints anywhere.

ReportLab embeds subsets of TrueType fonts only (not CFF/OTF), and has no font fallback of its own:
a label like "体温 Temperature (°C)" is split into runs, each set in the first font that has every
glyph of the run: DejaVu Sans (Latin, Greek, symbols such as ≥ × ⁹ ₂) then Droid Sans Fallback
(Chinese). Both files ship in `resources/fonts`, found the way the client finds them.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from xml.sax.saxutils import escape

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

LATIN, LATIN_BOLD, CJK = "CIK-DejaVuSans", "CIK-DejaVuSans-Bold", "CIK-DroidSansFallback"
FILES = {LATIN: "DejaVuSans.ttf", LATIN_BOLD: "DejaVuSans-Bold.ttf", CJK: "DroidSansFallbackFull.ttf"}


def fonts_dir() -> Path:
    """`resources/fonts` of a source checkout, a PyInstaller bundle or an installed wheel."""
    package = Path(__file__).resolve().parents[1]
    candidates = [package.parent / "resources" / "fonts", package / "resources" / "fonts"]
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        candidates.insert(0, Path(bundle) / "resources" / "fonts")
    for candidate in candidates:
        if all((candidate / name).is_file() for name in FILES.values()):
            return candidate
    raise FileNotFoundError(f"the PDF fonts ({', '.join(FILES.values())}) are missing from {candidates[-1]}")


@functools.cache
def register() -> dict[str, frozenset[int]]:
    """Register the fonts once per process; returns each font's set of code points."""
    directory = fonts_dir()
    covered: dict[str, frozenset[int]] = {}
    for name, filename in FILES.items():
        font = TTFont(name, str(directory / filename))
        pdfmetrics.registerFont(font)
        covered[name] = frozenset(font.face.charToGlyph)
    pdfmetrics.registerFontFamily(LATIN, normal=LATIN, bold=LATIN_BOLD, italic=LATIN, boldItalic=LATIN_BOLD)
    return covered


def _font_for(char: str, latin: str, covered: dict[str, frozenset[int]]) -> str:
    code = ord(char)
    if code < 128 or code in covered[latin]:
        return latin
    if code in covered[CJK]:
        return CJK
    return latin  # shown as the font's missing-glyph box: visible, never silently dropped


def runs(text: str, bold: bool = False) -> list[tuple[str, str]]:
    """(font name, text) runs covering `text`, in order."""
    covered = register()
    latin = LATIN_BOLD if bold else LATIN
    out: list[tuple[str, str]] = []
    for char in text:
        font = out[-1][0] if char.isspace() and out else _font_for(char, latin, covered)  # spaces join the run
        if out and out[-1][0] == font:
            out[-1] = (font, out[-1][1] + char)
        else:
            out.append((font, char))
    return out


def markup(text: str, bold: bool = False) -> str:
    """Paragraph markup for `text` with a <font> tag per run (escaped; newlines become line breaks)."""
    parts = []
    for font, chunk in runs(text, bold):
        body = escape(chunk).replace("\n", "<br/>")
        parts.append(body if font == (LATIN_BOLD if bold else LATIN) else f'<font face="{font}">{body}</font>')
    return "".join(parts)


def draw(canvas: object, x: float, y: float, text: str, size: float, bold: bool = False, align: str = "left") -> None:
    """Draw one line of mixed text on a canvas (page headers and footers), left, right or centre aligned."""
    from reportlab.pdfgen.canvas import Canvas

    assert isinstance(canvas, Canvas)
    pieces = runs(text, bold)
    width = sum(pdfmetrics.stringWidth(chunk, font, size) for font, chunk in pieces)
    if align == "right":
        x -= width
    elif align == "centre":
        x -= width / 2
    for font, chunk in pieces:
        canvas.setFont(font, size)
        canvas.drawString(x, y, chunk)
        x += pdfmetrics.stringWidth(chunk, font, size)


def width(text: str, size: float, bold: bool = False) -> float:
    return sum(pdfmetrics.stringWidth(chunk, font, size) for font, chunk in runs(text, bold))
