"""`seizure-registry demo`: the railway-yard case, played through the HTTP API on a fresh database."""
from __future__ import annotations

import os
import random
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import click

from .rules import BEIJING

YARD = "上海铁路东站货场"
OWNER = "上海某金属贸易有限公司"
TARGET = Decimal("496.8014")
UNITS = [("SH-HIGH-COURT", "上海市高级人民法院", "court", None),
         ("SH-BAOSHAN-COURT", "上海市宝山区人民法院", "court", "SH-HIGH-COURT"),
         ("SH-YANGPU-COURT", "上海市杨浦区人民法院", "court", "SH-HIGH-COURT"),
         ("JS-WUXI-COURT", "江苏省无锡市中级人民法院", "court", None),
         ("ZJ-NINGBO-COURT", "浙江省宁波市中级人民法院", "court", None),
         ("SH-PSB-ECON", "上海市公安局经济犯罪侦查总队", "police", None)]


class DemoClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, tzinfo=BEIJING).astimezone(timezone.utc)

    def __call__(self) -> datetime:
        return self.now

    def wait(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def beijing(instant: str) -> str:
    return datetime.fromisoformat(instant).astimezone(BEIJING).strftime("%Y-%m-%d %H:%M Beijing")


def say(text: str = "") -> None:
    click.echo(text)


class Story:
    """The demo's narrator: calls the API as a unit and fails loudly if the registry answers otherwise."""

    def __init__(self, app: Any, clock: DemoClock):
        self.app, self.client, self.clock, self.tokens = app, app.test_client(), clock, {}

    def when(self) -> str:
        return self.clock.now.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")

    def call(self, unit: str, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        response = self.client.open(f"/api/v1{path}", method=method, json=body,
                                    headers={"Authorization": f"Bearer {self.tokens[unit]}"})
        if response.status_code != expect:
            raise click.ClickException(f"{method} {path} answered {response.status_code}: {response.get_json()}")
        return response.get_json()


def _yard(rng: random.Random) -> list[dict[str, str]]:
    """320 stacks; the 21 stacks Baoshan's case will take (10..30) weigh exactly 496.8014 t together."""
    weights = [Decimal(rng.randint(220000, 260000)) / 10000 for _ in range(320)]
    clear = range(9, 30)
    weights[29] = TARGET - sum(weights[i] for i in clear if i != 29)
    return [{"card_no": f"ZJ-AL-{i + 1:04d}", "custodian": YARD, "commodity": "A00铝锭", "owner": OWNER,
             "weight_t": f"{w:.4f}", "location": f"{'ABCD'[i // 80]}区-{i % 80 // 10 + 1:02d}排-{i % 10 + 1:02d}垛"}
            for i, w in enumerate(weights)]


def play(database_url: str | None, folder: str):
    """Play the story on a fresh database and return the app, so tests can audit what it left.

    `folder` holds the demo's signing key, and its SQLite database unless `database_url` names one."""
    from . import create_app
    from .services.units import OPERATOR, create_unit

    url = database_url or f"sqlite:///{os.path.join(folder, 'demo.db')}"
    clock = DemoClock()
    app = create_app({"DATABASE_URL": url, "LEDGER_KEY_FILE": os.path.join(folder, "ledger.key"), "CLOCK": clock,
                      "LEDGER_ORIGIN": "demo.seizure-registry.local/ledger"}, upgrade=True)
    story = Story(app, clock)
    session = app.extensions["registry.db"].sessions()
    with app.app_context():
        for code, name, kind, parent in UNITS:
            story.tokens[code] = create_unit(session, OPERATOR, code, name, kind, parent).token
        story.tokens["AUDIT"] = create_unit(session, OPERATOR, "AUDIT", "审计员", "auditor", None).token
    session.close()
    _act(story)
    return app


def _act(story: Story) -> None:
    say(f"== {story.when()}  The yard ==")
    stacks = _yard(random.Random(20240113))
    lots = story.call("SH-BAOSHAN-COURT", "POST", "/lots", {"lots": stacks}, 201)["lots"]
    by_card = {lot["card_no"]: lot for lot in lots}
    ids = lambda a, b: [lots[i]["id"] for i in range(a - 1, b)]  # noqa: E731  stacks a..b, 1-based
    total = sum(Decimal(lot["weight_t"]) for lot in lots)
    say(f"{len(lots)} stacks of A00 aluminium ingots registered at {YARD}, {total} t in all "
        f"({lots[0]['card_no']} … {lots[-1]['card_no']}).")
    cases = {}
    for unit, number, kind in [("JS-WUXI-COURT", "(2025)苏02执保88号", "preservation"),
                               ("SH-PSB-ECON", "沪公经立字〔2025〕77号", "criminal"),
                               ("SH-BAOSHAN-COURT", "(2025)沪0113执1234号", "execution"),
                               ("ZJ-NINGBO-COURT", "(2025)浙02执556号", "execution")]:
        body = {"number": number, "kind": kind, "applicant": "债权人", "respondent": OWNER}
        cases[unit] = story.call(unit, "POST", "/cases", body, 201)
    say()
    say(f"== {story.when()}  Seizures, in the order they reach the registry ==")
    seize = lambda unit, lot_ids, doc, **kw: story.call(unit, "POST", "/seizures", {  # noqa: E731
        "case_id": cases[unit]["id"], "kind": kw.get("kind", "seal"), "document_no": doc, "lot_ids": lot_ids,
        "served_at": story.clock.now.isoformat(), **({"term_end": kw["term_end"]} if "term_end" in kw else {})}, 201)
    wuxi = seize("JS-WUXI-COURT", ids(1, 6) + ids(31, 32), "(2025)苏02执保88号之一", term_end="2026-04-30")
    say(f"Wuxi court seals stacks 1–6 and 31–32 until 2026-04-30: rank 1 on all 8 (seizure {wuxi['id']}).")
    story.clock.wait(hours=2)
    police = seize("SH-PSB-ECON", ids(7, 8) + ids(200, 210), "沪公经扣字〔2025〕12号", kind="distrain")
    say(f"Shanghai police (criminal case) distrain stacks 7–8 and 200–210: rank 1 (seizure {police['id']}).")
    story.clock.wait(days=1)
    baoshan = seize("SH-BAOSHAN-COURT", ids(1, 30), "(2025)沪0113执1234号之一")
    ranks = {lot["rank"] for lot in baoshan["lots"] if lot["status"] == "queued"}
    queued = sum(1 for lot in baoshan["lots"] if lot["status"] == "queued")
    say(f"Baoshan court seals stacks 1–30 for its execution case: effective on {30 - queued}, "
        f"queued (轮候) on {queued} behind earlier seizures (rank {sorted(ranks)}).")
    story.clock.wait(hours=3)
    ningbo = seize("ZJ-NINGBO-COURT", ids(25, 32), "(2025)浙02执556号之一")
    say(f"Ningbo court seals stacks 25–32: queued on all {len(ningbo['lots'])} — behind Baoshan on 25–30, "
        "behind Wuxi on 31–32.")
    wuxi_civil = seize("JS-WUXI-COURT", ids(205, 206), "(2025)苏02执保88号之二")
    flags = story.call("SH-BAOSHAN-COURT", "GET", f"/lots/{ids(205, 205)[0]}")["flags"]
    say(f"Wuxi also seals stacks 205–206 behind the police: they are flagged {flags} (seizure {wuxi_civil['id']}).")
    objection = story.call("SH-BAOSHAN-COURT", "POST", f"/lots/{ids(9, 9)[0]}/objections",
                           {"document_no": "(2025)沪0113执异7号", "claimant": "上海某物流有限公司"}, 201)
    say(f"A logistics company claims stack 9 as its own: Baoshan court records the objection ({objection['id']}).")

    say()
    story.clock.wait(days=5)
    say(f"== {story.when()}  The case moves up ==")
    baoshan_case = cases["SH-BAOSHAN-COURT"]["id"]
    story.call("SH-HIGH-COURT", "POST", f"/cases/{baoshan_case}/transfers",
               {"mode": "elevate", "to_unit": "SH-HIGH-COURT", "document_no": "(2025)沪执监3号"}, 201)
    case = story.call("SH-HIGH-COURT", "POST", f"/cases/{baoshan_case}/transfers",
                      {"mode": "assist", "to_unit": "SH-YANGPU-COURT", "document_no": "(2025)沪执监3号之一"}, 201)
    say(f"The Shanghai High Court elevates case {case['number']} (提级执行): it now acts for it, with "
        f"{', '.join(case['assisting_units'])} assisting (协同执行). Every seizure keeps its rank.")
    _deliver(story, case, [lot["card_no"] for lot in stacks[:30]], by_card)
    _expire(story, cases)
    _close(story)


def _deliver(story: Story, case: dict, cards: list[str], by_card: dict) -> None:
    say()
    story.clock.wait(days=1, hours=16, minutes=30)
    say(f"== {story.when()}  At the yard at dawn: the Yangpu team checks its 30 card numbers ==")
    check = story.call("SH-YANGPU-COURT", "POST", "/executions/check",
                       {"case_id": case["id"], "card_nos": cards, "custodian": YARD})
    for lot in check["lots"]:
        for c in lot["conflicts"]:
            until = f", until {c['term_end']}" if c["term_end"] else ""
            holder = f"held by {c['holder_case_number']} ({c['holder_unit_name']}{until})" if c["holder_case_id"] \
                else f"raised by {c['holder_unit_name']}"
            say(f"  {lot['card_no']}  {c['code']:<24} {holder}")
    clear = [lot for lot in check["lots"] if lot["clear"]]
    say(f"  → {len(clear)} of {len(cards)} stacks clear, {check['total_weight_t']} t; the others stay in the yard.")
    delivery = story.call("SH-YANGPU-COURT", "POST", "/executions", {
        "case_id": case["id"], "kind": "delivery", "document_no": "(2025)沪执1234号交付书",
        "lot_ids": [lot["lot_id"] for lot in clear], "recipient": "某银行股份有限公司上海分行"}, 201)
    voided = sum(len(lot["voided"]) for lot in delivery["lots"])
    say(f"One request delivers all {len(delivery['lots'])} clear stacks, {delivery['total_weight_t']} t, "
        f"to the winner; {voided} queued seizures on them are voided.")
    for n in story.call("ZJ-NINGBO-COURT", "GET", "/notifications")["items"]:
        if n["type"] == "voided":
            say(f"  Ningbo is told: its seizure on {n['card_no']} was voided ({beijing(n['at'])}).")


def _expire(story: Story, cases: dict) -> None:
    say()
    story.clock.wait(days=60)
    say(f"== {story.when()}  Nobody acts; time passes ==")
    feed = story.call("ZJ-NINGBO-COURT", "GET", "/notifications")["items"]
    for n in feed:
        if n["type"] == "effective":
            say(f"  Wuxi's seal on {n['card_no']} ended at 24:00 on 2026-04-30 Beijing time; Ningbo's queued "
                f"seizure became effective at that instant ({beijing(n['at'])}), term to {n['term_end']}.")


def _close(story: Story) -> None:
    say()
    checkpoint = story.client.get("/api/v1/ledger/checkpoint",
                                  headers={"Authorization": f"Bearer {story.tokens['AUDIT']}"}).get_data(as_text=True)
    size = checkpoint.splitlines()[1]
    say(f"== The ledger: {size} entries, signed checkpoint ==")
    say("\n".join("  " + line for line in checkpoint.rstrip().splitlines()))
    from .audit import run_audit
    session = story.app.extensions["registry.db"].sessions()
    with story.app.app_context():
        differences, entries = run_audit(session)
    session.close()
    say(f"Audit: replaying all {entries} entries gives exactly the registry's tables: "
        f"{'no differences' if not differences else differences}.")
