"""The installer: build time and sizes, and how the frozen program starts against this checkout's Python.

Run: python bench/bench_installer.py [--runs N] [--keep DIR]
About 2 minutes on a 2-core laptop: one `build_installer.py` run (PyInstaller one-folder bundle and
the Linux archive) into a temporary directory, then, interleaved N times each, `--version` and
`--self-test` from the bundle (clean environment) and from source (`python -m cik_ecrf`).
Prints the build figures and medians with bundle/source ratios measured in this one run; nothing is
asserted (tests/test_installer.py checks what the bundle does, this only says how fast and how big).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _timed(command: list[str], env: dict[str, str], cwd: Path) -> float:
    began = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=env, cwd=cwd)
    return time.perf_counter() - began


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="runs of each start-up case (default 5)")
    parser.add_argument("--keep", type=Path, help="build into DIR and keep it (default: a temporary directory)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-installer-") as temp:
        base = args.keep.resolve() if args.keep else Path(temp)
        dist, work, home = base / "dist", base / "work", base / "home"
        (home / "tmp").mkdir(parents=True, exist_ok=True)
        began = time.perf_counter()
        subprocess.run(
            [sys.executable, str(ROOT / "build_installer.py"), "--dist", str(dist), "--work", str(work)],
            check=True,
            cwd=ROOT,
        )
        wall = time.perf_counter() - began
        report = json.loads((dist / "build-report.json").read_text(encoding="utf-8"))
        mib = 2**20
        print(
            f"\nbuild: PyInstaller {report['build_seconds']:.1f} s, archive {report['package_seconds']:.1f} s, "
            f"whole script {wall:.1f} s"
        )
        print(
            f"size:  bundle {report['bundle_bytes'] / mib:.1f} MiB in {report['bundle_files']} files, "
            f"archive {report['package_bytes'] / mib:.1f} MiB ({report['package_bytes'] / report['bundle_bytes']:.2f} of the bundle)"
        )

        program = str(dist / "cik-ecrf" / "cik-ecrf")
        clean = {"PATH": "/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8", "TMPDIR": str(home / "tmp")}
        source = {k: v for k, v in os.environ.items() if not k.startswith("QT_")} | {
            "HOME": str(home),
            "TMPDIR": str(home / "tmp"),
        }
        cases = {
            "--version": ([program, "--version"], [sys.executable, "-m", "cik_ecrf", "--version"]),
            "--self-test": ([program, "--self-test"], [sys.executable, "-m", "cik_ecrf", "--self-test"]),
        }
        for name, (frozen, from_source) in cases.items():
            times: dict[str, list[float]] = {"bundle": [], "source": []}
            for _ in range(args.runs):  # interleaved, so load from the other engineers hits both alike
                times["bundle"].append(_timed(frozen, clean, home))
                times["source"].append(_timed(from_source, source, home))
            bundle, checkout = statistics.median(times["bundle"]), statistics.median(times["source"])
            print(
                f"{name:<12} bundle {bundle * 1000:7.0f} ms   source {checkout * 1000:7.0f} ms   bundle/source {bundle / checkout:.2f}"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
