"""SQLite writers queue on an OS file lock instead of polling for the database's write lock.

A writer that finds SQLite's write lock taken sleeps in its busy handler (1, 2, 5, 10, … up to 100 ms) and
retries, so under contention the lock sits free while the waiters sleep: throughput drops and the slowest
writes wait tens of milliseconds for a lock held for a few. An exclusive flock on a file beside the
database, taken just before BEGIN IMMEDIATE and dropped right after COMMIT or ROLLBACK, wakes the next writer
the moment the lock is free. Readers never take it. The kernel drops it if the process dies.
"""
from __future__ import annotations

import fcntl
import os
import sqlite3
from typing import Any


class QueuedWriterConnection(sqlite3.Connection):
    """A sqlite3 connection whose `queue_for_write()` blocks until no other writer holds the file lock."""

    def __init__(self, database: Any, *args: Any, **kwargs: Any) -> None:
        super().__init__(database, *args, **kwargs)
        name = os.fspath(database) if isinstance(database, (str, bytes, os.PathLike)) else ""
        plain_file = isinstance(name, str) and name not in ("", ":memory:") and not name.startswith("file:")
        self._lock_path = name + ".writer-lock" if plain_file else None
        self._lock_fd: int | None = None
        self._holding = False

    def queue_for_write(self) -> None:
        if self._lock_path is None or self._holding:
            return
        if self._lock_fd is None:
            self._lock_fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
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
