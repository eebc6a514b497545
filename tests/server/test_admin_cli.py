"""`cik-ecrf server` administration and TLS: sites and users from the command line (a mistake is one
line and exit 1), and a server given a certificate and key that laptops enrol and sync with over HTTPS."""

from __future__ import annotations

import datetime as dt
import ipaddress
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from live_server import PASSWORD, ServerProcess

from cik_ecrf.cli import main
from cik_ecrf.server.database import open_database


def test_sites_and_users_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'server.db'}"
    assert main(["server", "site", "add", "bj01", "--name", "Beijing Children's", "--database-url", url]) == 0
    assert main(["server", "site", "add", "BJ01", "--name", "again", "--database-url", url]) == 1
    assert "site BJ01 already exists" in capsys.readouterr().err
    monkeypatch.setenv("CIK_ECRF_NEW_PASSWORD", PASSWORD)
    assert (
        main(
            [
                "server",
                "user",
                "add",
                "nurse.wang",
                "--role",
                "nurse",
                "--site",
                "BJ01",
                "--full-name",
                "Wang Li",
                "--database-url",
                url,
            ]
        )
        == 0
    )
    assert main(["server", "user", "add", "nurse.li", "--role", "nurse", "--site", "XX99", "--database-url", url]) == 1
    assert "no site XX99" in capsys.readouterr().err
    monkeypatch.setenv("CIK_ECRF_NEW_PASSWORD", "short")
    assert main(["server", "user", "add", "nurse.li", "--role", "nurse", "--site", "BJ01", "--database-url", url]) == 1
    assert "password too weak" in capsys.readouterr().err
    assert main(["server", "device", "list", "--database-url", "mysql://nowhere/db"]) == 1
    assert "only SQLite and PostgreSQL" in capsys.readouterr().err
    engine = open_database(url)
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT username, full_name, role, site_code FROM user_account").all()
    engine.dispose()
    assert [tuple(r) for r in rows] == [("nurse.wang", "Wang Li", "nurse", "BJ01")]


def self_signed(directory: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "server.pem", directory / "server.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def test_tls_with_a_certificate_and_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'server.db'}"
    monkeypatch.setenv("CIK_ECRF_NEW_PASSWORD", PASSWORD)
    assert main(["server", "site", "add", "BJ01", "--name", "Beijing", "--database-url", url]) == 0
    assert main(["server", "user", "add", "nurse1", "--role", "nurse", "--site", "BJ01", "--database-url", url]) == 0
    cert, key = self_signed(tmp_path)
    monkeypatch.setenv("CIK_ECRF_PASSWORD", PASSWORD)
    with ServerProcess(url, tmp_path / "server.log", tls=(cert, key)) as server:
        assert server.url.startswith("https://")
        laptop = ["--data-dir", str(tmp_path / "laptop"), "--user", "nurse1"]
        assert main(["enrol", "--server", server.url, *laptop]) == 1  # an unknown certificate is refused
        assert "CERTIFICATE_VERIFY_FAILED" in capsys.readouterr().err
        assert main(["enrol", "--server", server.url, "--ca-cert", str(cert), *laptop]) == 0
        assert main(["subject", "add", *laptop]) == 0
        assert main(["sync", "--ca-cert", str(cert), *laptop]) == 0
        assert "pushed" in capsys.readouterr().out
