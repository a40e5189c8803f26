"""Random command sequences through the HTTP API: after every step the tables equal the ledger's replay."""
from __future__ import annotations

import tempfile
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from registry import create_app
from registry.audit import run_audit
from registry.config import TestingConfig
from registry.migrate import upgrade
from registry.services.units import OPERATOR, create_unit

UNITS = [("HIGH", "court", None), ("COURT-A", "court", "HIGH"), ("COURT-B", "court", "HIGH"), ("PSB", "police", None),
         ("ADMIN", "admin", None)]
ACTORS = ["HIGH", "COURT-A", "COURT-B", "PSB"]


class ThroughTheApi(RuleBasedStateMachine):
    """Seize, release, renew, split, dispose, transfer, change units and let time pass, in any order, refused
    or not."""

    folder_root: str | None = None  # pytest's tmp_path for the run, set by the fixture below

    @initialize()
    def fresh_registry(self):
        self._folder = tempfile.TemporaryDirectory(prefix="replay-", dir=self.folder_root)
        folder = self._folder.name
        url = f"sqlite:///{folder}/r.db"
        upgrade(url)
        self.now = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)
        config = {k: getattr(TestingConfig, k) for k in dir(TestingConfig) if k.isupper()}
        self.app = create_app({**config, "DATABASE_URL": url, "LEDGER_KEY_FILE": f"{folder}/k",
                               "CLOCK": lambda: self.now})
        self.session = self.app.extensions["registry.db"].sessions()
        with self.app.app_context():
            self.tokens = {code: create_unit(self.session, OPERATOR, code, code, kind, parent).token
                           for code, kind, parent in UNITS}
        self.client = self.app.test_client()
        lots = self.post("COURT-A", "/lots", {"lots": [
            {"card_no": f"R-{i}", "custodian": "Yard", "commodity": "Al", "weight_t": "10.0000"} for i in range(3)]})
        self.lots = [lot["id"] for lot in lots["lots"]]
        self.cases = {unit: self.post(unit, "/cases", {"number": f"N-{unit}", "kind": kind})["id"]
                      for unit, kind in (("COURT-A", "execution"), ("COURT-B", "preservation"), ("PSB", "criminal"))}
        self.seizures: list[tuple[str, int]] = []

    def teardown(self):
        if hasattr(self, "session"):
            self.session.close()
            self.app.extensions["registry.db"].dispose()
        if hasattr(self, "_folder"):
            self._folder.cleanup()

    def post(self, unit, path, body, method="POST"):
        headers = {"Authorization": f"Bearer {self.tokens[unit]}"}
        response = self.client.open(f"/api/v1{path}", method=method, json=body, headers=headers)
        assert response.status_code < 500, response.get_data(as_text=True)
        return response.get_json() if response.status_code in (200, 201) else None

    @rule(unit=st.sampled_from(ACTORS), name=st.sampled_from(["甲", "乙"]))
    def rename_unit(self, unit, name):
        self.post("ADMIN", f"/units/{unit}", {"name": name}, "PATCH")

    @rule(unit=st.sampled_from(ACTORS), parent=st.sampled_from([None, *ACTORS]))
    def move_unit(self, unit, parent):  # cycles and parents of another kind are refused
        self.post("ADMIN", f"/units/{unit}", {"parent": parent}, "PATCH")

    @rule(unit=st.sampled_from(ACTORS), active=st.booleans())
    def deactivate_or_reactivate_unit(self, unit, active):
        self.post("ADMIN", f"/units/{unit}", {"active": active}, "PATCH")

    @rule(unit=st.sampled_from(["COURT-A", "COURT-B", "PSB"]),
          picks=st.lists(st.integers(0, 2), min_size=1, max_size=3, unique=True),
          days=st.none() | st.integers(1, 400))
    def seize(self, unit, picks, days):
        body = {"case_id": self.cases[unit], "kind": "seal", "document_no": "S", "served_at": self.now.isoformat(),
                "lot_ids": [self.lots[i % len(self.lots)] for i in picks]}
        if days is not None:
            body["term_end"] = (self.now + timedelta(days=days)).date().isoformat()
        made = self.post(unit, "/seizures", body)
        if made:
            self.seizures.append((unit, made["id"]))

    @rule(pick=st.integers(0, 50), by_owner=st.booleans())
    def release(self, pick, by_owner):
        if self.seizures:
            unit, seizure = self.seizures[pick % len(self.seizures)]
            body = {"document_no": "R", "reason": "r"}
            self.post(unit if by_owner else "COURT-B", f"/seizures/{seizure}/release", body)

    @rule(pick=st.integers(0, 50), days=st.integers(1, 900))
    def renew(self, pick, days):
        if self.seizures:
            unit, seizure = self.seizures[pick % len(self.seizures)]
            self.post(unit, f"/seizures/{seizure}/renew", {"document_no": "N", "term_end": (
                self.now + timedelta(days=days)).date().isoformat()})

    @rule(pick=st.integers(0, 50))
    def deliver(self, pick):
        self.post("COURT-A", "/executions", {"case_id": self.cases["COURT-A"], "kind": "delivery", "document_no": "X",
                                             "lot_ids": [self.lots[pick % len(self.lots)]], "recipient": "W",
                                             "override_document_no": "O"})

    @rule(pick=st.integers(0, 50), unit=st.sampled_from(["COURT-A", "COURT-B", "PSB"]))
    def split(self, pick, unit):
        parts = self.post(unit, f"/lots/{self.lots[pick % len(self.lots)]}/split", {
            "document_no": "P", "parts": [{"card_no": f"P{pick}-{len(self.lots)}a", "weight_t": "4.0000"},
                                          {"card_no": f"P{pick}-{len(self.lots)}b", "weight_t": "6.0000"}]})
        if parts:
            self.lots += [lot["id"] for lot in parts["lots"]]

    @rule()
    def assist(self):
        self.post("HIGH", f"/cases/{self.cases['COURT-A']}/transfers",
                  {"mode": "assist", "to_unit": "COURT-B", "document_no": "A"})

    @rule(days=st.integers(0, 800))
    def time_passes(self, days):
        self.now += timedelta(days=days, hours=7)

    @invariant()
    def tables_equal_the_replay_of_the_ledger(self):
        if hasattr(self, "session"):
            self.session.rollback()
            with self.app.app_context():
                assert run_audit(self.session)[0] == []


ThroughTheApi.TestCase.settings = settings(max_examples=25, stateful_step_count=25, deadline=None,
                                           suppress_health_check=[HealthCheck.too_slow], database=None)


class TestStateEqualsReplay(ThroughTheApi.TestCase):
    @pytest.fixture(autouse=True)
    def _under_tmp_path(self, tmp_path):
        ThroughTheApi.folder_root = str(tmp_path)
        yield
        ThroughTheApi.folder_root = None
