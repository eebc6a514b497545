#!/usr/bin/env python3
"""Build the CIK-eCRF desktop client as a self-contained program for ward laptops without Python.

Steps (each prints one line with its time):
  1. stamp    build-info.json: the version from cik_ecrf/__init__.py, the git commit (with "-dirty"
              when the tree has uncommitted changes), the build time; the bundle reads it for
              `cik-ecrf --self-test`.
  2. bundle   a PyInstaller one-folder bundle (packaging/cik-ecrf.spec) in DIST/cik-ecrf/, carrying
              forms/, resources/ (fonts, translations, icons), every alembic migrations directory,
              ReportLab's fonts and the SQLCipher native module, with only the Qt parts the
              client uses (QtCore, QtGui, QtWidgets, QtPrintSupport; see packaging/qt_lean.py).
  3. package  what this system installs from:
                Linux    DIST/cik-ecrf-VERSION-linux-ARCH.tar.gz (unpack anywhere, run cik-ecrf/cik-ecrf)
                Windows  DIST/cik-ecrf-VERSION.iss from packaging/windows/cik-ecrf.iss, compiled by
                         Inno Setup's ISCC.exe into DIST/cik-ecrf-VERSION-windows-setup.exe
                macOS    DIST/CIK-eCRF.app (from the spec), then packaging/macos/make-dmg.sh makes
                         DIST/cik-ecrf-VERSION-macos.dmg (signed with --codesign-identity)
              PyInstaller cannot cross-build: run this script on each of the three systems.
  4. check    with --self-test: run the bundle's `--self-test` in a clean environment (no Python
              path, a temporary HOME and working directory).
  5. report   the build time, bundle size and package size, also in DIST/build-report.json.

Exit 0 when every step worked; 1 with a one-line message naming the step otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import string
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent
PACKAGING = ROOT / "packaging"
SPEC = PACKAGING / "cik-ecrf.spec"
NAME = "cik-ecrf"
APP_NAME = "CIK-eCRF.app"


class BuildError(Exception):
    """A step could not be done; the message says which and why, in one line."""


@dataclass(frozen=True)
class BuildInfo:
    version: str
    commit: str | None
    built_at: str
    platform: str
    python: str


@dataclass
class BuildReport:
    info: BuildInfo
    bundle: str = ""
    build_seconds: float = 0.0
    bundle_bytes: int = 0
    bundle_files: int = 0
    package: str | None = None
    package_bytes: int | None = None
    package_seconds: float | None = None
    self_test: list[str] = field(default_factory=list)


# ---------------------------------------------------------------------------------------- stamp


def package_version(root: Path = ROOT) -> str:
    text = (root / "cik_ecrf" / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r'^__version__\s*=\s*"([^"]+)"', text, re.MULTILINE)
    if match is None:
        raise BuildError(f'{root / "cik_ecrf" / "__init__.py"}: no __version__ = "..." line')
    return match.group(1)


def git_commit(root: Path = ROOT) -> str | None:
    """The short commit, with "-dirty" when tracked files differ from it; None outside a git checkout."""
    git = shutil.which("git")
    if git is None:
        return None
    head = subprocess.run(
        [git, "rev-parse", "--short=12", "HEAD"], check=False, cwd=root, capture_output=True, text=True
    )
    if head.returncode != 0:
        return None
    status = subprocess.run(
        [git, "status", "--porcelain", "--untracked-files=no"], check=False, cwd=root, capture_output=True, text=True
    )
    return head.stdout.strip() + ("-dirty" if status.stdout.strip() else "")


def platform_tag() -> str:
    system = {"linux": "linux", "win32": "windows", "darwin": "macos"}.get(sys.platform, sys.platform)
    return f"{system}-{platform.machine().lower() or 'unknown'}"


def stamp(work: Path) -> tuple[BuildInfo, Path]:
    info = BuildInfo(
        version=package_version(),
        commit=git_commit(),
        built_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        platform=platform_tag(),
        python=platform.python_version(),
    )
    work.mkdir(parents=True, exist_ok=True)
    path = work / "build-info.json"
    path.write_text(json.dumps(asdict(info), indent=2) + "\n", encoding="utf-8")
    return info, path


# ---------------------------------------------------------------------------------------- bundle


def run_pyinstaller(dist: Path, work: Path, info_file: Path, clean: bool, verbose: bool) -> Path:
    try:
        import PyInstaller  # noqa: F401  (only to say clearly when it is missing)
    except ImportError:
        raise BuildError(
            "PyInstaller is not installed: pip install -e '.[test]' (or pip install pyinstaller)"
        ) from None
    command = [
        sys.executable,
        "-m",
        "PyInstaller",
        "--noconfirm",
        "--distpath",
        str(dist),
        "--workpath",
        str(work / "pyinstaller"),
    ]
    if clean:
        command.append("--clean")
    command += [str(SPEC), "--", "--build-info", str(info_file)]
    log = work / "pyinstaller.log"
    with open(log, "w", encoding="utf-8") as out:
        result = subprocess.run(
            command,
            check=False,
            cwd=ROOT,
            stdout=None if verbose else out,
            stderr=subprocess.STDOUT if not verbose else None,
        )
    if result.returncode != 0:
        tail = (
            ""
            if verbose
            else "".join(log.read_text(encoding="utf-8", errors="replace").splitlines(keepends=True)[-15:])
        )
        raise BuildError(f"PyInstaller failed (exit {result.returncode}); full log in {log}\n{tail}".rstrip())
    return dist / NAME


def bundle_size(directory: Path) -> tuple[int, int]:
    """(bytes, files) of a bundle; a symbolic link counts as a file of its own (tiny) size."""
    total = files = 0
    for path in directory.rglob("*"):
        if path.is_symlink() or path.is_file():
            total += path.lstat().st_size
            files += 1
    return total, files


def bundle_executable(dist: Path, console: bool = True) -> Path:
    """The program inside the bundle that prints to a terminal (on Windows the -cli one)."""
    if sys.platform == "darwin" and (dist / APP_NAME).is_dir():
        return dist / APP_NAME / "Contents" / "MacOS" / NAME
    if sys.platform.startswith("win"):
        return dist / NAME / (f"{NAME}-cli.exe" if console else f"{NAME}.exe")
    return dist / NAME / NAME


# ---------------------------------------------------------------------------------------- package


def linux_archive(dist: Path, info: BuildInfo) -> Path:
    archive = dist / f"{NAME}-{info.version}-{info.platform}.tar.gz"
    with tarfile.open(archive, "w:gz", compresslevel=6) as tar:
        tar.add(dist / NAME, arcname=NAME)  # symbolic links stay links; execute bits are kept
    return archive


def numeric_version(version: str) -> str:
    """Windows version resources want four numbers: 0.2.0rc1 -> 0.2.0.0."""
    numbers = [int(n) for n in re.findall(r"\d+", version.split("+")[0])[:3]]
    return ".".join(str(n) for n in numbers + [0] * (4 - len(numbers)))


def render_template(template: Path, values: dict[str, str]) -> str:
    """Fill ${name} placeholders; Inno Setup's own {app}-style constants are left alone."""
    try:
        return string.Template(template.read_text(encoding="utf-8")).substitute(values)
    except (KeyError, ValueError) as exc:
        raise BuildError(f"{template}: bad placeholder {exc}") from None


def inno_script(dist: Path, info: BuildInfo) -> Path:
    """The Inno Setup script for this build, next to the bundle it packs (its sources are relative)."""
    text = render_template(
        PACKAGING / "windows" / "cik-ecrf.iss",
        {
            "version": info.version,
            "numeric_version": numeric_version(info.version),
            "commit": info.commit or "unknown",
            "bundle": NAME,
            "output_name": f"{NAME}-{info.version}-windows-setup",
        },
    )
    path = dist / f"{NAME}-{info.version}.iss"
    path.write_text(text, encoding="utf-8")
    return path


def find_iscc() -> Path | None:
    found = shutil.which("ISCC") or shutil.which("iscc")
    if found:
        return Path(found)
    for base in (os.environ.get("ProgramFiles(x86)"), os.environ.get("ProgramFiles")):
        if base and (Path(base) / "Inno Setup 6" / "ISCC.exe").is_file():
            return Path(base) / "Inno Setup 6" / "ISCC.exe"
    return None


def windows_installer(dist: Path, info: BuildInfo) -> Path:
    script = inno_script(dist, info)
    iscc = find_iscc()
    if iscc is None:
        raise BuildError(
            f"Inno Setup 6 is not installed (no ISCC.exe); install it from jrsoftware.org, then run: ISCC {script}"
        )
    result = subprocess.run([str(iscc), "/Q", str(script)], check=False, cwd=dist)
    if result.returncode != 0:
        raise BuildError(f"ISCC failed on {script} (exit {result.returncode})")
    return dist / f"{NAME}-{info.version}-windows-setup.exe"


def macos_dmg(dist: Path, info: BuildInfo, identity: str | None) -> Path:
    app = dist / APP_NAME
    if not app.is_dir():
        raise BuildError(f"{app}: PyInstaller made no .app bundle")
    dmg = dist / f"{NAME}-{info.version}-macos.dmg"
    command = ["/bin/sh", str(PACKAGING / "macos" / "make-dmg.sh"), str(app), str(dmg), info.version]
    if identity:
        command.append(identity)
    result = subprocess.run(command, check=False)
    if result.returncode != 0:
        raise BuildError(f"make-dmg.sh failed (exit {result.returncode})")
    return dmg


def package(dist: Path, info: BuildInfo, identity: str | None) -> Path:
    if sys.platform.startswith("win"):
        return windows_installer(dist, info)
    if sys.platform == "darwin":
        return macos_dmg(dist, info, identity)
    return linux_archive(dist, info)


def write_scripts(dist: Path, info: BuildInfo) -> list[Path]:
    """The other systems' installer steps, for review on any machine: the .iss and the dmg script."""
    dist.mkdir(parents=True, exist_ok=True)
    dmg_script = dist / "make-dmg.sh"
    shutil.copyfile(PACKAGING / "macos" / "make-dmg.sh", dmg_script)
    return [inno_script(dist, info), dmg_script]


# ---------------------------------------------------------------------------------------- check


def clean_environment(home: Path) -> dict[str, str]:
    """What a freshly installed laptop gives the program: no Python paths, no project, a new HOME."""
    keep = ("SYSTEMROOT", "WINDIR", "COMSPEC", "PATHEXT", "LANG", "TZ")
    env = {k: v for k, v in os.environ.items() if k.upper() in keep}
    env["HOME"] = env["USERPROFILE"] = str(home)
    env["APPDATA"] = env["LOCALAPPDATA"] = str(home / "AppData")
    env["XDG_RUNTIME_DIR"] = str(home / "runtime")
    (home / "runtime").mkdir(mode=0o700, parents=True, exist_ok=True)
    env["TMPDIR"] = env["TEMP"] = env["TMP"] = str(home / "tmp")
    (home / "tmp").mkdir(parents=True, exist_ok=True)
    system_root = env.get("SYSTEMROOT")
    env["PATH"] = os.pathsep.join([f"{system_root}\\System32", system_root] if system_root else ["/usr/bin", "/bin"])
    env.setdefault("LANG", "C.UTF-8")
    return env


def run_bundle_self_test(executable: Path) -> list[str]:
    with tempfile.TemporaryDirectory(prefix="cik-ecrf-check-") as temp:
        home = Path(temp)
        result = subprocess.run(
            [str(executable), "--self-test"],
            check=False,
            cwd=home,
            env=clean_environment(home),
            capture_output=True,
            text=True,
            timeout=300,
        )
    lines = result.stdout.splitlines()
    if result.returncode != 0:
        last = result.stderr.strip().splitlines()[-1:] or [f"exit {result.returncode}"]
        raise BuildError(f"the bundle's self-test failed: {last[0]}")
    return lines


# ---------------------------------------------------------------------------------------- main


def mebibytes(size: int) -> str:
    return f"{size / 2**20:.1f} MiB"


@dataclass
class Steps:
    """Runs the steps in order, printing each with its time; a BuildError names the step it ended."""

    done: list[tuple[str, float]] = field(default_factory=list)

    def run(self, name: str, action: Callable[[], str]) -> float:
        began = time.perf_counter()
        try:
            detail = action()
        except BuildError as exc:
            raise BuildError(f"{name}: {exc}") from None
        seconds = time.perf_counter() - began
        print(f"{name:<8} {seconds:7.1f} s  {detail}", flush=True)
        self.done.append((name, seconds))
        return seconds


def build(args: argparse.Namespace) -> BuildReport:
    dist: Path = args.dist.resolve()
    work: Path = args.work.resolve()
    steps = Steps()
    holder: dict[str, object] = {}

    def do_stamp() -> str:
        info, info_file = stamp(work)
        holder["info"], holder["info_file"] = info, info_file
        return f"{info.version} ({info.commit or 'no git commit'}) for {info.platform}, Python {info.python}"

    steps.run("stamp", do_stamp)
    info = holder["info"]
    assert isinstance(info, BuildInfo)
    report = BuildReport(info)
    if args.scripts_only:
        steps.run("scripts", lambda: ", ".join(str(p) for p in write_scripts(dist, info)))
        return report

    def do_bundle() -> str:
        bundle = run_pyinstaller(dist, work, Path(str(holder["info_file"])), args.clean, args.verbose)
        report.bundle = str(bundle)
        report.bundle_bytes, report.bundle_files = bundle_size(bundle)
        return f"{bundle}: {mebibytes(report.bundle_bytes)} in {report.bundle_files} files"

    report.build_seconds = steps.run("bundle", do_bundle)
    if not args.no_package:

        def do_package() -> str:
            made = package(dist, info, args.codesign_identity)
            report.package, report.package_bytes = str(made), made.stat().st_size
            return f"{made}: {mebibytes(report.package_bytes)}"

        report.package_seconds = steps.run("package", do_package)
    if args.self_test:

        def do_check() -> str:
            report.self_test = run_bundle_self_test(bundle_executable(dist))
            return f"{len(report.self_test) - 1} steps passed in a clean environment"

        steps.run("check", do_check)
    (dist / "build-report.json").write_text(json.dumps(asdict(report), indent=2) + "\n", encoding="utf-8")
    package_line = f", package {mebibytes(report.package_bytes)}" if report.package_bytes is not None else ""
    print(
        f"report   built in {report.build_seconds:.1f} s: bundle {mebibytes(report.bundle_bytes)}{package_line} "
        f"({dist / 'build-report.json'})"
    )
    return report


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="build_installer.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--dist", type=Path, default=ROOT / "dist", help="where the bundle and the package go (default: dist/)"
    )
    p.add_argument(
        "--work",
        type=Path,
        default=ROOT / "build" / "installer",
        help="PyInstaller's work files and log (default: build/installer/)",
    )
    p.add_argument(
        "--clean", action="store_true", help="empty PyInstaller's cache first (slower; after upgrading dependencies)"
    )
    p.add_argument(
        "--no-package", action="store_true", help="stop after the bundle (no archive, installer or disk image)"
    )
    p.add_argument("--self-test", action="store_true", help="run the built bundle's --self-test in a clean environment")
    p.add_argument(
        "--scripts-only",
        action="store_true",
        help="only write the Windows .iss and the macOS dmg script into DIST, for review",
    )
    p.add_argument(
        "--codesign-identity", metavar="NAME", help="macOS: sign the .app and the .dmg with this Developer ID"
    )
    p.add_argument("--verbose", action="store_true", help="show PyInstaller's output instead of keeping it in the log")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        build(args)
    except BuildError as exc:
        print(f"build_installer.py: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
