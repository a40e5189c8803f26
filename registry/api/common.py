"""What every write view shares: Idempotency-Key handling and one response shape."""
from __future__ import annotations

import functools
import hashlib
from typing import Any, Callable, TypeVar

from flask import Response, json, request
from marshmallow import Schema

from ..rules import DomainError
from ..services.tx import Idempotency, Replayed

T = TypeVar("T")


def _fingerprint() -> str:
    body = request.get_data(cache=True)
    return hashlib.sha256(request.method.encode() + b" " + request.path.encode() + b"\n" + body).hexdigest()


def respond(body: Any, status: int) -> Response:
    return Response(json.dumps(body), status=status, mimetype="application/json")


@functools.cache
def _schema(cls: type[Schema]) -> Schema:
    """One instance per response schema: building one deep-copies its fields, which costs more than a dump."""
    return cls()


def perform(command: Callable[[Idempotency | None], T], present: Callable[[T], Any], schema_class: type[Schema],
            status: int = 201, remember: Callable[[Any], Any] = lambda body: body) -> Response:
    """Run a write, honouring Idempotency-Key: a retry with the same body gets the first response.

    `remember` shapes what is kept for retries: secrets shown once must not be kept in clear.
    """
    schema = _schema(schema_class)
    rendered: list[tuple[int, Any]] = []

    def render(result: T) -> tuple[int, Any]:  # inside the transaction when a key is given; once either way
        if not rendered:
            rendered.append((status, schema.dump(present(result))))
        return rendered[0]

    def kept(result: T) -> tuple[int, Any]:
        code, body = render(result)
        return code, remember(body)

    key = request.headers.get("Idempotency-Key")
    idem = None
    if key is not None:
        if not 1 <= len(key) <= 200:
            raise DomainError("validation_error", "bad Idempotency-Key",
                              errors={"Idempotency-Key": ["1 to 200 characters"]})
        idem = Idempotency(key, _fingerprint(), kept)
    try:
        result = command(idem)
    except Replayed as replay:
        return respond(replay.body, replay.status)
    status_code, body = render(result)
    return respond(body, status_code)
