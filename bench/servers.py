"""The service and the baselines under gunicorn on loopback, each in its own process group."""
from __future__ import annotations

import glob
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Iterator

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVICE = "wsgi:app"
BASELINE = "bench.baseline_app:baseline_app()"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Gunicorn:
    """One app under gunicorn with 2 sync workers (the service's production setting), logging each request."""

    name: str
    app: str
    database_url: str
    key_file: str
    work: str
    workers: int = 2
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    root: str = ROOT  # the checkout whose code is served (see bench.compare)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def request_log(self) -> str:
        return os.path.join(self.work, f"requests-{self.name}")

    def start(self) -> "Gunicorn":
        env = {**os.environ, "REGISTRY_DATABASE_URL": self.database_url,
               "REGISTRY_LEDGER_KEY_FILE": self.key_file, "BENCH_REQUEST_LOG": self.request_log}
        with open(os.path.join(self.work, f"gunicorn-{self.name}.log"), "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", os.path.join(ROOT, "bench", "gunicorn_conf.py"),
                 "-w", str(self.workers), "-k", "sync", "-b", f"127.0.0.1:{self.port}", "--timeout", "300",
                 "--graceful-timeout", "10", self.app],
                cwd=self.root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_ready()
        return self

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"{self.name} exited: {self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=5) as response:
                    if response.status == 200 and len(self.worker_pids()) == self.workers:
                        return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} not ready: {self.log_tail()}")

    def log_tail(self) -> str:
        path = os.path.join(self.work, f"gunicorn-{self.name}.log")
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()[-3000:]

    def worker_pids(self) -> list[int]:
        import psutil
        if self.process is None:
            return []
        return [child.pid for child in psutil.Process(self.process.pid).children()]

    def worker_rss_mb(self) -> list[float]:
        """Resident set size of each worker, in MiB."""
        import psutil
        return [psutil.Process(pid).memory_info().rss / 2**20 for pid in self.worker_pids()]

    def requests_logged(self, request_id_prefix: str) -> Iterator[dict[str, Any]]:
        """The service's request log lines whose client request id (X-Request-Id) starts with the prefix."""
        for path in glob.glob(f"{self.request_log}.*"):
            with open(path, encoding="utf-8") as f:
                for line in f:
                    if f'"client_request_id": "{request_id_prefix}' in line:
                        yield json.loads(line)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def call(base: str, token: str | None, method: str, path: str, body: Any = None,
         timeout: float = 120) -> tuple[int, bytes]:
    """One request from the bench process itself (setup and checks, never measured load)."""
    data = None if body is None else json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"{base}{path}", data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()
