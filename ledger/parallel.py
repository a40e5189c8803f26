"""Checking a large ledger's chunks in worker processes, in order, in bounded memory.

The reading process cuts the entries into chunks (``verify._chunks``) and hands each to whichever
worker is free; a worker checks everything it can on its own (``verify._check_alone``: canonical form,
fields, seq, the prev links inside the chunk, leaf hashes and subtree roots). The reading process takes
the verdicts in chunk order (``verify._Chain.take``), checking the one link a worker cannot see (the first
entry's prev) and merging the subtree roots into the tree. A chunk that is not wholly good, or whose
worker is lost, is checked again in the reading process (``verify._Chain.check``), which names the first
bad entry exactly as a check without workers would. At most ``2 * workers + 2`` chunks are in flight.
"""

from __future__ import annotations

import multiprocessing
import os
import select
import signal
import struct
import sys
import threading
from collections import deque
from multiprocessing.connection import Connection
from typing import Any, Iterator

from ledger import verify

_HEADER = struct.Struct("<QQQQ")  # chunk number, first seq, entries (0: stop), bytes that follow
_PIPE_SIZE = 1 << 20
_WAIT = 0.5  # seconds between checks that the workers are alive, while waiting for a verdict

Verdict = tuple[int, bytes, bytes, list[tuple[int, bytes]]]


def check_in_workers(chain: verify._Chain, chunks: Iterator[tuple[int, list[bytes]]], workers: int) -> None:
    """Check ``chunks`` (``(first seq, lines)``, in order) with ``workers`` processes, feeding ``chain``."""
    try:
        pool = _Pool(workers)
    except OSError:  # pragma: no cover - no processes to be had: check here
        for _, lines in chunks:
            chain.check(lines)
        return
    finished = False
    try:
        pending: deque[tuple[int, list[bytes], bool]] = deque()  # chunk number, lines, sent to a worker
        limit = 2 * workers + 2
        for number, (start, lines) in enumerate(chunks):
            while len(pending) >= limit:
                _settle(chain, pool, *pending.popleft())
            pending.append((number, lines, pool.submit(number, start, lines)))
            del lines
        while pending:
            _settle(chain, pool, *pending.popleft())
        finished = True
    finally:
        pool.close(finished)


def _settle(chain: verify._Chain, pool: _Pool, number: int, lines: list[bytes], sent: bool) -> None:
    if sent:
        verdict = pool.verdict(number)
        if verdict is not None and verdict[0] == len(lines) and chain.take(*verdict):
            return
    chain.check(lines)  # raises, naming the first bad entry (unless the chunk's worker was lost)


class _Pool:
    """Worker processes taking chunks from one pipe and answering on another."""

    def __init__(self, workers: int) -> None:
        context = _context()
        tasks_in, self._tasks_out = context.Pipe(duplex=False)
        self._results_in, results_out = context.Pipe(duplex=False)
        take_lock, answer_lock = context.Lock(), context.Lock()
        try:  # a chunk in one or two writes, not sixteen (Linux allows up to 1 MiB unprivileged by default)
            import fcntl
            fcntl.fcntl(self._tasks_out.fileno(), fcntl.F_SETPIPE_SZ, _PIPE_SIZE)
        except (ImportError, AttributeError, OSError):  # pragma: no cover - not Linux, or a lower limit
            pass
        self._processes = [
            context.Process(target=_work, args=(tasks_in, take_lock, results_out, answer_lock,
                                                (self._tasks_out, self._results_in)),
                            name=f"seizure-ledger-verify-{i}", daemon=True)
            for i in range(workers)]
        self._verdicts: dict[int, Verdict | None] = {}
        self.broken = False
        try:
            for process in self._processes:
                process.start()
        except BaseException:
            self.broken = True
            self.close(False)
            raise
        finally:
            # Only the workers hold these ends now: if they all die, reads and writes here fail at once.
            tasks_in.close()
            results_out.close()
        os.set_blocking(self._tasks_out.fileno(), False)  # so that waiting for a free worker can time out

    def submit(self, number: int, start: int, lines: list[bytes]) -> bool:
        """Hand a chunk to the first free worker (waits for one); False if the pool is broken."""
        if self.broken or not all(p.is_alive() for p in self._processes):
            self.broken = True
            return False
        joined = b"\n".join(lines)
        try:
            self._write(_HEADER.pack(number, start, len(lines), len(joined)))
            self._write(joined)
        except OSError:  # a worker died, maybe while taking a chunk: what is in the pipe is lost
            self.broken = True
            return False
        return True

    def _write(self, data: bytes) -> None:
        view, fd = memoryview(data), self._tasks_out.fileno()
        while view:
            try:
                view = view[os.write(fd, view):]
            except BlockingIOError:  # every worker is busy: wait, as long as they all live
                while not select.select([], [fd], [], _WAIT)[1]:
                    if not all(p.is_alive() for p in self._processes):
                        raise OSError("a worker died") from None

    def verdict(self, number: int) -> Verdict | None:
        """The verdict on chunk ``number``; None if it is lost (a worker died or failed)."""
        while number not in self._verdicts:
            if self.broken:
                return None
            try:
                while not self._results_in.poll(_WAIT):
                    if not all(p.is_alive() for p in self._processes):
                        raise EOFError
                answer, verdict = self._results_in.recv()
            except (EOFError, OSError):
                self.broken = True
                return None
            self._verdicts[answer] = verdict
        return self._verdicts.pop(number)

    def close(self, finished: bool) -> None:
        """Stop the workers: politely once all is done, else at once (after an error or an interrupt)."""
        if finished and not self.broken:
            try:
                for _ in self._processes:
                    self._write(_HEADER.pack(0, 0, 0, 0))  # no entries: stop
            except OSError:
                pass
        for process in self._processes:
            if finished and not self.broken:
                process.join(timeout=1.0)
            if process.is_alive():
                process.terminate()
                process.join()
        self._tasks_out.close()
        self._results_in.close()


def _context() -> Any:
    # fork starts a worker in milliseconds and needs no re-import; with other threads running it could
    # deadlock a child (and Python 3.12+ warns), so then the workers are spawned afresh.
    methods = multiprocessing.get_all_start_methods()
    if sys.platform == "linux" and "fork" in methods and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _work(tasks: Connection, take_lock: Any, results: Connection, answer_lock: Any,
          parents: tuple[Connection, Connection]) -> None:
    """A worker: check chunks until a message without entries (or the end of the pipe)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the reading process decides what an interrupt stops
    for end in parents:
        end.close()  # so the pipes end when the reading process does
    fd, header, buffer = tasks.fileno(), bytearray(_HEADER.size), bytearray(_PIPE_SIZE)
    while True:
        with take_lock:
            try:
                if not _read_into(fd, memoryview(header)):
                    return
                number, start, count, size = _HEADER.unpack(header)
                if not count:
                    return
                if size > len(buffer):
                    buffer = bytearray(size)
                with memoryview(buffer) as view:
                    if not _read_into(fd, view[:size]):
                        return
            except OSError:
                return
        with memoryview(buffer) as view:
            lines = bytes(view[:size]).split(b"\n")
        try:
            # A line holding a newline (never a good entry) splits in two: the reading process checks it.
            verdict: Verdict | None = verify._check_alone(lines, start) if len(lines) == count else None
        except Exception:  # a failure here costs only speed: the reading process checks the chunk itself
            verdict = None
        del lines
        try:
            with answer_lock:
                results.send((number, verdict))
        except OSError:  # the reading process is gone
            return


# The chunks go through the pipe as a header and the lines joined by newlines, read into a buffer kept by
# the worker: Connection.recv_bytes would allocate (and map) a buffer of the whole size for every read.


def _read_into(fd: int, view: memoryview) -> bool:
    """Fill ``view`` from ``fd``; False at the end of the pipe."""
    done, size = 0, len(view)
    while done < size:
        got = os.readv(fd, [view[done:]])
        if not got:
            return False
        done += got
    return True
