"""gunicorn settings for the registry; gunicorn reads this file from the working directory.

Sync workers: on this stack they gave the best throughput and tail latency once a database is involved.
The request line may hold a search within every documented limit (three 200-character Chinese filters are
about 5.4 KB percent-encoded), so it gets gunicorn's largest allowed size.
"""
worker_class = "sync"
limit_request_line = 8190
graceful_timeout = 30
