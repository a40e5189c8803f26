"""SQLite writers queue on an OS file lock instead of polling for the database's write lock.

A writer that finds SQLite's write lock taken sleeps in its busy handler (1, 2, 5, 10, … up to 100 ms) and
retries, so under contention the lock sits free while the waiters sleep: throughput drops and the slowest
writes wait tens of milliseconds for a lock held for a few. An exclusive flock on a file beside the
database, taken just before BEGIN IMMEDIATE and dropped right after COMMIT or ROLLBACK, lets the next writer
in within a tenth of a millisecond of the lock coming free. Readers never take it. The kernel drops it if the
process dies. No commit copies the write-ahead log into the database while others wait (`sqlite_checkpoints`).
"""
from __future__ import annotations

import fcntl
import os
import sqlite3
import time
from typing import Any

from . import sqlite_checkpoints

# Waiting writers look again every 0.1 ms at first, then every 1 ms: a write holds the lock for a millisecond
# or two, and the next one should start as soon as it ends.
_FIRST_POLLS, _FAST, _SLOW = 50, 0.0001, 0.001


class QueuedWriterConnection(sqlite3.Connection):
    """A sqlite3 connection whose `queue_for_write()` waits, up to its timeout, until no other writer holds
    the file lock."""

    def __init__(self, database: Any, *args: Any, timeout: float = 5.0, **kwargs: Any) -> None:
        super().__init__(database, *args, timeout=timeout, **kwargs)
        self._timeout = timeout
        name = os.fspath(database) if isinstance(database, (str, bytes, os.PathLike)) else ""
        plain_file = isinstance(name, str) and name not in ("", ":memory:") and not name.startswith("file:")
        self._lock_path = name + ".writer-lock" if plain_file else None
        self._lock_fd: int | None = None
        self._holding = False
        self._path = name if plain_file else None
        if plain_file:  # its log is copied in the background, never by one of its commits
            self.execute("PRAGMA wal_autocheckpoint=0")
        self._changes = self.total_changes

    def queue_for_write(self) -> None:
        if self._lock_path is None or self._holding:
            return
        if self._lock_fd is None:
            self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        # Polled rather than blocking, so the wait keeps SQLite's own bound (the connection's timeout): a
        # writer stuck ahead makes the others fail "database is locked" (503), never hang.
        deadline, polls = time.monotonic() + self._timeout, 0
        while True:
            try:
                fcntl.flock(self._lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise sqlite3.OperationalError("database is locked") from None
                polls += 1
                time.sleep(_FAST if polls < _FIRST_POLLS else _SLOW)
        self._holding = True

    def _done_writing(self) -> None:
        if self._holding and self._lock_fd is not None:
            self._holding = False
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._done_writing()
        if self._path is not None and self.total_changes != self._changes:
            self._changes = self.total_changes
            sqlite_checkpoints.written(self._path)

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._done_writing()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._done_writing()
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None
