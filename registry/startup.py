"""What the service checks before it serves: a database URL it can use, folders that exist, a database that
answers at the newest schema, and a port free to listen on. Each failure is one `StartupError` whose message
says what is wrong and how to fix it; the command line prints it as one line.
"""
from __future__ import annotations

import errno
import functools
import os
import socket
from dataclasses import dataclass

from sqlalchemy import Connection, select
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from .models import Checkpoint, LedgerHead

DRIVERS = ("sqlite", "sqlite+pysqlite", "postgresql+psycopg")
URL_FORMS = "sqlite:///PATH or postgresql+psycopg://USER@HOST:PORT/NAME"
UPGRADE = "seizure-registry db upgrade"


class StartupError(Exception):
    """The service cannot start as configured; `code` is stable, the message is for the operator."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class LedgerSeen:
    """What the ledger held at start: its size and its latest signed checkpoint note, if any."""

    size: int
    checkpoint: str | None


def private_folder(path: str) -> None:
    """Create the folder (mode 0700) if missing: it holds the database and the signing key by default."""
    if not os.path.isdir(path):
        os.makedirs(path, mode=0o700, exist_ok=True)
        os.chmod(path, 0o700)  # makedirs' mode is filtered by the umask


def existing_folder(path: str, what: str, setting: str) -> None:
    """Refuse a file whose folder does not exist: a typo in a setting should not make a new, empty registry."""
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise StartupError("folder_missing", f"the folder {folder} for the {what} does not exist; create it "
                                             f"(mkdir -m 700 {folder}) or correct {setting}")


def database_url(text: str) -> URL:
    """The configured database URL, refused unless it names a database this registry runs on."""
    try:
        url = make_url(text)
    except (ArgumentError, ValueError):  # ValueError: a port that is not a number
        # not echoed: a URL that cannot be read may still hold a password
        raise StartupError("bad_database_url", f"the database URL (REGISTRY_DATABASE_URL) is not a URL the "
                                               f"registry can read (check its form and port); "
                                               f"use {URL_FORMS}") from None
    if url.drivername not in DRIVERS:
        raise StartupError("bad_database_url", f"the database URL {shown(url)} (REGISTRY_DATABASE_URL) names "
                                               f"{url.drivername!r}, which the registry does not run on; "
                                               f"use {URL_FORMS}")
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        existing_folder(url.database, "database file", "REGISTRY_DATABASE_URL")
    return url


def shown(url: URL) -> str:
    return url.render_as_string(hide_password=True)


def where(url: URL) -> str:
    """The database as an operator would look for it: a file, or a PostgreSQL host and port."""
    if url.get_backend_name() == "sqlite":
        return f"file {os.path.abspath(url.database)}" if url.database else "in memory"
    return f"{url.database or '(default)'} on {url.host or 'localhost'}:{url.port or 5432}"


def refuse_missing_file(url: URL) -> None:
    """A SQLite database file that does not exist yet has no schema either."""
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:" \
            and not os.path.exists(url.database):
        raise StartupError("database_not_upgraded", f"there is no database yet ({where(url)}); run `{UPGRADE}`")


def read_ledger(connection: Connection) -> LedgerSeen:
    """The ledger's size and latest checkpoint, once the schema is known to be the newest."""
    size = connection.scalar(select(LedgerHead.size).where(LedgerHead.id == 1)) or 0
    note = connection.scalar(select(Checkpoint.note).order_by(Checkpoint.size.desc()).limit(1))
    return LedgerSeen(size, note)


def check_schema(connection: Connection, url: URL) -> None:
    """Refuse a database whose schema is not this version's newest, naming the command that brings it there."""
    from alembic.migration import MigrationContext
    current = frozenset(MigrationContext.configure(connection).get_current_heads())
    newest = _newest_revisions()
    if current == newest:
        return
    if not current:
        raise StartupError("database_not_upgraded", f"the database ({where(url)}) has no registry schema yet; "
                                                    f"run `{UPGRADE}`")
    if current - _known_revisions():
        raise StartupError("database_too_new", f"the database ({where(url)}) is at schema {', '.join(current)}, "
                                               f"which this version does not know: a newer release upgraded it; "
                                               f"run that release")
    raise StartupError("database_not_upgraded", f"the database ({where(url)}) is at schema {', '.join(current)}, "
                                                f"this version needs {', '.join(newest)}; run `{UPGRADE}`")


@functools.cache
def _scripts():
    from alembic.script import ScriptDirectory

    from .migrate import alembic_config
    return ScriptDirectory.from_config(alembic_config(""))


def _newest_revisions() -> frozenset[str]:
    return frozenset(_scripts().get_heads())


def _known_revisions() -> frozenset[str]:
    return frozenset(revision.revision for revision in _scripts().walk_revisions())


def reason(error: DBAPIError) -> str:
    """The driver's own first line on why, without SQLAlchemy's statement and link."""
    text = str(error.orig).strip()
    return text.splitlines()[0] if text else type(error.orig).__name__


def unreachable(error: DBAPIError, url: URL) -> StartupError:
    fix = "check that PostgreSQL runs there and accepts this user" if url.get_backend_name() == "postgresql" \
        else "check the file's permissions"
    return StartupError("database_unreachable", f"cannot reach the database ({where(url)}): {reason(error)}; {fix}, "
                                                f"or correct REGISTRY_DATABASE_URL")


def check_can_listen(host: str, port: int) -> None:
    """Refuse to start when the address cannot be bound, before anything else happens."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise StartupError("bad_listen_address", f"cannot listen on {host}: {error.strerror}; "
                                                 f"give --host an address of this machine") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
        try:
            probe.bind(address)
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise StartupError("port_in_use", f"{host}:{port} is already in use; stop what listens there "
                                                  f"or choose another --port") from None
            raise StartupError("bad_listen_address", f"cannot listen on {host}:{port}: {error.strerror}; "
                                                     f"choose another --host or --port") from None
