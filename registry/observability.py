"""Request ids, one structured log line per request, security headers, and the health check."""
from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, Response, current_app, g, request
from sqlalchemy import text

from .db import get_session

log = logging.getLogger("registry.requests")
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
API_HEADERS = {"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
               "Cache-Control": "no-store", "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'"}
REFUSALS = {401: "unauthenticated", 403: "forbidden", 429: "rate_limited"}
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; frame-ancestors 'none'")


def _start() -> None:
    """The request id is always the server's own; a client's well-formed X-Request-Id is logged beside it."""
    g.request_id = uuid.uuid4().hex
    g.started = time.perf_counter()


def _finish(response: Response) -> Response:
    response.headers["X-Request-Id"] = g.get("request_id", "")
    for header, value in API_HEADERS.items():
        response.headers.setdefault(header, value)
    if request.path.startswith("/api/v1/docs"):
        response.headers["Content-Security-Policy"] = DOCS_CSP
        response.headers["Cache-Control"] = "public, max-age=3600"
    _log_request(response.status_code)
    return response


def _log_request(status: int) -> None:
    """One line per request; refusals and errors stand out by their level and the `refused` field."""
    unit = g.get("unit")
    fields = {"method": request.method, "path": request.path, "status": status,
              "unit": unit.code if unit is not None else None, "client": request.remote_addr,
              "ms": round((time.perf_counter() - g.get("started", time.perf_counter())) * 1000, 1)}
    given = request.headers.get("X-Request-Id", "")
    if REQUEST_ID.fullmatch(given):
        fields["client_request_id"] = given
    if status in REFUSALS:
        fields["refused"] = REFUSALS[status]
    log.log(logging.ERROR if status >= 500 else logging.WARNING if status in REFUSALS else logging.INFO,
            "request", extra={"fields": fields})


def healthz():
    """Liveness and readiness: the database answers and the ledger key is loaded; and the version serving."""
    from . import __version__
    checks = {"database": "ok", "ledger_key": "ok" if "registry.signer" in current_app.extensions else "missing"}
    try:
        get_session().execute(text("SELECT 1"))
    except Exception:  # readiness reports, it does not raise
        checks["database"] = "unreachable"
    healthy = all(v == "ok" for v in checks.values())
    return {"status": "ok" if healthy else "unavailable", "version": __version__, **checks}, 200 if healthy else 503


def init_app(app: Flask) -> None:
    app.before_request(_start)
    app.after_request(_finish)
    app.add_url_rule("/healthz", "healthz", healthz)
