"""The service's logs: one JSON object a line on stderr, each carrying the request id it belongs to."""
from __future__ import annotations

import json
import logging
import sys
from datetime import datetime, timezone
from typing import Any

from flask import g, has_request_context


class JsonLines(logging.Formatter):
    """A record as one JSON line: time, level, logger, message, request id, the record's `fields`, traceback."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {"time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(),
                                "level": record.levelname, "logger": record.name, "message": record.getMessage()}
        request_id = getattr(record, "request_id", None) or (g.get("request_id") if has_request_context() else None)
        if request_id is not None:
            line["request_id"] = request_id
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


class Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is at the time, as the interpreter's last-resort handler does."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonLines())

    @property  # type: ignore[override]
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def init_app(_app: Any) -> None:
    """The `registry` loggers write JSON lines to stderr at INFO; once per process, however many apps."""
    logger = logging.getLogger("registry")
    if not any(isinstance(handler, Stderr) for handler in logger.handlers):
        logger.addHandler(Stderr())
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.INFO)
