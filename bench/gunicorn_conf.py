"""gunicorn settings for the bench: the project's own gunicorn.conf.py, plus the request log in a file.

gunicorn reads only one config file, and the bench must pass its own, so it runs the project's file first:
servers under the bench are configured as in production (the command line then sets workers, bind and a
timeout long enough for the slowest figure). The service logs each request as JSON, with its server-side
`ms`, on the `registry.requests` logger, which has no handler under gunicorn; each worker sends it to a file.
"""
import logging
import os

_PROJECT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "gunicorn.conf.py")
if os.path.exists(_PROJECT):
    with open(_PROJECT, encoding="utf-8") as _f:
        exec(compile(_f.read(), _PROJECT, "exec"))

_project_post_worker_init = globals().get("post_worker_init")


def post_worker_init(worker):
    if _project_post_worker_init is not None:
        _project_post_worker_init(worker)
    path = os.environ.get("BENCH_REQUEST_LOG")
    if path:
        handler = logging.FileHandler(f"{path}.{os.getpid()}", encoding="utf-8")
        logger = logging.getLogger("registry.requests")
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
