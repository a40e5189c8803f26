"""gunicorn settings the registry relies on, applied by `serve` and by `gunicorn -c python:registry.gunicorn_conf`.

Sync workers: on this stack they gave the best throughput and tail latency once a database is involved, and
they are safe only behind a buffering proxy (nginx) that holds slow clients away from them (docs/deploy.md).
The request line may hold a search within every documented limit (three 200-character Chinese filters are
about 5.4 KB percent-encoded), so it gets gunicorn's largest allowed size.

A sync worker tells the arbiter it is alive only between requests, so `timeout` bounds the longest response:
GET /api/v1/ledger/state streams the whole registry state (about 15 s per million ledger entries on 2 cores),
and gunicorn's default of 30 s would kill the worker mid-export on a large registry; raise it as the ledger
grows. Restarts still give requests only `graceful_timeout` to finish: an export cut short fails the
auditor's download, which is simply rerun.
"""
from registry.server import post_worker_init  # noqa: F401  (gc.freeze once the app is loaded)
from registry.server import child_exit, on_exit, on_starting  # noqa: F401  (metrics shared by the workers)

worker_class = "sync"
limit_request_line = 8190
timeout = 120
graceful_timeout = 30
