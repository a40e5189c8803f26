"""SQLite writers queue on a file lock beside the database, held from BEGIN IMMEDIATE to COMMIT or ROLLBACK."""
from __future__ import annotations

import fcntl
import json
import os
import sqlite3
import time
from contextlib import closing

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from registry import sqlite_checkpoints
from registry.db import begin_write, make_engine
from registry.sqlite_writers import QueuedWriterConnection


@pytest.fixture
def engine(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'registry.db'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (a INTEGER)"))
    yield engine
    engine.dispose()


def _free(lock_path: str) -> bool:
    """Whether another writer could take the lock now (a separate open file description, as another process)."""
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    finally:
        os.close(fd)  # closing drops a lock taken here
    return True


def _writing(engine) -> Session:
    """A session in the middle of a write: BEGIN IMMEDIATE done, one row inserted, not yet committed."""
    session = Session(engine)
    begin_write(session)
    session.execute(text("INSERT INTO t VALUES (1)"))
    return session


@pytest.mark.parametrize("end", ["commit", "rollback"])
def test_a_write_holds_the_writer_lock_until_it_ends(engine, tmp_path, end):
    lock_path = str(tmp_path / "registry.db.writer-lock")
    session = _writing(engine)
    assert not _free(lock_path)
    getattr(session, end)()
    assert _free(lock_path)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == (1 if end == "commit" else 0)
    session.close()


def test_reads_do_not_take_the_writer_lock(engine, tmp_path):
    lock_path = str(tmp_path / "registry.db.writer-lock")
    writer = _writing(engine)
    with engine.connect() as reader:  # WAL: a reader goes on while a write is open
        assert reader.execute(text("SELECT count(*) FROM t")).scalar() == 0
    writer.commit()
    with Session(engine) as session:
        session.execute(text("SELECT count(*) FROM t"))
        assert _free(lock_path)
    writer.close()


def test_a_closed_connection_lets_the_next_writer_in(engine, tmp_path):
    lock_path = str(tmp_path / "registry.db.writer-lock")
    session = _writing(engine)
    session.connection().invalidate()  # a broken connection is closed, never returned to the pool
    session.close()
    assert _free(lock_path)


def test_a_writer_waits_no_longer_than_its_timeout(tmp_path):
    """A writer stuck ahead (here: another process's lock) makes the next fail "database is locked" (503)."""
    path = str(tmp_path / "registry.db")
    held = os.open(path + ".writer-lock", os.O_RDWR | os.O_CREAT)
    fcntl.flock(held, fcntl.LOCK_EX)
    conn = sqlite3.connect(path, timeout=0.2, factory=QueuedWriterConnection)
    try:
        started = time.monotonic()
        with pytest.raises(sqlite3.OperationalError, match="database is locked"):
            conn.queue_for_write()
        assert time.monotonic() - started >= 0.2
        fcntl.flock(held, fcntl.LOCK_UN)
        conn.queue_for_write()  # free again: taken at once
        conn.rollback()
    finally:
        conn.close()
        os.close(held)


def _copied_rows(path: str) -> int | None:
    """Rows of t in the database file itself, ignoring the write-ahead log; None while the file is mid-copy."""
    try:
        with closing(sqlite3.connect(f"file:{path}?immutable=1", uri=True)) as conn:
            return conn.execute("SELECT count(*) FROM t").fetchone()[0]
    except sqlite3.DatabaseError:  # no table t yet, or a page read as it was being written
        return None


def test_no_commit_copies_the_log_a_thread_of_the_process_does(engine, tmp_path, monkeypatch):
    """SQLite's own checkpoint would run inside the COMMIT that takes the log past 1,000 pages, with every
    queued writer waiting; the registry copies the log in the background instead."""
    monkeypatch.setattr(sqlite_checkpoints, "GATHER_SECONDS", 0.5)
    path = str(tmp_path / "registry.db")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA wal_autocheckpoint")).scalar() == 0
    session = _writing(engine)
    session.execute(text("INSERT INTO t SELECT value FROM json_each(:many)"), {"many": json.dumps([7] * 600_000)})
    session.commit()  # some 2,000 pages of log
    session.close()
    assert _copied_rows(path) in (None, 0)  # still only in the log
    deadline = time.monotonic() + 30
    while _copied_rows(path) != 600_001 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _copied_rows(path) == 600_001
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t")).scalar() == 600_001
