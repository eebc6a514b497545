"""Standing rules of the code base that a reviewer would otherwise have to remember."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "cik_ecrf"


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_nothing_outside_ui_imports_qt() -> None:
    offenders = [
        str(p.relative_to(PACKAGE))
        for p in _modules()
        if "ui" not in p.relative_to(PACKAGE).parts
        and any(n.split(".")[0] in ("PySide6", "shiboken6") for n in _imports(p))
    ]
    assert offenders == []


def test_definitions_never_eval() -> None:
    for path in _modules():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        calls = [n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)]
        assert "eval" not in calls and "exec" not in calls, path


def test_definitions_do_not_import_rules() -> None:
    """Arrows point down: definitions know nothing of rules, store or ui."""
    for path in (PACKAGE / "definitions").rglob("*.py"):
        assert not any(".rules" in n or n.startswith("cik_ecrf.rules") for n in _imports(path)), path


def test_the_sign_in_window_needs_no_store_definitions_or_rules() -> None:
    """The client shows its sign-in window first and imports the heavy core behind it (ui/launch.py)."""
    import json
    import subprocess
    import sys

    code = (
        "import json, sys, cik_ecrf.cli, cik_ecrf.ui.launch\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('sqlalchemy', 'pydantic', 'alembic', 'sqlcipher3')"
        " or m.startswith(('cik_ecrf.store.api', 'cik_ecrf.rules', 'cik_ecrf.definitions')))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, env={"QT_QPA_PLATFORM": "offscreen"}
    )
    assert json.loads(out.stdout) == []
