"""A small urllib client for the service's ledger endpoints (SPEC §6), for the auditor."""

from __future__ import annotations

import http.client
import json
import re
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from typing import IO, Generator, Iterator

from ledger.errors import VerificationError
from ledger.replay import Record

CHUNK = 10_000
STATE_MEDIA_TYPE = "application/jsonl"
_MAX_HEAD = 1024  # the state's first line is {"size": N}
_COPY_BUFFER = 1 << 20
_HEX64 = re.compile(r"[0-9a-f]{64}")


class RemoteError(Exception):
    """The service could not be reached, or answered with an HTTP error."""


class LedgerClient:
    """Reads the checkpoint, entries and consistency proofs of one registry."""

    def __init__(self, url: str, token: str, *, chunk: int | None = None, timeout: float = 60.0) -> None:
        self.base = url.rstrip("/") + "/api/v1/ledger"
        self.token = token
        self.chunk = chunk or CHUNK
        self.timeout = timeout

    def _open(self, path: str, **params: int) -> IO[bytes]:
        url = f"{self.base}/{path}" + (f"?{urllib.parse.urlencode(params)}" if params else "")
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {self.token}"})
        try:
            return urllib.request.urlopen(request, timeout=self.timeout)  # type: ignore[no-any-return]
        except urllib.error.HTTPError as exc:
            raise RemoteError(f"GET {url}: HTTP {exc.code} {exc.reason}") from None
        except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
            raise RemoteError(f"cannot reach {url}: {getattr(exc, 'reason', exc)}") from None

    def _read(self, path: str, **params: int) -> bytes:
        with self._open(path, **params) as response:
            try:
                return response.read()
            except (OSError, http.client.HTTPException) as exc:
                raise RemoteError(f"reading {path}: {exc}") from None

    def checkpoint(self) -> str:
        """Return the current signed checkpoint note."""
        try:
            return self._read("checkpoint").decode("utf-8")
        except UnicodeDecodeError:
            raise VerificationError("malformed note: checkpoint is not UTF-8") from None

    def entries(self, size: int) -> Iterator[bytes]:
        """Yield the exact bytes of entries 0..size-1, ``chunk`` per request; stop if the service does."""
        start = 0
        while start < size:
            end = min(start + self.chunk, size)
            received = yield from self._entries_between(start, end)
            if not received:
                return  # the service has fewer entries than claimed; the verifier reports it
            start += received

    def _entries_between(self, start: int, end: int) -> Generator[bytes, None, int]:
        received = 0
        with self._open("entries", start=start, end=end) as response:
            try:
                for line in response:
                    received += 1
                    yield line[:-1] if line.endswith(b"\n") else line
            except (OSError, http.client.HTTPException) as exc:
                raise RemoteError(f"reading entries from {start}: {exc}") from None
        return received

    def consistency_proof(self, old: int, new: int) -> list[bytes]:
        """Return the service's consistency proof between tree sizes ``old`` and ``new``."""
        try:
            answer = json.loads(self._read("proof/consistency", old=old, new=new))
            hashes = answer["hashes"]
            if (answer["old"], answer["new"]) != (old, new) or not all(_HEX64.fullmatch(h) for h in hashes):
                raise ValueError("wrong sizes or hashes")
            return [bytes.fromhex(h) for h in hashes]
        except (ValueError, KeyError, TypeError) as exc:
            raise VerificationError(f"malformed consistency proof from the service: {exc}") from None

    def state(self) -> StateExport:
        """Download the facts the service shows, with the ledger size they correspond to, to a temporary file."""
        spool = tempfile.TemporaryFile(prefix="seizure-ledger-state-")
        try:
            with self._open("state") as response:
                kind = response.headers.get_content_type()
                if kind != STATE_MEDIA_TYPE:
                    raise VerificationError(f"malformed state from the service: {kind}, not {STATE_MEDIA_TYPE}")
                try:
                    size = _state_size(response.readline(_MAX_HEAD))
                    shutil.copyfileobj(response, spool, _COPY_BUFFER)
                except (OSError, http.client.HTTPException) as exc:
                    raise RemoteError(f"reading state: {exc!r}") from None
            return StateExport(size, spool)
        except BaseException:
            spool.close()
            raise


class StateExport:
    """The service's state as GET /api/v1/ledger/state streams it (application/jsonl), kept in a temporary file.

    Line 1 is ``{"size": N}``: the state is the replay of the first N entries. Every other line is one record,
    ``["table", "key", {field: value, ...}]``, keyed and shaped as ``ledger.replay`` builds it. It waits on disk,
    not in memory: it is read before the checkpoint (so it covers a prefix of what the checkpoint signs) and
    compared only once every entry has been verified and replayed.
    """

    def __init__(self, size: int, spool: IO[bytes]) -> None:
        self.size = size
        self._spool = spool

    def records(self) -> Iterator[Record]:
        """Yield each record line as (table, key, record); VerificationError on a malformed one."""
        self._spool.seek(0)
        for number, line in enumerate(self._spool, start=2):
            yield _record(line, number)

    def close(self) -> None:
        self._spool.close()


def _state_size(line: bytes) -> int:
    try:
        size = json.loads(line).get("size")
        if type(size) is not int or size < 0:
            raise ValueError('the first line is not {"size": N}')
        return size
    except (ValueError, AttributeError) as exc:
        raise VerificationError(f"malformed state from the service: line 1: {exc}") from None


def _record(line: bytes, number: int) -> Record:
    try:
        table, key, record = json.loads(line)
        if not (isinstance(table, str) and isinstance(key, str) and isinstance(record, dict)):
            raise ValueError("not [table, key, {record}]")
        return table, key, record
    except (ValueError, TypeError) as exc:
        raise VerificationError(f"malformed state from the service: line {number}: {exc}") from None
