"""gunicorn settings for the bench: the package's own settings, plus the request log in a file.

gunicorn reads only one config file, and the bench must pass its own, so it starts from the package's:
servers under the bench are configured as in production (the command line then sets workers, bind and a
timeout long enough for the slowest figure). The service logs each request as JSON, with its server-side
`ms`, on the `registry.requests` logger; each worker sends it to a file of its own instead of stderr.
"""
import logging
import os

from registry.gunicorn_conf import *  # noqa: F401,F403,E402
from registry.logs import JsonLines  # noqa: E402
from registry.gunicorn_conf import post_worker_init as _project_post_worker_init  # noqa: E402


def post_worker_init(worker):
    if _project_post_worker_init is not None:
        _project_post_worker_init(worker)
    path = os.environ.get("BENCH_REQUEST_LOG")
    if path:
        handler = logging.FileHandler(f"{path}.{os.getpid()}", encoding="utf-8")
        handler.setFormatter(JsonLines())
        logger = logging.getLogger("registry.requests")
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
