"""Bearer-token authentication, the role table of SPEC §2, and slowing down token guessing."""
from __future__ import annotations

import hmac
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from functools import wraps
from typing import Any, Callable

from flask import Response, current_app, g, request
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from ..db import database, end_read, get_session, open_write_early, read_by_statement
from ..rules import DomainError
from ..services import credentials
from ..services.units import TOKEN, authenticate, secret_digest
from .errors import database_unavailable, domain_error
from .fields import NOT_TEXT

log = logging.getLogger("registry.auth")
GUARDED_PATHS = ("/api/v1", "/metrics")
PUBLIC_PATHS = ("/api/v1/openapi.json", "/api/v1/docs")
READERS = ("court", "police", "auditor", "admin")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class FailureWindow:
    """Failed authentications per key (a client address, a token id) in the last minute.

    It slows guessing without locking anyone out: it is consulted only after a request failed to
    authenticate, so a valid token is never refused by it. Per process: several workers or instances each
    keep their own window, which multiplies the effective limit by their number.
    """

    SECONDS = 60
    KEYS = 10_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._seen.setdefault(key, deque())
        while times and times[0] <= now - self.SECONDS:
            times.popleft()
        return times

    def fail(self, keys: tuple[str, ...], limit: int) -> float | None:
        """Count one more failure for each key, or, if any key is already at the limit, the seconds to wait."""
        with self._lock:
            now = time.monotonic()
            full = [times[0] for times in (self._recent(key, now) for key in keys) if len(times) >= limit]
            if full:  # refused attempts are not counted: each key holds at most `limit` times
                return max(full) + self.SECONDS - now
            for key in keys:
                self._seen[key].append(now)
            while len(self._seen) > self.KEYS:  # bound memory under a spray of addresses
                self._seen.pop(next(iter(self._seen)))
            return None


class RateLimited(DomainError):
    """Too many failed authentications from this client or for this token id."""

    def __init__(self, retry_after: float):
        super().__init__("rate_limited", "too many failed authentications; wait before trying again")
        self.retry_after = retry_after


def _failures() -> FailureWindow:
    """One window per app (and so per worker process): tests and instances never share one."""
    return current_app.extensions.setdefault("registry.auth_failures", FailureWindow())


@dataclass(frozen=True)
class Caller:
    """Who is calling, as plain values: ORM rows expire on rollback and would reload mid-request."""

    code: str
    kind: str


class KnownTokens:
    """Tokens this process has authenticated in full: id → (hash of the secret, unit code, unit kind).

    A write with one of them skips the authentication query: its lock statement confirms the token (see
    `services.credentials`). A token's unit and kind never change; its revocation and its unit's deactivation
    do, and those are what the lock statement checks. Bounded, the oldest forgotten first.
    """

    LIMIT = 10_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._known: dict[str, tuple[bytes, str, str]] = {}

    def get(self, token_id: str) -> tuple[bytes, str, str] | None:
        return self._known.get(token_id)

    def remember(self, token_id: str, secret_hash: bytes, code: str, kind: str) -> None:
        with self._lock:
            self._known[token_id] = (secret_hash, code, kind)
            if len(self._known) > self.LIMIT:
                self._known.pop(next(iter(self._known)))

    def forget(self, token_id: str) -> None:
        with self._lock:
            self._known.pop(token_id, None)


def _known_tokens() -> KnownTokens:
    return current_app.extensions.setdefault("registry.known_tokens", KnownTokens())


def identify() -> None:
    """before_request: every API path but the docs needs a valid token, checked before anything else."""
    if not request.path.startswith(GUARDED_PATHS) or request.path.startswith(PUBLIC_PATHS):
        return
    bearer = _bearer()
    session = get_session()
    view = _view()
    writes = request.method not in SAFE_METHODS and not getattr(view, "__reads_only__", False)
    if writes and _confirm_with_write(session, bearer):
        return
    if writes:
        open_write_early(session)
    elif getattr(view, "__reads_by_statement__", False):
        read_by_statement(session)
    unit = authenticate(session, bearer) if bearer else None
    if unit is None:
        raise refusal(bearer)
    _known_tokens().remember(bearer.partition(".")[0], bytes(unit.secret_hash), unit.code, unit.kind)
    g.unit = Caller(unit.code, unit.kind)


def refusal(bearer: str) -> DomainError:
    """A failed authentication, counted for the client and the token id: 401, or 429 past the limit."""
    keys = (f"client {request.remote_addr or '?'}",)
    if TOKEN.fullmatch(bearer):
        keys += (f"token {bearer.partition('.')[0]}",)
    wait = _failures().fail(keys, current_app.config["AUTH_FAILURES_PER_MINUTE"])
    log.warning("authentication failed", extra={"fields": {
        "event": "rate_limited" if wait is not None else "authentication_failed", "client": request.remote_addr,
        "token_id": keys[1].partition(" ")[2] if len(keys) > 1 else None}})
    if wait is not None:
        return RateLimited(wait)
    return DomainError("unauthenticated", "a valid bearer token is required")


def _bearer() -> str:
    """The request's bearer token ("" without one); the scheme is case-insensitive, blanks around it ignored."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _confirm_with_write(session: Session, bearer: str) -> bool:
    """A known token on a write: let the write's lock statement confirm it (`services.credentials`)."""
    token_id, _, secret = bearer.partition(".")
    known = _known_tokens().get(token_id) if TOKEN.fullmatch(bearer) else None
    if known is None or not hmac.compare_digest(secret_digest(secret), known[0]):
        return False
    credentials.confirm_with_write(session, token_id, known[0])
    g.unit = Caller(known[1], known[2])
    g.unconfirmed_token = token_id
    return True


def settle_unconfirmed(response: Response) -> Response:
    """after_request: a token left to its write's lock statement is confirmed before anything is answered.

    The write refused it (401): forget it and count the failure. The request never reached a write's lock
    (refused before it, or it wrote nothing): authenticate it in full now, and answer 401 if it fails, as
    if it had been authenticated first.
    """
    token_id = g.pop("unconfirmed_token", None)
    if token_id is None:
        return response
    owed = credentials.still_owed(get_session())
    try:
        if response.status_code != 401 and (not owed or _still_valid(token_id)):
            return response
    except SQLAlchemyError as error:  # unknown whether the token is valid: answer nothing but "retry"
        return database_unavailable(error)
    _known_tokens().forget(token_id)
    return domain_error(refusal(_bearer()))


def _still_valid(token_id: str) -> bool:
    """Authenticate a token again, in a session of its own (the request's may be mid-failure)."""
    with database().sessions() as own:
        unit = authenticate(own, _bearer())
        end_read(own)
    return unit is not None and unit.code == g.unit.code


def _view() -> Callable[..., Any] | None:
    return current_app.view_functions.get(request.endpoint or "")


def reads_only(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a POST operation that changes nothing, so its reads keep one snapshot (see `identify`)."""
    view.__reads_only__ = True  # type: ignore[attr-defined]
    return view


def reads_by_statement(view: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a read that needs no transaction (`db.read_by_statement`): its view usually needs one statement
    and guards any other (`db.more_reads`), or its later statements read only rows that never change."""
    view.__reads_by_statement__ = True  # type: ignore[attr-defined]
    return view


def no_control_in_url() -> None:
    """before_request: a NUL or other control character in the path or query is never meant; refuse it."""
    if NOT_TEXT.search(request.path):
        raise DomainError("not_found", "no such resource")
    if any(NOT_TEXT.search(text) for text in (*request.args.keys(), *request.args.values())):
        raise DomainError("validation_error", "the URL contains control characters",
                          errors={"url": ["must not contain control characters"]})


def no_stray_query() -> None:
    """before_request: an operation that takes no query parameters refuses them rather than ignore them."""
    if request.routing_exception is not None:
        return  # no such route or method: that answer (404, 405) comes first
    view = _view()
    declared = getattr(view, "_apidoc", {}).get("arguments", {}).get("parameters", [])
    if request.args and request.path.startswith("/api/v1") and not any(p["in"] == "query" for p in declared):
        raise DomainError("validation_error", "this operation takes no query parameters",
                          errors={name: ["Unknown field."] for name in request.args})


def current_unit() -> Caller:
    return g.unit


def allow(*kinds: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Refuse (403) units of any other kind before the view runs."""
    def decorate(view: Callable[..., Any]) -> Callable[..., Any]:
        @wraps(view)
        def guarded(*args: Any, **kwargs: Any) -> Any:
            if g.unit.kind not in kinds:
                raise DomainError("forbidden", f"a {g.unit.kind} unit may not do this")
            return view(*args, **kwargs)
        guarded.__allowed_kinds__ = kinds  # type: ignore[attr-defined]
        return guarded
    return decorate
