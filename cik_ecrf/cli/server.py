"""`cik-ecrf server`: run the central server, and administer it (sites, users, devices).

Every verb takes --database-url (default: $CIK_ECRF_SERVER_DATABASE_URL, else an SQLite file in the
user data directory). Migrations run once here, before any worker starts.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from ..server import defaults
from .authorship import add_anchor_commands, run_anchor_command
from .export import add_server_export, run_server_export  # data out: odm, csv, endpoints
from .randomization import SERVER_GROUPS, add_randomization_server_commands, run_randomization_server
from .study import add_study_commands, run_study_command  # study versions


def _db(parser: argparse.ArgumentParser, suppress: bool = False) -> None:
    parser.add_argument(
        "--database-url",
        default=argparse.SUPPRESS if suppress else None,
        help="sqlite:///FILE or postgresql+psycopg://USER@HOST/DB (default: $CIK_ECRF_SERVER_DATABASE_URL or an SQLite file)",
    )


def add_server_commands(sub: Any) -> None:
    server = sub.add_parser("server", help="run the central server, or administer it (site add, user add, device)")
    _db(server)
    server.add_argument("--host", default="127.0.0.1")
    server.add_argument("--port", type=int, default=8765)
    server.add_argument("--workers", type=int, default=1, help="server processes sharing the database")
    server.add_argument("--cert", type=Path, help="TLS certificate (PEM); with --key the server speaks HTTPS")
    server.add_argument("--key", type=Path, help="TLS private key (PEM)")
    server.add_argument(
        "--max-body-mb",
        type=_positive,
        default=defaults.MAX_BODY_MB,
        help=f"largest request body accepted, in MB (default {defaults.MAX_BODY_MB}); larger ones get 413",
    )
    server.add_argument(
        "--login-failures",
        type=_positive,
        default=defaults.LOGIN_FAILURES,
        help=f"failed passwords for one user name before it is locked out (default {defaults.LOGIN_FAILURES})",
    )
    server.add_argument(
        "--address-failures",
        type=_positive,
        default=defaults.ADDRESS_FAILURES,
        help=f"failed passwords from one address before it is locked out (default {defaults.ADDRESS_FAILURES})",
    )
    server.add_argument(
        "--lockout-minutes",
        type=_positive,
        default=defaults.LOCKOUT_MINUTES,
        help=f"length of a first lockout; each next one in a row lasts twice as long, up to a day (default {defaults.LOCKOUT_MINUTES})",
    )
    server.add_argument(
        "--docs", action="store_true", help="serve the API documentation (/docs, /redoc, /openapi.json)"
    )
    server.add_argument(
        "--log-level",
        choices=defaults.LOG_LEVELS,
        default="info",
        help="security events at this level and above (default info)",
    )
    server.add_argument(
        "--log-file", type=Path, help="append the structured (JSON lines) log here instead of standard error"
    )
    actions = server.add_subparsers(dest="server_command", metavar="ACTION")
    add_study_commands(actions, _db)  # study versions: study publish / study list
    add_randomization_server_commands(actions, _db)  # randomization / unblinding
    add_server_export(actions, _db)  # data out: odm, csv, endpoints
    site = actions.add_parser("site", help="sites").add_subparsers(dest="site_command", metavar="ACTION", required=True)
    site_add = site.add_parser("add", help="add a site")
    site_add.add_argument("code")
    site_add.add_argument("--name", required=True)
    _db(site_add, suppress=True)
    user = actions.add_parser("user", help="central users (they reach every laptop of their site)").add_subparsers(
        dest="user_command", metavar="ACTION", required=True
    )
    user_add = user.add_parser("add", help="add a user; first password from CIK_ECRF_NEW_PASSWORD or a prompt")
    user_add.add_argument("name")
    user_add.add_argument(
        "--role",
        required=True,
        choices=["nurse", "investigator", "monitor", "data_manager", "admin", "pharmacist", "statistician"],
        help="pharmacist, statistician: unblinded, server only (the randomization list)",
    )
    user_add.add_argument("--site", required=True)
    user_add.add_argument("--full-name", help="the printed name signatures show")
    _db(user_add, suppress=True)
    user_passwd = user.add_parser(
        "passwd",
        help="set a user's password (from CIK_ECRF_NEW_PASSWORD or a prompt); laptops take it at their next sync",
    )
    user_passwd.add_argument("name")
    _db(user_passwd, suppress=True)
    user_deactivate = user.add_parser(
        "deactivate", help="stop a user from signing in anywhere (laptops drop the user's key at their next sync)"
    )
    user_deactivate.add_argument("name")
    _db(user_deactivate, suppress=True)
    user_unlock = user.add_parser("unlock", help="lift a user's lockout after too many failed passwords")
    user_unlock.add_argument("name")
    _db(user_unlock, suppress=True)
    address = actions.add_parser("address", help="source addresses").add_subparsers(
        dest="address_command", metavar="ACTION", required=True
    )
    address_unlock = address.add_parser("unlock", help="lift an address's lockout after too many failed passwords")
    address_unlock.add_argument("address")
    _db(address_unlock, suppress=True)
    _db(actions.add_parser("lockouts", help="list the user names and addresses locked out now"), suppress=True)
    device = actions.add_parser("device", help="enrolled laptops").add_subparsers(
        dest="device_command", metavar="ACTION", required=True
    )
    _db(device.add_parser("list", help="list enrolled laptops"), suppress=True)
    revoke = device.add_parser("revoke", help="revoke a laptop's token (it must enrol again)")
    revoke.add_argument("device_id")
    _db(revoke, suppress=True)
    allow = device.add_parser("allow", help="let a revoked laptop enrol once more (recorded with the reason)")
    allow.add_argument("device_id")
    allow.add_argument("--reason", required=True, help="why this laptop may enrol again (kept with the leave)")
    allow.add_argument("--user", help="only this user may enrol it (default: any user of its site)")
    _db(allow, suppress=True)
    add_anchor_commands(actions, _db)  # authorship: chain anchors and rewritten-history flags


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: a whole number, 1 or more")
    return int(text)


def run_server_command(args: argparse.Namespace) -> int:
    from ..server import logs
    from ..server.database import ServerError
    from .common import Usage, read_password

    try:
        logs.configure(args.log_level, args.log_file)
    except OSError as exc:
        print(f"error: --log-file {args.log_file}: {exc.strerror}", file=sys.stderr)
        return 1
    try:
        return _dispatch(args, read_password)
    except (ServerError, Usage) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


def _dispatch(args: argparse.Namespace, password: Any) -> int:
    from ..server import admin
    from ..server.database import ServerError, default_url, open_database

    url = args.database_url or os.environ.get("CIK_ECRF_SERVER_DATABASE_URL") or default_url()
    engine = open_database(url)
    try:
        if args.server_command in SERVER_GROUPS:  # randomization / unblinding
            return run_randomization_server(engine, args)
        if args.server_command == "study":  # study versions
            return run_study_command(engine, args)
        if args.server_command == "anchors":  # authorship
            return run_anchor_command(engine, args)
        elif args.server_command == "site":
            print(f"added site {admin.add_site(engine, args.code, args.name)}")
        elif args.server_command == "user" and args.user_command == "passwd":
            admin.set_password(
                engine, args.name, password("CIK_ECRF_NEW_PASSWORD", f"New password for {args.name}: ", confirm=True)
            )
            print(f"password set for {args.name}; laptops of the site take it at their next sync")
        elif args.server_command == "user" and args.user_command == "unlock":
            lifted = admin.unlock_user(engine, args.name)
            print(f"unlocked {args.name}" if lifted else f"{args.name} was not locked out")
        elif args.server_command == "address":
            lifted = admin.unlock_address(engine, args.address)
            print(f"unlocked {args.address}" if lifted else f"{args.address} was not locked out")
        elif args.server_command == "lockouts":
            for key, until in admin.lockouts(engine):
                print(f"{key.replace(':', ' ', 1)} until {until[:19].replace('T', ' ')} UTC")
        elif args.server_command == "user" and args.user_command == "deactivate":
            admin.set_active(engine, args.name, False)
            print(f"deactivated {args.name}")
        elif args.server_command == "user":
            first = password("CIK_ECRF_NEW_PASSWORD", f"First password for {args.name}: ", confirm=True)
            admin.add_user(engine, args.name, args.role, args.site, first, args.full_name)
            print(f"added {args.role} {args.name} at site {args.site.upper()}")
        elif args.server_command == "device" and args.device_command == "allow":
            from ..server.devices import allow_device

            allow_device(engine, args.device_id, args.reason, args.user)
            print(f"device {args.device_id} may enrol again once" + (f", by {args.user}" if args.user else ""))
        elif args.server_command == "device" and args.device_command == "revoke":
            admin.revoke_device(engine, args.device_id)
            print(f"revoked device {args.device_id}")
        elif args.server_command == "export":  # data out: odm, csv, endpoints
            return run_server_export(args, engine)
        elif args.server_command == "device":
            for device_id, site, code, revoked in admin.devices(engine):
                print(f"{device_id} {site} {code}{' (revoked)' if revoked else ''}")
        else:
            if (args.cert is None) != (args.key is None):
                raise ServerError("TLS needs both --cert and --key")
            engine.dispose()
            return _serve(url, args)
    finally:
        engine.dispose()
    return 0


def _serve(url: str, args: argparse.Namespace) -> int:
    import datetime as dt

    import uvicorn

    from ..server import logs
    from ..server.ratelimit import Limits
    from ..server.settings import ServerSettings

    settings = ServerSettings(
        max_body_mb=args.max_body_mb,
        docs=args.docs,
        login=Limits(
            user_failures=args.login_failures,
            address_failures=args.address_failures,
            lockout=dt.timedelta(minutes=args.lockout_minutes),
        ),
    )
    tls = {"ssl_certfile": str(args.cert), "ssl_keyfile": str(args.key)} if args.cert else {}
    scheme = "https" if tls else "http"
    print(
        f"CIK-eCRF server on {scheme}://{args.host}:{args.port} ({args.workers} worker(s))"
        + ("; API documentation at /docs" if args.docs else ""),
        file=sys.stderr,
    )
    # the workers are processes of their own: they read their settings from the environment
    os.environ["CIK_ECRF_SERVER_DATABASE_URL"] = url
    os.environ.update(settings.to_env())
    os.environ[logs.LEVEL_ENV] = args.log_level
    if args.log_file:
        os.environ[logs.FILE_ENV] = str(args.log_file.resolve())
    else:
        os.environ.pop(logs.FILE_ENV, None)
    uvicorn.run(
        "cik_ecrf.server.app:app_from_environment",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="warning" if args.log_level in ("debug", "info") else args.log_level,
        access_log=False,
        **tls,
    )
    return 0
