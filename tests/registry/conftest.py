"""The app on each backend, a controllable clock, and a client that speaks as a unit."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from registry import create_app
from registry.config import TestingConfig
from registry.migrate import upgrade
from registry.services.units import OPERATOR, create_unit


class Clock:
    """The registry's time in tests: fixed unless moved, so expiry and promotion are exact."""

    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock():
    return Clock(datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc))  # 09:00 Beijing


@pytest.fixture
def app(database_url, tmp_path, clock):
    upgrade(database_url)
    app = create_app({**{k: getattr(TestingConfig, k) for k in dir(TestingConfig) if k.isupper()},
                      "DATABASE_URL": database_url, "LEDGER_KEY_FILE": str(tmp_path / "ledger.key"),
                      "CLOCK": clock})
    yield app
    app.extensions["registry.db"].dispose()


@pytest.fixture
def session(app):
    s = app.extensions["registry.db"].sessions()
    yield s
    s.close()


class As:
    """A test client bound to one unit's token."""

    def __init__(self, client, code: str, token: str):
        self.client, self.code, self.token = client, code, token

    def _headers(self, headers):
        return {"Authorization": f"Bearer {self.token}", **(headers or {})}

    def get(self, path, **kw):
        return self.client.get(path, headers=self._headers(kw.pop("headers", None)), **kw)

    def post(self, path, json=None, **kw):
        return self.client.post(path, json=json, headers=self._headers(kw.pop("headers", None)), **kw)

    def patch(self, path, json=None, **kw):
        return self.client.patch(path, json=json, headers=self._headers(kw.pop("headers", None)), **kw)


@pytest.fixture
def make_unit(app, session):
    client = app.test_client()

    def make(code: str, kind: str, parent: str | None = None, name: str | None = None) -> As:
        with app.app_context():
            issued = create_unit(session, OPERATOR, code, name or f"{code} 单位", kind, parent)
        return As(client, code, issued.token)
    return make


@pytest.fixture
def units(make_unit):
    """A small hierarchy: Shanghai High Court over Baoshan and Yangpu courts; a police unit; an auditor."""
    made = {
        "admin": make_unit("OPERATOR", "admin"),
        "high": make_unit("SH-HIGH-COURT", "court", name="上海市高级人民法院"),
    }
    made["baoshan"] = make_unit("SH-BAOSHAN-COURT", "court", "SH-HIGH-COURT", "上海市宝山区人民法院")
    made["yangpu"] = make_unit("SH-YANGPU-COURT", "court", "SH-HIGH-COURT", "上海市杨浦区人民法院")
    made["wuxi"] = make_unit("JS-WUXI-COURT", "court", name="无锡市中级人民法院")
    made["police"] = make_unit("SH-POLICE-ECON", "police", name="上海市公安局经侦总队")
    made["auditor"] = make_unit("AUDIT-1", "auditor", name="审计")
    return made
