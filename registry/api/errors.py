"""The one place where errors become HTTP: RFC 9457 problem+json with a stable `code`."""
from __future__ import annotations

import logging
import math
from typing import Any

from flask import Flask, Response, g, json
from sqlalchemy.exc import DBAPIError, OperationalError, PendingRollbackError
from werkzeug.exceptions import HTTPException, SecurityError

from ..rules import DomainError

log = logging.getLogger("registry.errors")

STATUS_BY_CODE = {
    "unauthenticated": 401, "forbidden": 403, "not_found": 404, "validation_error": 422,
    "term_too_long": 422, "term_not_extended": 422, "weights_do_not_sum": 422, "idempotency_key_reused": 422,
    "unit_exists": 409, "case_number_taken": 409, "card_no_taken": 409, "unknown_card_no": 409,
    "not_effective_holder": 409, "not_seized_by_case": 409, "rate_limited": 429, "unavailable": 503,
    "parent_kind_mismatch": 422, "parent_cycle": 422,
    # A deactivated unit is a state of the registry an admin can undo, not a right the unit lacks: 409, like
    # the other refusals that depend on what was recorded. Its own tokens are refused earlier, with 401.
    "unit_inactive": 409, "unit_unchanged": 409, "case_not_at_court": 409,
}
CODE_BY_STATUS = {400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
                  405: "method_not_allowed", 413: "payload_too_large", 415: "unsupported_media_type",
                  422: "validation_error", 429: "rate_limited", 503: "unavailable"}


def problem(status: int, code: str, detail: str, **extra: Any) -> Response:
    body = {"type": f"tag:seizure-registry,2026:problem:{code}", "title": code.replace("_", " "),
            "status": status, "detail": detail, "code": code, **extra}
    if "request_id" in g:
        body["request_id"] = g.request_id
    return Response(json.dumps(body), status=status, mimetype="application/problem+json")


HEADERS_BY_STATUS = {401: {"WWW-Authenticate": 'Bearer realm="seizure-registry"'}, 429: {"Retry-After": "60"}}


def domain_error(error: DomainError) -> Response:
    status = STATUS_BY_CODE.get(error.code, 409)
    extra: dict[str, Any] = {}
    if error.errors or status == 422:
        extra["errors"] = error.errors or {}
    if error.conflicts:
        extra["conflicts"] = [c.as_dict() for c in error.conflicts]
    response = problem(status, error.code, error.detail, **extra)
    response.headers.update(HEADERS_BY_STATUS.get(status, {}))
    if getattr(error, "retry_after", None) is not None:  # seconds until the refused client may try again
        response.headers["Retry-After"] = str(max(1, math.ceil(error.retry_after)))  # type: ignore[attr-defined]
    return response


def http_error(error: HTTPException) -> Response:
    status = error.code or 500
    code = CODE_BY_STATUS.get(status, "http_error")
    data = getattr(error, "data", None) or {}
    messages = data.get("messages")
    if messages:  # webargs puts field errors under the location ("json", "query", ...)
        errors = {field: msgs for location in messages.values() for field, msgs in _flat(location).items()}
        return problem(status, code, "the request is not valid", errors=errors)
    response = problem(status, code, error.description or code)
    for header, value in (error.get_headers() if status in (405, 429) else []):
        if header.lower() in ("allow", "retry-after"):
            response.headers[header] = value
    return response


def untrusted_host(_error: SecurityError) -> Response:
    """A Host outside REGISTRY_TRUSTED_HOSTS: refused without repeating it."""
    return problem(400, "untrusted_host", "this service does not answer for the host the request names")


def _flat(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """Nested marshmallow messages as dotted field paths: {"lots.3.weight_t": ["…"]}."""
    if isinstance(messages, list):
        return {prefix or "_schema": [str(m) for m in messages]}
    flat: dict[str, list[str]] = {}
    for key, value in messages.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        flat.update(_flat(value, path))
    return flat


def database_unavailable(error: Exception) -> Response:
    """A busy (SQLite locked) or unreachable database: nothing was written; the client may retry."""
    g.database_error = "unavailable"
    log.warning("database unavailable: %s", getattr(error, "orig", error), extra={"request_id": g.get("request_id")})
    response = problem(503, "unavailable", "the database is busy or unreachable; retry shortly")
    response.headers["Retry-After"] = "1"
    return response


def _lost_connection_or_unexpected(error: DBAPIError) -> Response:
    if error.connection_invalidated:
        return database_unavailable(error)
    g.database_error = "unexpected"
    return unexpected(error)


def _unparsable_or_unexpected(error: ValueError) -> Response:
    # Python refuses integers over 4300 digits with this message while parsing the request's JSON.
    return unparsable(error) if "integer string conversion" in str(error) else unexpected(error)


def unexpected(error: Exception) -> Response:
    log.exception("unhandled error", extra={"request_id": g.get("request_id")})
    return problem(500, "internal_error", "an internal error occurred; quote the request id to the operator")


def unparsable(error: Exception) -> Response:
    """JSON beyond the parser's own limits (nesting, integer digits): bad input, never a 500."""
    return problem(400, "bad_request", "the JSON body is nested too deeply or has a number too long to read")


def register(app: Flask) -> None:
    app.register_error_handler(DomainError, domain_error)
    app.register_error_handler(SecurityError, untrusted_host)
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(OperationalError, database_unavailable)
    app.register_error_handler(PendingRollbackError, database_unavailable)
    app.register_error_handler(DBAPIError, _lost_connection_or_unexpected)
    app.register_error_handler(RecursionError, unparsable)
    app.register_error_handler(ValueError, _unparsable_or_unexpected)
    app.register_error_handler(Exception, unexpected)
