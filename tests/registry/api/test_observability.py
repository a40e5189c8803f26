"""Metrics at /metrics and the log lines of errors, on both backends (the gunicorn side is in tests/system)."""
from __future__ import annotations

import json

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.exc import OperationalError

from helpers import API, assert_problem, ledger_size, register_lots
from registry.services import ledger_log


def scrape(admin) -> dict[tuple[str, tuple], float]:
    r = admin.get("/metrics")
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.mimetype == "text/plain"
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(r.get_data(as_text=True)) for s in family.samples}


def counted(samples: dict, name: str, **labels: str) -> float:
    return sum(v for (n, have), v in samples.items() if n == name and labels.items() <= dict(have).items())


def test_metrics_count_requests_and_read_the_ledger(app, units):
    admin, court = units["admin"], units["baoshan"]
    before = scrape(admin)
    for _ in range(3):
        assert court.get(f"{API}/units").status_code == 200
    assert_problem(court.get(f"{API}/lots/999999"), 404, "not_found")
    assert_problem(app.test_client().get(f"{API}/units"), 401, "unauthenticated")
    register_lots(court, ["1.0000", "2.0000"], prefix="MET")
    after = scrape(admin)

    def more(**labels: str) -> float:
        name = "registry_http_requests_total"
        return counted(after, name, **labels) - counted(before, name, **labels)
    assert more(endpoint="units.list_units", method="GET", status="200") == 3
    assert more(endpoint="units.list_units", status="401") == 1
    assert more(endpoint="lots.get_lot", status="404") == 1
    assert more(endpoint="lots.register_lots", method="POST", status="201") == 1
    assert more(endpoint="metrics", status="200") == 1  # the first scrape
    assert counted(after, "registry_http_request_duration_seconds_count", endpoint="units.list_units") - \
        counted(before, "registry_http_request_duration_seconds_count", endpoint="units.list_units") == 4
    size = ledger_size(units["auditor"])  # signs a checkpoint for every entry
    ledger = scrape(admin)
    assert ledger[("registry_ledger_entries", ())] == size
    assert ledger[("registry_ledger_unsigned_entries", ())] == 0
    assert 0 <= ledger[("registry_ledger_checkpoint_age_seconds", ())] < 60
    court.post(f"{API}/cases", json={"number": "(2026)沪0113执指1号", "kind": "execution"})
    assert scrape(admin)[("registry_ledger_unsigned_entries", ())] == 1


@pytest.mark.parametrize("who", ["baoshan", "police", "auditor"])
def test_metrics_are_for_admin_tokens_only(app, units, who):
    assert_problem(units[who].get("/metrics"), 403, "forbidden", who)
    assert_problem(app.test_client().get("/metrics"), 401, "unauthenticated")


def test_database_errors_are_counted_and_logged_with_the_request_id(app, units, monkeypatch, capsys):
    admin, reader = units["admin"], units["auditor"]
    before = counted(scrape(admin), "registry_database_errors_total", kind="unavailable")

    def unreachable(*_args):
        raise OperationalError("SELECT 1", {}, ConnectionError("server closed the connection"))
    monkeypatch.setattr(ledger_log, "current_checkpoint", unreachable)
    r = reader.get(f"{API}/ledger/checkpoint")
    assert_problem(r, 503, "unavailable")
    assert counted(scrape(admin), "registry_database_errors_total", kind="unavailable") == before + 1
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    errors = [line for line in lines if line["logger"] == "registry.errors"]
    assert [line["request_id"] for line in errors] == [r.headers["X-Request-Id"]]


def test_an_internal_error_is_logged_with_the_id_the_client_is_told_to_quote(units, monkeypatch, capsys):
    def broken(*_args):
        raise RuntimeError("a bug")
    monkeypatch.setattr(ledger_log, "current_checkpoint", broken)
    r = units["auditor"].get(f"{API}/ledger/checkpoint")
    problem = assert_problem(r, 500, "internal_error")
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    errors = [line for line in lines if line["logger"] == "registry.errors"]
    assert len(errors) == 1 and errors[0]["request_id"] == problem["request_id"] == r.headers["X-Request-Id"]
    assert errors[0]["level"] == "ERROR" and "RuntimeError: a bug" in errors[0]["exception"]
    request = [line for line in lines if line["logger"] == "registry.requests"][-1]
    assert request["request_id"] == problem["request_id"] and request["status"] == 500
    assert request["level"] == "ERROR"
