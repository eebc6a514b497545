"""`cik-ecrf export` (a laptop: its site, blinded) and `cik-ecrf server export` (the whole study):
ODM 1.3.2, CSV per form with a dictionary, the endpoint dataset, and Kaplan–Meier curves.

Each prints every file it wrote with its SHA-256, and the export is audited: on a laptop a
`data_export` event in the trail, on the server a record in its change log.
"""

from __future__ import annotations

import argparse
import getpass
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

from .common import Usage, bounded

KINDS = ("odm", "csv", "endpoints")


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "kind",
        choices=KINDS,
        help="odm: CDISC ODM 1.3.2 XML; csv: a directory of CSV files; "
        "endpoints: the ADTTE-shaped endpoint dataset (CSV)",
    )
    parser.add_argument(
        "-o",
        "--output",
        type=Path,
        required=True,
        metavar="PATH",
        help="the file (odm, endpoints) or directory (csv) to write",
    )
    parser.add_argument(
        "--identified",
        action="store_true",
        help="keep direct identifiers (initials, date of birth): data managers only",
    )
    parser.add_argument("--json", action="store_true", help="endpoints: also print the rows as a JSON list")
    parser.add_argument("--language", choices=["en", "zh"], default="en", help="csv: the label columns' language")
    parser.add_argument(
        "--km",
        type=Path,
        metavar="FILE.pdf",
        help="endpoints: Kaplan–Meier curves of EFS and OS as PDF and PNG (needs the 'km' extra)",
    )


def add_export_commands(sub: Any, common: argparse.ArgumentParser) -> None:
    export = sub.add_parser("export", parents=[common], help="export this laptop's site (blinded): odm, csv, endpoints")
    _options(export)


def add_server_export(actions: Any, database: Any) -> None:
    export = actions.add_parser("export", help="export the whole study: odm, csv, endpoints (optionally unblinded)")
    _options(export)
    export.add_argument(
        "--unblinded",
        action="store_true",
        help="add the ARM column and per-arm curves (a user with an unblinded role: --user)",
    )
    export.add_argument(
        "--user",
        help="who exports (password from CIK_ECRF_PASSWORD or a prompt); needed for --unblinded and --identified",
    )
    database(export, suppress=True)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _write(args: argparse.Namespace, dataset: Any, study: Any, definitions: dict[str, Any] | None = None) -> list[Path]:
    """Write the chosen export under `study` (the newest version); `definitions`: every study version
    in use, oldest first, one ODM MetaDataVersion each. Returns the files written."""
    from ..reporting.export.csv_export import write_endpoints, write_forms
    from ..reporting.export.endpoints import derive
    from ..reporting.export.odm import write_odm
    from ..rules import RulesEngine

    engine = RulesEngine(study)
    output: Path = args.output
    if args.kind == "odm":
        output.parent.mkdir(parents=True, exist_ok=True)
        with output.open("w", encoding="utf-8") as handle:
            write_odm(dataset, study, handle, definitions, engine=engine)
        return [output]
    if args.kind == "csv":
        if output.exists() and not output.is_dir():
            raise Usage(f"{output}: csv writes a directory (one file per form); this is a file")
        return write_forms(output, dataset, study, args.language, engine)
    data = derive(dataset, study, engine=engine)
    output.parent.mkdir(parents=True, exist_ok=True)
    files = write_endpoints(output, data)
    if args.json:
        print(json.dumps(data.records(), ensure_ascii=False, indent=1))
    if args.km:
        from ..pdf.fonts import fonts_dir
        from ..reporting.export.km import MissingExtra, write_km

        try:
            files += write_km(data, args.km, fonts_dir(), _arm_labels(study) if data.unblinded else None)
        except MissingExtra as exc:
            raise Usage(str(exc)) from None
    return files


def _arm_labels(study: Any) -> dict[str, str]:
    design = study.study.randomization or {}
    return {arm["code"]: arm["label"]["en"] for arm in design.get("arms", []) if isinstance(arm, dict)}


def _report(args: argparse.Namespace, files: list[Path]) -> list[tuple[str, str]]:
    out = sys.stderr if args.json else sys.stdout
    hashed = []
    for path in files:
        digest = sha256(path)
        hashed.append((path.name, digest))
        print(f"wrote {path} ({path.stat().st_size:,} bytes) sha256 {digest}", file=out)
    return hashed


def run_export_command(args: argparse.Namespace) -> int:
    """On a laptop: the signed-in user's site, blinded; audited in the trail."""
    from ..definitions.errors import DefinitionErrors
    from ..reporting.laptop_dataset import audit_export, laptop_dataset
    from ..store.errors import StoreError
    from .common import open_store

    if args.kind != "endpoints" and (args.json or args.km):
        print("--json and --km go with endpoints", file=sys.stderr)
        return 1
    try:
        store, _password = open_store(args)
    except (Usage, StoreError) as exc:
        print(bounded(exc), file=sys.stderr)
        return 1
    try:
        dataset = laptop_dataset(store, identified=args.identified)
        versions = {f"v{v.number}": v.study for v in store.study_versions.versions}
        files = _write(args, dataset, store.study, versions)
        hashed = _report(args, files)
        audit_export(store, args.kind, hashed, args.identified)
    except (Usage, StoreError, DefinitionErrors) as exc:
        print(bounded(exc), file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"{args.output}: cannot write ({exc.strerror or exc})", file=sys.stderr)
        return 1
    finally:
        store.close()
    return 0


def run_server_export(args: argparse.Namespace, engine: Any) -> int:
    """The whole study from the server database; --unblinded and --identified need a proved user."""
    from ..core.roles import UNBLINDED_ROLES
    from ..definitions.errors import DefinitionErrors
    from ..server.database import ServerError
    from ..server.export_dataset import IDENTIFIED_ROLES, check_user, definitions, record_export, server_dataset
    from .common import read_password

    if args.kind != "endpoints" and (args.json or args.km):
        raise Usage("--json and --km go with endpoints")
    role = None
    username = f"os:{getpass.getuser()}"
    if args.user:
        user = check_user(engine, args.user, read_password("CIK_ECRF_PASSWORD", f"Password for {args.user}: "))
        username, role = user.username, user.role
    if args.unblinded and role not in UNBLINDED_ROLES:
        raise Usage(f"--unblinded needs --user with an unblinded role ({', '.join(sorted(UNBLINDED_ROLES))})")
    if args.identified and role not in IDENTIFIED_ROLES:
        raise Usage("--identified needs --user with the data_manager role")
    try:
        versions = definitions(engine)
        study = list(versions.values())[-1]
        dataset = server_dataset(engine, study.study.id, unblinded=args.unblinded, identified=args.identified)
        files = _write(args, dataset, study, versions)
    except DefinitionErrors as exc:
        raise ServerError(str(exc)) from None
    except OSError as exc:
        raise ServerError(f"{args.output}: cannot write ({exc.strerror or exc})") from None
    hashed = _report(args, files)
    payload = {
        "format": args.kind,
        "unblinded": args.unblinded,
        "identified": args.identified,
        "files": [{"name": n, "sha256": h} for n, h in hashed],
    }
    seq = record_export(engine, username, role, payload)
    print(
        f"export recorded in the server's log (seq {seq}, by {username})", file=sys.stderr if args.json else sys.stdout
    )
    return 0
