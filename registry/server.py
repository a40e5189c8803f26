"""Run the app under gunicorn (sync workers: the stack's fastest here once a database is involved)."""
from __future__ import annotations

import gc
import os
import shutil
import tempfile
from typing import Any

from gunicorn.app.base import BaseApplication


def post_worker_init(_worker: Any) -> None:
    """Move everything the loaded app holds out of the garbage collector's sight.

    A full collection walks every tracked object: with the app's modules, mappers and compiled statements
    that took ~50 ms, every few requests that allocate many objects (a 500-lot check), which set the slowest
    response times. Frozen, those objects are never walked; what requests allocate is still collected.
    """
    gc.freeze()


_private_metrics: list[str] = []


def on_starting(_arbiter: Any) -> None:
    """Give the workers' metrics files a private folder (0700), unless the operator names one to use."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        folder = tempfile.mkdtemp(prefix="seizure-registry-metrics-")
        _private_metrics.append(folder)
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder


def child_exit(_arbiter: Any, worker: Any) -> None:
    """A worker that died stops counting towards the live gauges; its counters are kept."""
    from prometheus_client import multiprocess
    multiprocess.mark_process_dead(worker.pid)


def on_exit(_arbiter: Any) -> None:
    """Remove the private metrics folder: the next start counts from zero, as Prometheus expects."""
    for folder in _private_metrics:
        shutil.rmtree(folder, ignore_errors=True)


class Server(BaseApplication):
    def __init__(self, options: dict[str, Any]):
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        from gunicorn.errors import AppImportError

        from . import create_app
        from .startup import StartupError
        try:
            return create_app()
        except StartupError as error:  # gunicorn prints the message alone and stops, as for registry.wsgi
            raise AppImportError(f"seizure-registry: error: {error}") from None


SETTINGS = ("worker_class", "limit_request_line", "timeout", "graceful_timeout", "post_worker_init", "on_starting",
            "child_exit", "on_exit")


def run(host: str, port: int, workers: int) -> None:
    from . import gunicorn_conf  # the one place the settings are written
    options = {name: getattr(gunicorn_conf, name) for name in SETTINGS}
    Server({**options, "bind": f"{host}:{port}", "workers": workers, "accesslog": None, "errorlog": "-",
            "loglevel": "info"}).run()
