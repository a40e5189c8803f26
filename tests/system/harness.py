"""Real servers and real client processes for the system tests: gunicorn against a shared database."""
from __future__ import annotations

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
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """One app instance under gunicorn (sync workers), started in its own process group."""

    database_url: str
    key_file: str
    workers: int = 2
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    log_path: str | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, log_dir: str) -> "Server":
        env = {**os.environ, "REGISTRY_DATABASE_URL": self.database_url, "REGISTRY_LEDGER_KEY_FILE": self.key_file,
               "REGISTRY_AUTH_FAILURES_PER_MINUTE": "100000"}
        self.log_path = os.path.join(log_dir, f"server-{self.port}.log")
        with open(self.log_path, "ab") as log:  # the child keeps its own descriptor
            self.process = self._spawn(env, log)
        self.wait_ready()
        return self

    def _spawn(self, env: dict[str, str], log: Any) -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", str(self.workers), "-k", "sync", "-b", f"127.0.0.1:{self.port}",
             "--graceful-timeout", "10", "--timeout", "60", "wsgi:app"],
            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=2) as response:
                    if response.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                time.sleep(0.1)
        raise RuntimeError(f"server not ready: {self.log()}")

    def log(self) -> str:
        if self.log_path and os.path.exists(self.log_path):
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()[-4000:]
        return ""

    def kill(self) -> None:
        """kill -9 of the whole process group: master and workers die mid-request."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()


def call(base: str, token: str, method: str, path: str, body: Any = None, timeout: float = 30,
         headers: dict[str, str] | None = None) -> tuple[int, Any]:
    """One HTTP request; returns (status, parsed JSON or text). Connection errors raise OSError."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{base}/api/v1{path}", data=data, method=method,
                                     headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json",
                                              **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, _parse(response.read(), response.headers.get_content_type())
    except urllib.error.HTTPError as error:
        return error.code, _parse(error.read(), error.headers.get_content_type())


def _parse(raw: bytes, content_type: str) -> Any:
    is_json = content_type in ("application/json", "application/problem+json")
    return json.loads(raw) if is_json and raw else raw.decode()


def make_units(database_url: str, key_file: str, units: list[tuple[str, str, str | None]]) -> dict[str, str]:
    """Create units directly through the service layer (as the operator would); returns their tokens."""
    from registry import create_app
    from registry.migrate import upgrade
    from registry.services.units import OPERATOR, create_unit
    upgrade(database_url)
    app = create_app({"DATABASE_URL": database_url, "LEDGER_KEY_FILE": key_file})
    session = app.extensions["registry.db"].sessions()
    tokens = {}
    with app.app_context():
        for code, kind, parent in units:
            tokens[code] = create_unit(session, OPERATOR, code, code, kind, parent).token
    session.close()
    app.extensions["registry.db"].dispose()
    return tokens


def audit(database_url: str, key_file: str) -> tuple[list[str], int]:
    from registry import create_app
    from registry.audit import run_audit
    app = create_app({"DATABASE_URL": database_url, "LEDGER_KEY_FILE": key_file})
    session = app.extensions["registry.db"].sessions()
    with app.app_context():
        result = run_audit(session)
    session.close()
    app.extensions["registry.db"].dispose()
    return result
