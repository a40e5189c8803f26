"""The service's edges, on both backends: the failed-authentication limiter, trusted proxies and hosts, and
401 before any other answer for a request without a valid token."""
from __future__ import annotations

import ipaddress
from types import SimpleNamespace

import pytest

from helpers import API, assert_problem, ledger_size, lot_body
from registry import create_app
from registry.api import auth
from registry.config import TestingConfig
from registry.proxies import client_address
from registry.services.units import OPERATOR, revoke_tokens
from registry.startup import StartupError

LIMIT = 5
GUESSES = iter(range(1, 10**6))


def guess() -> dict:
    """A well-formed bearer token no unit holds, with a token id of its own (so only its address counts)."""
    return {"Authorization": f"Bearer {next(GUESSES):016x}.{'x' * 43}"}


@pytest.fixture
def instance(app):
    """Another app instance on the same database, with its own settings (a limit of 5 unless given)."""
    made = []

    def make(**settings):
        base = {k: getattr(TestingConfig, k) for k in dir(TestingConfig) if k.isupper()}
        other = create_app({**base, "DATABASE_URL": app.config["DATABASE_URL"], "CLOCK": app.config["CLOCK"],
                            "LEDGER_KEY_FILE": app.config["LEDGER_KEY_FILE"], "AUTH_FAILURES_PER_MINUTE": LIMIT,
                            **settings})
        made.append(other)
        return other.test_client()
    yield make
    for other in made:
        other.extensions["registry.db"].dispose()


def bearer(unit) -> dict:
    return {"Authorization": f"Bearer {unit.token}"}


def fail_until_limited(client, headers=None, **kw) -> None:
    """LIMIT failures from one client are 401s; the next is a 429."""
    for attempt in range(LIMIT):
        r = client.get(f"{API}/units", headers={**guess(), **(headers or {})}, **kw)
        assert_problem(r, 401, "unauthenticated", attempt)
    assert_problem(client.get(f"{API}/units", headers={**guess(), **(headers or {})}, **kw), 429, "rate_limited")


def retry_after(r) -> int:
    assert r.status_code == 429, r.get_data(as_text=True)
    return int(r.headers["Retry-After"])


# -- the limiter --------------------------------------------------------------------------------------------------
def test_failures_slow_guessing_but_never_lock_out_a_valid_token(instance, units, monkeypatch):
    client = instance()
    good = bearer(units["baoshan"])
    fail_until_limited(client)
    assert 55 <= retry_after(client.get(f"{API}/units", headers=guess())) <= 60
    for headers in ({}, {"Authorization": "Basic abc"}, {"Authorization": "Bearer short"}, guess()):
        assert_problem(client.get(f"{API}/lots", headers=headers), 429, "rate_limited", headers)
    # the colleague behind the same address reads and writes as ever
    r = client.get(f"{API}/units", headers=good)
    assert r.status_code == 200, r.get_data(as_text=True)
    size = ledger_size(units["auditor"])
    r = client.post(f"{API}/lots", json={"lots": [lot_body("EDGE-1", "1.0000")]}, headers=good)
    assert r.status_code == 201, r.get_data(as_text=True)
    assert ledger_size(units["auditor"]) == size + 1
    # a refused write changes nothing
    assert_problem(client.post(f"{API}/lots", json={"lots": [lot_body("EDGE-2", "1.0000")]}, headers=guess()),
                   429, "rate_limited", "write")
    assert ledger_size(units["auditor"]) == size + 1
    # another address is not affected, and the public paths stay public
    assert_problem(client.get(f"{API}/units", headers=guess(), environ_base={"REMOTE_ADDR": "10.9.9.9"}), 401,
                   "unauthenticated", "elsewhere")
    assert client.get("/healthz").status_code == 200
    assert client.get(f"{API}/openapi.json").status_code == 200
    # Retry-After tells how long: once the window has passed, a failure is a 401 again
    start = auth.time.monotonic()
    monkeypatch.setattr(auth, "time", SimpleNamespace(monotonic=lambda: start + 30))
    assert 25 <= retry_after(client.get(f"{API}/units", headers=guess())) <= 30
    monkeypatch.setattr(auth, "time", SimpleNamespace(monotonic=lambda: start + 61))
    assert_problem(client.get(f"{API}/units", headers=guess()), 401, "unauthenticated", "after the window")


def test_failures_for_one_token_id_are_limited_from_every_address(instance, units):
    client = instance()
    court = units["baoshan"]
    token_id = court.token.partition(".")[0]
    wrong_secret = {"Authorization": f"Bearer {token_id}.{'y' * 43}"}
    for n in range(LIMIT):
        r = client.get(f"{API}/units", headers=wrong_secret, environ_base={"REMOTE_ADDR": f"10.0.0.{n}"})
        assert_problem(r, 401, "unauthenticated", n)
    r = client.get(f"{API}/units", headers=wrong_secret, environ_base={"REMOTE_ADDR": "10.0.1.1"})
    assert 1 <= retry_after(r) <= 60
    # the token's holder is not refused, nor is another token id from a fresh address
    assert client.get(f"{API}/units", headers=bearer(court), environ_base={"REMOTE_ADDR": "10.0.1.1"}).status_code \
        == 200
    assert_problem(client.get(f"{API}/units", headers=guess(), environ_base={"REMOTE_ADDR": "10.0.2.2"}), 401,
                   "unauthenticated", "another token id")


def test_a_revoked_token_on_the_write_fast_path_counts_as_a_failure(instance, units, session, app):
    client = instance()
    court = units["baoshan"]
    body = {"lots": [lot_body("EDGE-R", "1.0000")]}
    assert client.get(f"{API}/units", headers=bearer(court)).status_code == 200  # now a known token
    with app.app_context():
        revoke_tokens(session, OPERATOR, unit_code=court.code)
    size = ledger_size(units["auditor"])
    for attempt in range(LIMIT):
        assert_problem(client.post(f"{API}/lots", json=body, headers=bearer(court)), 401, "unauthenticated",
                       attempt)
    r = client.post(f"{API}/lots", json=body, headers=bearer(court))
    assert 1 <= retry_after(r) <= 60
    assert ledger_size(units["auditor"]) == size


# -- trusted proxies ----------------------------------------------------------------------------------------------
def test_without_trusted_proxies_x_forwarded_for_is_ignored(instance, units):
    client = instance()
    fail_until_limited(client, headers={"X-Forwarded-For": "10.1.1.1"})
    for spoofed in ("10.2.2.2", "10.3.3.3, 10.4.4.4"):
        assert_problem(client.get(f"{API}/units", headers={**guess(), "X-Forwarded-For": spoofed}), 429,
                       "rate_limited", spoofed)
    r = client.get(f"{API}/units", headers={**bearer(units["auditor"]), "X-Forwarded-For": "10.2.2.2"})
    assert r.status_code == 200


def test_behind_one_trusted_proxy_clients_are_counted_apart(instance, units):
    client = instance(TRUSTED_PROXIES="1")
    fail_until_limited(client, headers={"X-Forwarded-For": "203.0.113.7"})
    # what the client itself wrote left of the proxy's entry does not let it escape
    assert_problem(client.get(f"{API}/units", headers={**guess(), "X-Forwarded-For": "10.8.8.8, 203.0.113.7"}), 429,
                   "rate_limited", "spoofed left of the proxy")
    assert_problem(client.get(f"{API}/units", headers={**guess(), "X-Forwarded-For": "198.51.100.9"}), 401,
                   "unauthenticated", "the second client")
    r = client.get(f"{API}/units", headers={**bearer(units["auditor"]), "X-Forwarded-For": "203.0.113.7"})
    assert r.status_code == 200


def test_behind_trusted_networks_the_first_untrusted_address_from_the_right_is_the_client(instance, units):
    client = instance(TRUSTED_PROXIES="127.0.0.0/8, 10.0.0.0/8")
    fail_until_limited(client, headers={"X-Forwarded-For": "203.0.113.7, 10.0.0.2"})
    assert_problem(client.get(f"{API}/units", headers={**guess(), "X-Forwarded-For": "203.0.113.7"}), 429,
                   "rate_limited", "same client, one hop")
    assert_problem(client.get(f"{API}/units", headers={**guess(), "X-Forwarded-For": "198.51.100.9, 10.0.0.2"}), 401,
                   "unauthenticated", "another client")
    # a peer outside the trusted networks is the client, whatever it forwards
    outside = {"REMOTE_ADDR": "192.0.2.50"}
    fail_until_limited(client, headers={"X-Forwarded-For": "198.51.100.1"}, environ_base=outside)
    assert_problem(client.get(f"{API}/units", headers={**guess(), "X-Forwarded-For": "198.51.100.2"},
                              environ_base=outside), 429, "rate_limited", "untrusted peer")


NETWORKS = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("fd00::/8"))
CLIENTS = [
    ("10.0.0.1", "203.0.113.7", "203.0.113.7"),
    ("10.0.0.1", "198.51.100.1, 203.0.113.7", "203.0.113.7"),
    ("10.0.0.1", "203.0.113.7, 10.0.0.9, 10.0.0.8", "203.0.113.7"),
    ("10.0.0.1", "10.0.0.9, 10.0.0.8", "10.0.0.9"),  # every hop trusted: the leftmost
    ("10.0.0.1", "", "10.0.0.1"),
    ("10.0.0.1", "not-an-address, 10.0.0.8", "10.0.0.8"),
    ("10.0.0.1", "203.0.113.7, not-an-address", "10.0.0.1"),
    ("fd00::1", "2001:db8::5, fd00::2", "2001:db8::5"),
    ("192.0.2.1", "203.0.113.7", "192.0.2.1"),  # an untrusted peer forwards nothing believed
    ("192.0.2.1", "", "192.0.2.1"),
]


@pytest.mark.parametrize("peer, forwarded, client", CLIENTS)
def test_client_address_walks_forwarded_for_from_the_right(peer, forwarded, client):
    assert client_address(peer, forwarded, NETWORKS) == client


@pytest.mark.parametrize("name, value", [("TRUSTED_PROXIES", "yes"), ("TRUSTED_PROXIES", "10.0.0.1/8"),
                                         ("TRUSTED_PROXIES", "1, 10.0.0.0/8"), ("TRUSTED_PROXIES", "-1"),
                                         ("TRUSTED_HOSTS", "https://registry.example.cn/"),
                                         ("TRUSTED_HOSTS", "a.example.cn b.example.cn")])
def test_a_malformed_proxy_or_host_setting_stops_the_start(instance, name, value):
    with pytest.raises(StartupError) as raised:
        instance(**{name: value})
    message = str(raised.value)
    assert raised.value.code == "bad_setting"
    assert message.startswith(f"REGISTRY_{name}: ") and "\n" not in message


# -- trusted hosts ------------------------------------------------------------------------------------------------
def test_redirects_never_reflect_an_untrusted_host(instance):
    slashes = f"{API}/docs//assets/swagger-ui.css"  # werkzeug merges the slashes with a redirect
    open_client = instance()
    assert "evil.example" in open_client.get(slashes, headers={"Host": "evil.example"}).headers["Location"]
    client = instance(TRUSTED_HOSTS="registry.example.cn, .court.example.cn")
    r = client.get(slashes, headers={"Host": "evil.example"})
    problem = assert_problem(r, 400, "untrusted_host")
    assert "Location" not in r.headers and "evil.example" not in r.get_data(as_text=True), problem
    assert_problem(client.get(f"{API}/units", headers={"Host": "evil.example"}), 400, "untrusted_host")
    for host in ("registry.example.cn", "registry.example.cn:8443", "sh.court.example.cn"):
        r = client.get(slashes, headers={"Host": host})
        assert r.status_code == 308 and r.headers["Location"].startswith(f"http://{host}/"), host
        assert client.get("/healthz", headers={"Host": host}).status_code == 200


# -- 401 first ----------------------------------------------------------------------------------------------------
WITHOUT_TOKEN = [
    ("GET", f"{API}/no-such-resource", None),
    ("GET", f"{API}/lots/999999", None),
    ("GET", f"{API}/lots/not-a-number", None),
    ("DELETE", f"{API}/lots", None),
    ("PUT", f"{API}/units/OPERATOR", None),
    ("GET", f"{API}/lots?limit=-1", None),
    ("GET", f"{API}/lots?colour=red", None),
    ("GET", f"{API}/units/OPERATOR?x=1", None),
    ("GET", f"{API}/lots?card_no=%00", None),
    ("GET", f"{API}/lots/%00", None),
    ("POST", f"{API}/lots", {"lots": "not a list"}),
    ("POST", f"{API}/cases", {}),
    ("POST", f"{API}/seizures/1/release", {"document_no": ""}),
    ("GET", "/metrics", None),
]


@pytest.mark.parametrize("method, path, body", WITHOUT_TOKEN)
def test_a_request_without_a_valid_token_gets_401_before_any_other_check(app, units, method, path, body):
    client = app.test_client()
    for headers in ({}, guess(), {"Authorization": "Bearer"}):
        r = client.open(path, method=method, json=body, headers=headers)
        assert_problem(r, 401, "unauthenticated", (method, path, headers))
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
