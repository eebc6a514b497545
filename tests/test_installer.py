"""The installer: `--self-test`, build_installer.py, and (slow) the bundle it builds, run as on a new laptop.

The slow tests build the real one-folder bundle with PyInstaller once per run, unpack the Linux
archive made from it, and run the program from there with a clean environment: no project or venv on
any path, a temporary HOME and working directory.
"""

from __future__ import annotations

import importlib.util
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from cik_ecrf import __version__

ROOT = Path(__file__).resolve().parents[1]
BUILDER = ROOT / "build_installer.py"
STEPS = ["version", "load forms", "open store", "render form", "write PDF"]


def _steps(stdout: str) -> list[tuple[str, str]]:
    """(status, step name) of each step line of the self-test's output."""
    found = []
    for line in stdout.splitlines():
        match = re.match(r"(ok|FAIL)\s+(.+?)\s+\d+\.\d\d s  ", line)
        if match:
            found.append((match.group(1), match.group(2)))
    return found


def _source_env(base: Path, **extra: str) -> dict[str, str]:
    """This checkout's Python, offscreen, with HOME and the temporary directory under `base`."""
    for name in ("home", "tmp"):
        (base / name).mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("QT_")}
    env.update(HOME=str(base / "home"), TMPDIR=str(base / "tmp"), QT_QPA_PLATFORM="offscreen", **extra)
    return env


# ------------------------------------------------------------------------ the self-test from source


def test_self_test_runs_every_step_and_exits_0(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "cik_ecrf", "--self-test"],
        check=False,
        cwd=tmp_path,
        env=_source_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert _steps(run.stdout) == [("ok", name) for name in STEPS]
    assert re.search(rf"cik-ecrf {re.escape(__version__)} \(source\)", run.stdout)
    assert re.search(r"migrated to \S+ \(\d+ revisions\)", run.stdout)
    assert re.search(r"blank CRF: [1-9]\d* pages", run.stdout)
    assert run.stdout.rstrip().splitlines()[-1].startswith("self-test passed: 5 steps")
    assert list((tmp_path / "tmp").iterdir()) == []  # everything happened in a temporary directory, since removed


def test_self_test_stops_at_the_failed_step_and_names_it(tmp_path: Path) -> None:
    forms = tmp_path / "forms"
    shutil.copytree(ROOT / "forms", forms)
    (forms / "vitals.json").write_text('{"id": "vitals",', encoding="utf-8")
    env = _source_env(tmp_path, CIK_ECRF_FORMS=str(forms))
    run = subprocess.run(
        [sys.executable, "-m", "cik_ecrf", "--self-test"],
        check=False,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 1
    assert _steps(run.stdout) == [("ok", "version"), ("FAIL", "load forms")]
    assert run.stderr.strip().splitlines()[-1].startswith("self-test FAILED at step 'load forms': ")


# ------------------------------------------------------------------------ build_installer.py itself


def test_help_documents_the_steps() -> None:
    run = subprocess.run(
        [sys.executable, str(BUILDER), "--help"], check=False, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert run.returncode == 0
    for words in (
        "PyInstaller",
        "forms/",
        "migrations",
        "tar.gz",
        "Inno Setup",
        ".dmg",
        "--self-test",
        "build-report.json",
    ):
        assert words in run.stdout, words


def test_scripts_only_writes_the_windows_and_macos_steps(tmp_path: Path) -> None:
    run = subprocess.run(
        [
            sys.executable,
            str(BUILDER),
            "--scripts-only",
            "--dist",
            str(tmp_path / "dist"),
            "--work",
            str(tmp_path / "work"),
        ],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    iss = (tmp_path / "dist" / f"cik-ecrf-{__version__}.iss").read_text(encoding="utf-8")
    assert f"AppVersion={__version__}\n" in iss
    assert 'Source: "cik-ecrf\\*"' in iss and "recursesubdirs" in iss
    assert "cik-ecrf-cli.exe'), '--self-test'" in iss  # the installer checks what it installed
    assert "${" not in iss
    dmg = (tmp_path / "dist" / "make-dmg.sh").read_text(encoding="utf-8")
    assert "hdiutil create" in dmg and "--self-test" in dmg
    info = json.loads((tmp_path / "work" / "build-info.json").read_text(encoding="utf-8"))
    assert info["version"] == __version__


def _qt_lean() -> ModuleType:
    spec = importlib.util.spec_from_file_location("qt_lean", ROOT / "packaging" / "qt_lean.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_qt_filter_keeps_the_window_systems_and_drops_what_the_client_never_loads() -> None:
    lean = _qt_lean()
    plugins = "PySide6/Qt/plugins"
    kept = [
        ("/q/libqxcb.so", f"{plugins}/platforms"),
        ("/q/libqwayland.so", f"{plugins}/platforms"),
        ("/q/qwindows.dll", f"{plugins}/platforms"),
        ("/q/libqoffscreen.so", f"{plugins}/platforms"),
        ("/q/libibusplatforminputcontextplugin.so", f"{plugins}/platforminputcontexts"),
        ("/q/libxdg-shell.so", f"{plugins}/wayland-shell-integration"),
        ("/q/libQt6Widgets.so.6", "PySide6/Qt/lib"),
    ]
    dropped = [
        ("/q/libqeglfs.so", f"{plugins}/platforms"),
        ("/q/libqvnc.so", f"{plugins}/platforms"),
        ("/q/libqgtk3.so", f"{plugins}/platformthemes"),
        ("/q/libqopensslbackend.so", f"{plugins}/tls"),
        ("/q/libqtiff.so", f"{plugins}/imageformats"),
        ("/q/libqxcb-glx-integration.so", f"{plugins}/xcbglintegrations"),
    ]
    assert all(lean.keep_binary(*b) for b in kept)
    assert not any(lean.keep_binary(*b) for b in dropped)
    assert lean.keep_data("/t/qtbase_zh_CN.qm", "PySide6/Qt/translations") and not lean.keep_data(
        "/t/qtbase_de.qm", "PySide6/Qt/translations"
    )
    modules, _, _ = lean.lean(["PySide6.QtCore", "PySide6.QtNetwork", "PySide6.QtDBus"], [], [])
    assert modules == ["PySide6.QtCore"]


# ------------------------------------------------------------------------ the bundle (slow)


def _clean_env(home: Path) -> dict[str, str]:
    """A new laptop: system PATH only, no PYTHON* or VIRTUAL_ENV, no project, a fresh HOME."""
    (home / "tmp").mkdir(parents=True, exist_ok=True)
    return {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8", "TMPDIR": str(home / "tmp")}


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    if not sys.platform.startswith("linux"):
        pytest.skip("the bundle test builds and runs the Linux bundle")
    pytest.importorskip("PyInstaller")
    base = tmp_path_factory.mktemp("installer")
    dist, work = base / "dist", base / "work"
    run = subprocess.run(
        [sys.executable, str(BUILDER), "--dist", str(dist), "--work", str(work)],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    report = json.loads((dist / "build-report.json").read_text(encoding="utf-8"))
    print(
        f"\ninstaller: built in {report['build_seconds']:.1f} s, bundle {report['bundle_bytes'] / 2**20:.1f} MiB in "
        f"{report['bundle_files']} files, archive {report['package_bytes'] / 2**20:.1f} MiB"
    )
    unpacked = base / "unpacked"
    with tarfile.open(report["package"]) as tar:
        tar.extractall(unpacked, filter="tar")
    yield {"dist": dist, "report": report, "program": unpacked / "cik-ecrf" / "cik-ecrf", "home": base / "home"}


@pytest.mark.slow
def test_unpacked_bundle_passes_its_self_test_in_a_clean_environment(built: dict[str, object], tmp_path: Path) -> None:
    program = built["program"]
    assert isinstance(program, Path)
    run = subprocess.run(
        [str(program), "--self-test"],
        check=False,
        cwd=tmp_path,
        env=_clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert _steps(run.stdout) == [("ok", name) for name in STEPS]
    report = built["report"]
    assert isinstance(report, dict)
    assert f"cik-ecrf {__version__} (commit {report['info']['commit']}" in run.stdout and ", bundle)" in run.stdout
    assert f"from {program.parent / '_internal' / 'forms'}" in run.stdout  # the bundle's forms, not the checkout's
    assert "Qt 'offscreen'" in run.stdout and "font Droid Sans Fallback" in run.stdout
    assert "SQLCipher 4." in run.stdout


@pytest.mark.slow
def test_bundle_answers_version_help_and_checks_its_forms(built: dict[str, object], tmp_path: Path) -> None:
    program = str(built["program"])
    env = _clean_env(tmp_path)
    version = subprocess.run(
        [program, "--version"], check=False, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    commit = built["report"]["info"]["commit"]  # type: ignore[index]
    assert version.returncode == 0 and version.stdout.startswith(f"cik-ecrf {__version__} (commit {commit}, built ")
    shown = subprocess.run(
        [program, "--help"], check=False, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert shown.returncode == 0 and "--self-test" in shown.stdout and "--demo" in shown.stdout
    check = subprocess.run(
        [program, "forms", "check"], check=False, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert check.returncode == 0 and check.stdout.startswith("OK: "), check.stdout + check.stderr


@pytest.mark.slow
def test_bundle_runs_the_server_migrations_it_carries(built: dict[str, object], tmp_path: Path) -> None:
    """`cik-ecrf server` from the bundle creates a central database: its alembic scripts were bundled as files."""
    database = tmp_path / "server.db"
    run = subprocess.run(
        [
            str(built["program"]),
            "server",
            "site",
            "add",
            "BJ01",
            "--name",
            "Beijing",
            "--database-url",
            f"sqlite:///{database}",
        ],
        check=False,
        cwd=tmp_path,
        env=_clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip() == "added site BJ01" and database.stat().st_size > 0


@pytest.mark.slow
def test_bundle_starts_the_client_and_paints_its_first_window(built: dict[str, object], tmp_path: Path) -> None:
    """A fresh laptop: no store yet, so the client opens the first-run window. Qt's own painting log
    (QT_LOGGING_RULES) says when that window has been drawn and flushed; the test waits for that line."""
    env = _clean_env(tmp_path) | {"QT_QPA_PLATFORM": "offscreen", "QT_LOGGING_RULES": "qt.widgets.painting=true"}
    process = subprocess.Popen(
        [str(built["program"]), "--data-dir", str(tmp_path / "store")],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str | None] = queue.Queue()

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.put(line)
        lines.put(None)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    painted = None
    try:
        while painted is None:
            line = lines.get(timeout=120)
            if line is None:
                pytest.fail(f"the client exited with {process.wait()} before painting a window")
            if re.search(r'Flushing .* of FirstRunDialog\(0x[0-9a-f]+, name="firstRunDialog"\)', line):
                painted = line
    finally:
        process.terminate()
        process.wait(timeout=60)
        reader.join(timeout=60)
        if process.stderr is not None:
            process.stderr.close()
    assert "firstRunDialog" in painted
    assert not (tmp_path / "store" / "store.db").exists()  # nothing is created before IT fills the form


@pytest.mark.slow
def test_bundle_carries_its_data_and_no_unused_qt(built: dict[str, object]) -> None:
    internal = Path(str(built["program"])).parent / "_internal"
    names = {p.relative_to(internal).as_posix() for p in internal.rglob("*")}
    for needed in [
        "forms/study.json",
        "forms/eligibility.json",
        "resources/fonts/DroidSansFallbackFull.ttf",
        "resources/translations/cik_ecrf_zh_CN.qm",
        "cik_ecrf/store/migrations/env.py",
        "cik_ecrf/store/migrations/versions/0001_initial.py",
        "reportlab/fonts/Vera.ttf",
        "build-info.json",
        "PySide6/Qt/plugins/platforms/libqxcb.so",
        "PySide6/Qt/plugins/platforms/libqwayland.so",
        "PySide6/Qt/plugins/platforms/libqoffscreen.so",
    ]:
        assert needed in names, needed
    for directory in sorted((ROOT / "cik_ecrf").rglob("migrations/versions")):
        for script in directory.glob("*.py"):
            assert script.relative_to(ROOT).as_posix() in names, script
    assert any(re.fullmatch(r"sqlcipher3/_sqlite3\..*\.so", n) for n in names)
    qt_libs = {re.sub(r"\.so.*", "", n.rsplit("/", 1)[-1]) for n in names if "libQt6" in n}
    assert qt_libs <= {
        "libQt6Core",
        "libQt6Gui",
        "libQt6Widgets",
        "libQt6PrintSupport",
        "libQt6DBus",
        "libQt6XcbQpa",
        "libQt6WaylandClient",
        "libQt6Svg",  # the client's icons are SVG (resources/icons)
    }, qt_libs
    assert any("imageformats" in n and "svg" in n for n in names)  # the icons render in the bundle too
    assert not [
        n
        for n in names
        if n.startswith(
            ("hypothesis", "_pytest", "pytest", "PySide6/Qt/plugins/platformthemes", "PySide6/Qt/plugins/tls")
        )
    ]
    assert not [
        n for n in names if n.endswith(".qm") and "translations/q" in n and not re.search(r"_(zh_CN|en)\.qm$", n)
    ]
