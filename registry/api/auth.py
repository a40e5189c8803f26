"""Bearer-token authentication, the role table of SPEC §2, and slowing down token guessing."""
from __future__ import annotations

import hmac
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

PUBLIC_PATHS = ("/api/v1/openapi.json", "/api/v1/docs")
READERS = ("court", "police", "auditor", "admin")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


class FailureWindow:
    """Failed authentications per client in the last minute, per process; past the limit a client waits."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seen: dict[str, deque[float]] = {}

    def _recent(self, client: str, now: float) -> deque[float]:
        times = self._seen.setdefault(client, deque())
        while times and times[0] < now - 60:
            times.popleft()
        return times

    def blocked(self, client: str, limit: int) -> bool:
        with self._lock:
            return len(self._recent(client, time.monotonic())) >= limit

    def fail(self, client: str) -> None:
        with self._lock:
            self._recent(client, time.monotonic()).append(time.monotonic())
            if len(self._seen) > 10_000:  # bound memory under a spray of addresses
                self._seen.pop(next(iter(self._seen)))


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
    """before_request: every API path but the docs needs a valid token."""
    if not request.path.startswith("/api/v1") or request.path.startswith(PUBLIC_PATHS):
        return
    client = request.remote_addr or "?"
    failures = _failures()
    if failures.blocked(client, current_app.config["AUTH_FAILURES_PER_MINUTE"]):
        raise DomainError("rate_limited", "too many failed authentications; wait a minute")
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
        failures.fail(client)
        raise DomainError("unauthenticated", "a valid bearer token is required")
    _known_tokens().remember(bearer.partition(".")[0], bytes(unit.secret_hash), unit.code, unit.kind)
    g.unit = Caller(unit.code, unit.kind)


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
    _failures().fail(request.remote_addr or "?")
    return domain_error(DomainError("unauthenticated", "a valid bearer token is required"))


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
