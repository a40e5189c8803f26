"""Under gunicorn as the README runs it: one JSON request line per request on stderr, and metrics summed over
every worker (prometheus-client's multiprocess mode in a private folder that is gone after shutdown)."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import urllib.request
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.system.harness import Server, call, make_units

pytestmark = pytest.mark.slow


class DocumentedServer(Server):
    """`gunicorn -c python:registry.gunicorn_conf registry.wsgi:app`, run outside the checkout."""

    def _spawn(self, env: dict[str, str], log: Any) -> subprocess.Popen:
        env = {k: v for k, v in env.items() if k != "PROMETHEUS_MULTIPROC_DIR"}
        return subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "python:registry.gunicorn_conf", "-w", str(self.workers),
             "-b", f"127.0.0.1:{self.port}", "registry.wsgi:app"],
            cwd=os.path.dirname(self.key_file), env=env, stdout=subprocess.DEVNULL, stderr=log,
            start_new_session=True)


def scrape(server: Server, token: str) -> dict[tuple[str, tuple], float]:
    request = urllib.request.Request(f"{server.url}/metrics", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def requests_counted(samples: dict, endpoint: str, status: str) -> float:
    return sum(v for (name, labels), v in samples.items() if name == "registry_http_requests_total"
               and dict(labels).get("endpoint") == endpoint and dict(labels).get("status") == status)


def test_request_log_and_metrics_under_gunicorn(tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # where the server makes its private metrics folder
    url, key_file = f"sqlite:///{tmp_path / 'registry.db'}", str(tmp_path / "ledger.key")
    tokens = make_units(url, key_file, [("OPERATOR", "admin", None), ("COURT", "court", None)])
    server = DocumentedServer(url, key_file, workers=2).start(str(tmp_path))
    try:
        folders = [p for p in tmp_path.iterdir() if p.name.startswith("seizure-registry-metrics-")]
        assert len(folders) == 1 and stat.S_IMODE(folders[0].stat().st_mode) == 0o700
        sent = {}
        for n in range(12):
            sent[f"logtest-{n}"] = call(server.url, tokens["COURT"], "GET", "/units",
                                        headers={"X-Request-Id": f"logtest-{n}"})[0]
        refusals = [("logtest-401", "not-a-token", "GET", "/units", None),
                    ("logtest-403", tokens["COURT"], "POST", "/units", {"code": "X", "name": "x", "kind": "court"}),
                    ("logtest-404", tokens["COURT"], "GET", "/lots/999999", None)]
        for request_id, token, method, path, body in refusals:
            sent[request_id] = call(server.url, token, method, path, body, headers={"X-Request-Id": request_id})[0]
        assert [sent[r[0]] for r in refusals] == [401, 403, 404]
        assert set(sent[f"logtest-{n}"] for n in range(12)) == {200}

        samples = {}
        for _ in range(4):  # every scrape, whichever worker answers it, counts the requests of both
            samples = scrape(server, tokens["OPERATOR"])
            assert requests_counted(samples, "units.list_units", "200") == 12
            assert requests_counted(samples, "units.list_units", "401") == 1
            assert requests_counted(samples, "units.create_unit", "403") == 1
            assert requests_counted(samples, "lots.get_lot", "404") == 1
        assert samples[("registry_ledger_entries", ())] == 2  # the two units
        assert list(folders[0].glob("counter_*.db"))  # the workers count in shared files
        durations = [v for (name, labels), v in samples.items() if name.endswith("_duration_seconds_count")
                     and ("endpoint", "units.list_units") in labels]
        assert durations == [13]
    finally:
        server.stop()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("seizure-registry-metrics-")]

    with open(server.log_path, encoding="utf-8") as f:
        logged = f.read()
    assert tokens["COURT"].split(".")[1] not in logged and tokens["OPERATOR"].split(".")[1] not in logged
    lines = [json.loads(line) for line in logged.splitlines() if line.startswith("{")]
    requests = [line for line in lines if line["logger"] == "registry.requests"]
    by_client_id = {}
    for line in requests:
        if line.get("client_request_id", "").startswith("logtest-"):
            assert line["client_request_id"] not in by_client_id, line  # one line per request
            by_client_id[line["client_request_id"]] = line
    assert set(by_client_id) == set(sent)
    for request_id, line in by_client_id.items():
        assert line["status"] == sent[request_id] and line["method"] in ("GET", "POST"), line
        assert len(line["request_id"]) == 32 and line["request_id"] != request_id
        assert isinstance(line["ms"], float) and line["client"] == "127.0.0.1"
    assert by_client_id["logtest-0"]["unit"] == "COURT" and by_client_id["logtest-401"]["unit"] is None
    assert [by_client_id[f"logtest-{s}"].get("refused") for s in (401, 403, 404)] == \
        ["unauthenticated", "forbidden", None]
    failed = [line for line in lines if line["logger"] == "registry.auth"]
    assert [line["request_id"] for line in failed] == [by_client_id["logtest-401"]["request_id"]]
    assert failed[0]["event"] == "authentication_failed"
