"""What an operator sees when the registry cannot start: one line on stderr, exit 2, nothing changed.

The commands run as an operator runs them: `seizure-registry` in a subprocess, configured by REGISTRY_*
variables only, in an empty folder.
"""
from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from registry import create_app
from registry.config import TestingConfig
from registry.migrate import upgrade
from registry.services.units import OPERATOR, create_unit
from registry.startup import StartupError, private_folder

BIN = os.path.dirname(sys.executable)
UPGRADE = "run `seizure-registry db upgrade`"


def command(tmp_path: Path, url: str, key: Path, *args: str, program: str = "seizure-registry",
            timeout: float = 60) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env.update(REGISTRY_DATABASE_URL=url, REGISTRY_LEDGER_KEY_FILE=str(key), HOME=str(tmp_path))
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    done = subprocess.run([os.path.join(BIN, program), *args], cwd=work, env=env, capture_output=True, text=True,
                          timeout=timeout)
    return done.returncode, done.stdout, done.stderr


def refused(result: tuple[int, str, str], *wanted: str) -> str:
    """The one line a refused start prints: exit 2, no traceback, every wanted phrase in it."""
    code, out, err = result
    assert code == 2 and "Traceback" not in err and not out, (code, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("seizure-registry: error: "), err
    for phrase in wanted:
        assert phrase in lines[0], (phrase, lines[0])
    return lines[0]


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'registry.db'}"


@pytest.mark.parametrize("url, wanted", [
    ("foo://x", "names 'foo'"),
    ("postgres://", "names 'postgres'"),
    ("postgres://registry:secret@db:x/", "is not a URL the registry can read (check its form and port)"),
    ("postgresql://registry@db/registry", "names 'postgresql'"),
    ("not a url", "is not a URL"),
    ("sqlite+aiosqlite:///registry.db", "names 'sqlite+aiosqlite'"),
])
def test_a_database_url_the_registry_cannot_use_is_named(tmp_path, url, wanted):
    line = refused(command(tmp_path, url, tmp_path / "ledger.key", "db", "upgrade"), wanted,
                   "REGISTRY_DATABASE_URL", "postgresql+psycopg://")
    assert "secret" not in line
    assert not (tmp_path / "ledger.key").exists()


def test_an_unreachable_database_is_named_by_host_and_port(tmp_path):
    line = refused(command(tmp_path, "postgresql+psycopg://postgres@127.0.0.1:1/none", tmp_path / "ledger.key",
                           "audit"), "cannot reach the database", "127.0.0.1:1")
    assert "Connection refused" in line


def test_a_missing_folder_is_named_with_the_way_to_make_it(tmp_path):
    gone = tmp_path / "no-such-folder"
    refused(command(tmp_path, f"sqlite:///{gone}/registry.db", tmp_path / "ledger.key", "db", "upgrade"),
            f"the folder {gone} for the database file does not exist", f"mkdir -m 700 {gone}")
    refused(command(tmp_path, sqlite_url(tmp_path), gone / "ledger.key", "db", "upgrade"),
            f"the folder {gone} for the ledger key file does not exist", "REGISTRY_LEDGER_KEY_FILE")
    assert not gone.exists() and not (tmp_path / "registry.db").exists()  # refused before anything was made


@pytest.mark.parametrize("args", [("audit",), ("tokens", "issue", "SOME-COURT"),
                                  ("units", "add", "OPERATOR", "--name", "Operator", "--kind", "admin")])
def test_commands_other_than_upgrade_and_serve_refuse_a_database_not_upgraded(tmp_path, database_url, args):
    refused(command(tmp_path, database_url, tmp_path / "ledger.key", *args), UPGRADE)
    assert not (tmp_path / "registry.db").exists() and not (tmp_path / "ledger.key").exists()


def test_db_upgrade_makes_the_key_on_an_empty_ledger_and_says_so(tmp_path, database_url):
    key = tmp_path / "ledger.key"
    code, out, err = command(tmp_path, database_url, key, "db", "upgrade")
    assert code == 0 and out == "database at the newest schema\n", (out, err)
    assert f"created the ledger signing key {key} (key id " in err
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    code, out, err = command(tmp_path, database_url, key, "audit")
    assert code == 0 and "audit ok: 0 entries" in out, (out, err)
    assert "created" not in err


def test_a_database_of_an_older_schema_names_db_upgrade(tmp_path):
    upgrade(sqlite_url(tmp_path), "0002")
    refused(command(tmp_path, sqlite_url(tmp_path), tmp_path / "ledger.key", "audit"), "is at schema 0002", UPGRADE)


def _signed_ledger(url: str, key: Path) -> str:
    """A ledger with one entry and a signed checkpoint; returns the verifier key that signed it."""
    upgrade(url)
    app = create_app({**{k: getattr(TestingConfig, k) for k in dir(TestingConfig) if k.isupper()},
                      "DATABASE_URL": url, "LEDGER_KEY_FILE": str(key)})
    try:
        session = app.extensions["registry.db"].sessions()
        with app.app_context():
            token = create_unit(session, OPERATOR, "AUDIT-1", "审计", "auditor", None).token
        session.close()
        client = app.test_client()
        assert client.get("/api/v1/ledger/checkpoint", headers={"Authorization": f"Bearer {token}"}).status_code == 200
        return client.get("/api/v1/ledger/key", headers={"Authorization": f"Bearer {token}"}).get_data(as_text=True)
    finally:
        app.extensions["registry.db"].dispose()


def test_a_missing_key_over_a_ledger_with_entries_is_refused(tmp_path, database_url):
    key = tmp_path / "ledger.key"
    signed_by = "+".join(_signed_ledger(database_url, key).strip().split("+")[:2])
    key.rename(tmp_path / "backup.key")
    for args in (("db", "upgrade"), ("audit",)):
        refused(command(tmp_path, database_url, key, *args), f"the ledger key file {key} is missing",
                "holds 1 entries", f"last signed by key {signed_by}", "restore the key file from backup")
    assert not key.exists()


def test_a_key_other_than_the_one_that_signed_the_ledger_is_refused(tmp_path, database_url):
    key = tmp_path / "ledger.key"
    signed_by = "+".join(_signed_ledger(database_url, key).strip().split("+")[:2])
    key.unlink()
    code, out, _ = command(tmp_path, database_url, key, "key", "init")
    assert code == 0, out
    other = "+".join(out.strip().splitlines()[-1].split("+")[:2])
    line = refused(command(tmp_path, database_url, key, "db", "upgrade"), f"holds key {other}",
                   f"signed by key {signed_by}", "restore the key file from backup")
    assert other != signed_by, line


def test_a_changed_origin_is_named_as_a_way_out(tmp_path):
    url, key = sqlite_url(tmp_path), tmp_path / "ledger.key"
    _signed_ledger(url, key)
    with pytest.raises(StartupError) as refusal:
        create_app({"DATABASE_URL": url, "LEDGER_KEY_FILE": str(key), "LEDGER_ORIGIN": "other.example/ledger"})
    assert refusal.value.code == "key_mismatch"
    assert "set REGISTRY_LEDGER_ORIGIN back to seizure-registry.local/ledger" in str(refusal.value)


def _write_key(path: Path, mode: int) -> None:
    path.write_bytes(Ed25519PrivateKey.generate().private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption()))
    path.chmod(mode)


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o644])
def test_a_key_file_open_to_group_or_others_is_refused(tmp_path, mode):
    key = tmp_path / "ledger.key"
    _write_key(key, mode)
    refused(command(tmp_path, sqlite_url(tmp_path), key, "db", "upgrade"), f"mode {mode:04o}",
            f"run chmod 600 {key}")
    assert stat.S_IMODE(key.stat().st_mode) == mode  # the operator decides; the registry does not chmod it


def test_a_key_file_that_is_not_a_key_is_refused(tmp_path):
    key = tmp_path / "ledger.key"
    key.write_text("not a key\n")
    key.chmod(0o600)
    refused(command(tmp_path, sqlite_url(tmp_path), key, "db", "upgrade"), "does not hold an Ed25519 private key")
    key.unlink()
    key.mkdir()
    refused(command(tmp_path, sqlite_url(tmp_path), key, "key", "show"), "is not a file")


def test_key_init_creates_once_and_key_show_prints_the_same_verifier_key(tmp_path):
    key = tmp_path / "ledger.key"
    code, missing, err = command(tmp_path, sqlite_url(tmp_path), key, "key", "show")
    assert code == 2 and "seizure-registry key init" in err and not missing
    code, out, err = command(tmp_path, sqlite_url(tmp_path), key, "key", "init")
    assert code == 0 and f"{key} (mode 0600), key id " in out, (out, err)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    created = out.strip().splitlines()[-1]
    assert created.startswith("seizure-registry.local/ledger+") and out.split("key id ")[1][:8] in created
    before = key.read_bytes()
    refused(command(tmp_path, sqlite_url(tmp_path), key, "key", "init"), "already exists and is never replaced")
    assert key.read_bytes() == before
    code, out, _ = command(tmp_path, sqlite_url(tmp_path), key, "key", "show")
    assert code == 0 and out.strip() == created


def test_serve_refuses_a_port_in_use_and_workers_below_one(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        refused(command(tmp_path, sqlite_url(tmp_path), tmp_path / "ledger.key", "serve", "--port", str(port),
                        timeout=30), f"127.0.0.1:{port} is already in use", "--port")
    assert not (tmp_path / "registry.db").exists()
    code, out, err = command(tmp_path, sqlite_url(tmp_path), tmp_path / "ledger.key", "serve", "--workers", "0",
                             timeout=30)
    assert code == 2 and err.splitlines() == [
        "seizure-registry: error: Invalid value for '--workers': 0 is not in the range x>=1 "
        "(see `seizure-registry serve --help`)"], err


@pytest.mark.parametrize("argv, said", [(("units", "add", "X", "--nme", "x"), "No such option '--nme'"),
                                        (("nosuch",), "No such command 'nosuch'")])
def test_a_mistyped_command_line_is_one_line_with_exit_2(tmp_path, argv, said):
    code, out, err = command(tmp_path, sqlite_url(tmp_path), tmp_path / "ledger.key", *argv, timeout=30)
    assert code == 2 and len(err.splitlines()) == 1 and said in err and "--help`)" in err, err


def test_gunicorn_on_a_database_not_upgraded_stops_with_the_reason(tmp_path):
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    code, out, err = command(tmp_path, sqlite_url(tmp_path), tmp_path / "ledger.key", "-c",
                             "python:registry.gunicorn_conf", "-b", f"127.0.0.1:{port}", "registry.wsgi:app",
                             program="gunicorn", timeout=60)
    assert code != 0 and "Traceback" not in err, err
    assert f"seizure-registry: error: there is no database yet (file {tmp_path / 'registry.db'}); {UPGRADE}" in err


def test_sqlite_files_are_private_to_the_service(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    url = f"sqlite:///{folder / 'registry.db'}"
    old = os.umask(0o022)
    try:
        app = create_app({"DATABASE_URL": url, "LEDGER_KEY_FILE": str(tmp_path / "ledger.key")}, upgrade=True)
    finally:
        os.umask(old)
    session = app.extensions["registry.db"].sessions()
    try:
        with app.app_context():  # a write, with the app's connection still open: the log and its index exist
            create_unit(session, OPERATOR, "AUDIT-1", "审计", "auditor", None)
        for name in ("registry.db", "registry.db-wal", "registry.db-shm", "registry.db.writer-lock"):
            assert stat.S_IMODE((folder / name).stat().st_mode) == 0o600, name
    finally:
        session.close()
        app.extensions["registry.db"].dispose()


def test_the_instance_folder_is_made_private(tmp_path):
    old = os.umask(0o022)
    try:
        private_folder(str(tmp_path / "var" / "registry-instance"))
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "var" / "registry-instance").stat().st_mode) == 0o700
