"""gunicorn settings for the registry; gunicorn reads this file from the working directory.

Sync workers: on this stack they gave the best throughput and tail latency once a database is involved.
The request line may hold a search within every documented limit (three 200-character Chinese filters are
about 5.4 KB percent-encoded), so it gets gunicorn's largest allowed size.

A sync worker tells the arbiter it is alive only between requests, so `timeout` bounds the longest response:
GET /api/v1/ledger/state streams the whole registry state, about 15 s per million ledger entries on 2 cores
(bench: 14 s at 10^6), and gunicorn's default of 30 s would kill the worker mid-export on a large registry.
120 s covers some 8 million entries; raise it as the ledger grows. Restarts still give requests only
`graceful_timeout` to finish: an export cut short fails the auditor's download, which is simply rerun.
"""
from registry.server import post_worker_init  # noqa: E402,F401  (gc.freeze once the app is loaded)

worker_class = "sync"
limit_request_line = 8190
timeout = 120
graceful_timeout = 30
