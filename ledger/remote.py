"""A small urllib client for the service's ledger endpoints (SPEC §6), for the auditor."""

from __future__ import annotations

import http.client
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from typing import IO, Any, Generator, Iterator

from ledger.errors import VerificationError

CHUNK = 10_000
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

    def state(self) -> dict[str, Any]:
        """Return the facts the service shows, with the ledger size they correspond to."""
        try:
            answer = json.loads(self._read("state"))
            if not isinstance(answer.get("size"), int) or not isinstance(answer.get("state"), dict):
                raise ValueError("no size or state")
            return answer  # type: ignore[no-any-return]
        except (ValueError, AttributeError) as exc:
            raise VerificationError(f"malformed state from the service: {exc}") from None
