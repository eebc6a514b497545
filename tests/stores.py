"""Set-up shared by the store and client tests: a real store with an admin and a nurse past her first login."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cik_ecrf.store.api import Store


def store_with_nurse(
    directory: Path,
    study: Any,
    device_code: str | None,
    admin: tuple[str, str],
    nurse: tuple[str, str, str],
    site: str = "BJ01",
) -> None:
    """`admin` is (name, password); `nurse` is (name, first password, password after the first login)."""
    admin_name, admin_pw = admin
    nurse_name, first_pw, nurse_pw = nurse
    Store.init(directory, site, admin_name, admin_pw, device_code=device_code)
    with Store.open(directory, admin_name, admin_pw, study=study) as store:
        store.add_user(nurse_name, "nurse", first_pw)
    with Store.open(directory, nurse_name, first_pw, study=study) as store:
        store.change_password(first_pw, nurse_pw)
