"""SQLite's write-ahead log is copied into the database by a thread of each process, not by a write.

SQLite's automatic checkpoint runs inside the COMMIT that takes the log past 1,000 pages: that write copies
the whole log into the database and syncs both files, and every writer queued behind it on the file lock
(`sqlite_writers`) waits too. With a seizure writing a dozen pages, that was one write in a hundred, and it
made the slowest 1% of writes several times slower than the rest. The registry's connections turn the
automatic checkpoint off; a write that changed something nudges this process's checkpointer, which a moment
later copies what the log holds without stopping anyone (PASSIVE). Writes go on meanwhile, so the copy never
quite catches up, and a log is only started over once all of it has been copied: when the log has grown past
1,000 pages, the checkpointer takes the writers' lock and copies the few pages written since. A write is
exactly as durable either way: a committed transaction is in the log, and SQLite reads the log until it has
been copied. The thread ends after a quiet spell, closing its connection.
"""
from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time

log = logging.getLogger("registry.db")

# A checkpoint gathers the writes of this long: at a thousand writes a second about as many pages as SQLite's
# own threshold, so the log stays as small as it did.
GATHER_SECONDS = 0.1
RESTART_PAGES = 1_000  # SQLite's own threshold
IDLE_SECONDS = 30.0

_lock = threading.Lock()
_running: dict[str, "Checkpointer"] = {}  # by database path


def _start_afresh_in_child() -> None:
    """A forked child has none of its parent's threads, and may have copied `_lock` while one held it."""
    global _lock
    _lock = threading.Lock()
    _running.clear()


os.register_at_fork(after_in_child=_start_afresh_in_child)


def written(path: str) -> None:
    """A transaction that changed the database at `path` has committed: checkpoint its log soon."""
    with _lock:
        checkpointer = _running.get(path)
        if checkpointer is None:
            checkpointer = _running[path] = Checkpointer(path)
            checkpointer.start()
        checkpointer.wanted.set()


class Checkpointer(threading.Thread):
    def __init__(self, path: str) -> None:
        super().__init__(name=f"sqlite-checkpoint {os.path.basename(path)}", daemon=True)
        self.path = path
        self.wanted = threading.Event()

    def run(self) -> None:
        from .sqlite_writers import QueuedWriterConnection  # which calls `written`
        connection: QueuedWriterConnection | None = None
        try:
            while self._wait_for_writes():
                time.sleep(GATHER_SECONDS)
                self.wanted.clear()  # writes nudging from here on get the next checkpoint
                try:
                    if connection is None:
                        connection = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                                                     check_same_thread=False, factory=QueuedWriterConnection)
                    _, pages, _ = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                    if pages >= RESTART_PAGES:
                        connection.queue_for_write()
                        try:  # no writer appends meanwhile: the copy completes, and the next write restarts the log
                            connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                        finally:
                            connection.rollback()  # drops the writers' lock
                except sqlite3.Error as error:  # the log stays readable; the next write tries again
                    log.warning("checkpoint of %s failed: %s", self.path, error)
                    if connection is not None:
                        connection.close()
                        connection = None
        finally:
            if connection is not None:
                connection.close()

    def _wait_for_writes(self) -> bool:
        """Whether there are writes to copy; False (and no longer running) after a quiet spell."""
        if self.wanted.wait(IDLE_SECONDS):
            return True
        with _lock:
            if self.wanted.is_set():  # nudged just now: carry on
                return True
            _running.pop(self.path, None)
            return False
