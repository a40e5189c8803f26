"""Prometheus metrics at GET /metrics, for admin tokens: requests, latency, database errors, the ledger.

gunicorn's workers are separate processes. Each writes its samples to files in PROMETHEUS_MULTIPROC_DIR
(`server.on_starting` makes a private folder when the operator names none) and a scrape sums every worker's.
prometheus-client chooses that mode when it is first imported, so it is imported on a process's first
request, never by the process that only builds the app before gunicorn forks (`seizure-registry serve`).
The ledger's figures are read from the database at scrape time, by one indexed query.
"""
from __future__ import annotations

import os
import time
from datetime import datetime, timezone
from typing import Any, Iterator

from flask import Flask, Response, current_app, g, request
from sqlalchemy import select, true

from .api.auth import allow
from .db import get_session
from .models import Checkpoint, LedgerHead

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_LATEST = select(Checkpoint.size, Checkpoint.signed_at).order_by(Checkpoint.size.desc()).limit(1).subquery()
LEDGER = select(LedgerHead.size, _LATEST.c.size, _LATEST.c.signed_at).select_from(LedgerHead) \
    .outerjoin(_LATEST, true()).where(LedgerHead.id == 1)


class Instruments:
    """The app's counters and histogram; shared through files between processes in multiprocess mode."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram
        self.shared = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        self.registry = None if self.shared else CollectorRegistry()
        self.requests = Counter("registry_http_requests", "HTTP requests answered, by endpoint, method and status",
                                ("endpoint", "method", "status"), registry=self.registry)
        self.latency = Histogram("registry_http_request_duration_seconds", "Time to answer a request, by endpoint",
                                 ("endpoint",), registry=self.registry)
        self.database_errors = Counter("registry_database_errors", "Requests that failed in the database, by kind "
                                       "(unavailable: busy or unreachable, 503; unexpected: 500)", ("kind",),
                                       registry=self.registry)


def _instruments() -> Instruments:
    made = current_app.extensions.get("registry.metrics")
    if made is None:
        made = current_app.extensions["registry.metrics"] = Instruments()
    return made


def _count(response: Response) -> Response:
    """after_request: count the request and time it; endpoints and methods are bounded label values."""
    instruments = _instruments()
    endpoint = request.endpoint or "unmatched"
    method = request.method if request.method in METHODS else "other"
    instruments.requests.labels(endpoint, method, str(response.status_code)).inc()
    instruments.latency.labels(endpoint).observe(time.perf_counter() - g.get("started", time.perf_counter()))
    if "database_error" in g:
        instruments.database_errors.labels(g.database_error).inc()
    return response


class LedgerFacts:
    """Collector: the ledger's size, how many entries no signed checkpoint covers yet, the latest one's age."""

    def __init__(self, size: int, signed_size: int | None, signed_at: datetime | None):
        self.size, self.signed_size, self.signed_at = size, signed_size, signed_at

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily
        yield GaugeMetricFamily("registry_ledger_entries", "Entries in the ledger", value=self.size)
        yield GaugeMetricFamily("registry_ledger_unsigned_entries", "Entries not yet covered by a signed "
                                "checkpoint (one is signed when a client asks for it)",
                                value=self.size - (self.signed_size or 0))
        if self.signed_at is not None:
            age = (datetime.now(timezone.utc) - self.signed_at).total_seconds()
            yield GaugeMetricFamily("registry_ledger_checkpoint_age_seconds", "Seconds since the latest "
                                    "checkpoint was signed", value=age)


@allow("admin")
def scrape() -> Response:
    """Prometheus text format: every worker's requests and database errors, and the ledger read now."""
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
    instruments = _instruments()
    workers = instruments.registry
    if workers is None:
        workers = CollectorRegistry()
        multiprocess.MultiProcessCollector(workers)
    ledger = CollectorRegistry()
    ledger.register(LedgerFacts(*get_session().execute(LEDGER).one()))
    return Response(generate_latest(workers) + generate_latest(ledger), content_type=CONTENT_TYPE_LATEST)


def init_app(app: Flask) -> None:
    app.after_request(_count)
    app.add_url_rule("/metrics", "metrics", scrape)
