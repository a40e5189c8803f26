"""`seizure-registry db canonicalize` on both backends, over a registry written before identifiers had one
canonical form: variants are rewritten, one ledger entry each; records that would become one, and values that
cannot be identifiers, block it and nothing changes until the operator names their forms; afterwards the
installed `seizure-registry audit` passes and every variant a clerk types finds (or collides with) one record.

The old registry is made the way the service wrote it then: its use cases called with the text as typed (the
canonical forms are applied at the edges, which an old release did not have).
"""
from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from registry import create_app
from registry.cli import main
from registry.config import Config
from registry.models import LedgerEntry
from registry.services.cases import open_case
from registry.services.lots import register_lots
from registry.services.units import OPERATOR, create_unit

YARD = "上海铁路某货场"


@pytest.fixture
def run(database_url, tmp_path, monkeypatch, capsys):
    """A command against a fresh database: (exit code, stdout lines, stderr lines); `audit` as the installed
    command, in a process of its own."""
    settings = {"DATABASE_URL": database_url, "LEDGER_KEY_FILE": str(tmp_path / "ledger.key")}
    for name, value in settings.items():
        monkeypatch.setenv(f"REGISTRY_{name}", value)
        monkeypatch.setattr(Config, name, value)

    def command(*argv: str) -> tuple[int, list[str], list[str]]:
        if argv[0] == "audit":
            done = subprocess.run([str(Path(sys.executable).parent / "seizure-registry"), *argv],
                                  capture_output=True, text=True, timeout=120, cwd=tmp_path)
            return done.returncode, done.stdout.splitlines(), done.stderr.splitlines()
        capsys.readouterr()
        code = main(list(argv))
        out, err = capsys.readouterr()
        return code, out.splitlines(), err.splitlines()
    command.settings = settings
    assert command("db", "upgrade")[0] == 0
    return command


def lot(card_no: str, custodian: str = YARD, owner: str = "某金属贸易有限公司") -> dict:
    return {"card_no": card_no, "custodian": custodian, "commodity": "铝锭", "weight_t": Decimal("2.5000"),
            "location": "A区", "owner": owner, "property_class": "movable"}


@pytest.fixture
def old_registry(run):
    """Lots and cases as an old release stored them, typed every way; returns their ids by name."""
    app = create_app(run.settings)
    try:
        with app.app_context(), app.extensions["registry.db"].sessions() as session:
            create_unit(session, OPERATOR, "COURT", "上海市宝山区人民法院", "court", None)
            ids = register_lots(session, "COURT", [
                lot("AL-2025-0001"),                         # canonical already
                lot("ＡＬ－２０２５－０００２", YARD + " "),  # full-width, at the yard with a trailing space
                lot("al‐2025‐0003", owner=" 某金属贸易有限公司  "),
                lot("AL-2025-0009"), lot(" al-2025-0009"),   # twins: one card once canonical
                lot("AL-2025\u200b-0010"),                   # a zero-width space: cannot be a card number
            ]).ids
            cases = [open_case(session, "COURT", {"number": number, "kind": "execution", "applicant": "",
                                                  "respondent": ""}).id
                     for number in ("(2025)沪0113执1号", "〔2025〕沪0113执1号", "(2025) 沪0113执2号")]
    finally:
        app.extensions["registry.db"].dispose()
    return {"lots": ids, "cases": cases}


def ledger(run) -> list[dict]:
    app = create_app(run.settings)
    try:
        with app.app_context(), app.extensions["registry.db"].sessions() as session:
            return [json.loads(bytes(body)) for body in
                    session.scalars(select(LedgerEntry.body).order_by(LedgerEntry.seq))]
    finally:
        app.extensions["registry.db"].dispose()


def test_collisions_block_and_change_nothing_until_the_operator_names_their_forms(run, old_registry):
    lots, cases = old_registry["lots"], old_registry["cases"]
    before = ledger(run)
    for argv in (("db", "canonicalize"), ("db", "canonicalize", "--dry-run")):
        code, out, err = run(*argv)
        assert code == 1, (argv, out, err)
        blocked = [line for line in out if line.startswith("BLOCKED: ")]
        assert len(blocked) == 3, out
        assert any(f"lots {lots[3]}, {lots[4]} at {YARD} all have card number AL-2025-0009" in b for b in blocked)
        assert any(f"cases {cases[0]}, {cases[1]} all have number （2025）沪0113执1号" in b for b in blocked)
        assert any(f"lot {lots[5]}: the stored card_no" in b and "U+200B" in b and
                   f"--set lot {lots[5]} card_no VALUE" in b for b in blocked)
        assert out[-1].startswith("nothing was changed: 3 problem(s)"), out
        assert f"would change lot {lots[1]}: card_no 'ＡＬ－２０２５－０００２' -> 'AL-2025-0002'; " \
               f"custodian '{YARD} ' -> '{YARD}'" in out
    assert ledger(run) == before

    # a form the operator gives is itself canonicalised, and must not collide either
    code, out, _ = run("db", "canonicalize", "--set", "lot", str(lots[4]), "card_no", "al-2025-0001",
                       "--set", "lot", str(lots[5]), "card_no", "AL-2025-0010",
                       "--set", "case", str(cases[1]), "number", "(2025)沪0113执1号之二")
    assert code == 1 and any(f"lots {lots[0]}, {lots[4]} at {YARD} all have card number AL-2025-0001" in line
                             for line in out), out
    assert ledger(run) == before
    for bad in (("lot", "x", "card_no", "A"), ("unit", "1", "name", "A")):
        code, _, err = run("db", "canonicalize", "--set", *bad)
        assert code == 2 and len(err) == 1 and "give lot ID FIELD VALUE" in err[0], (bad, err)
    code, out, _ = run("db", "canonicalize", "--set", "lot", "424242", "card_no", "A", "--set", "lot",
                       str(lots[0]), "weight_t", "1")
    assert code == 1 and "BLOCKED: --set lot 424242 card_no: there is no lot 424242" in out, out
    assert any("a lot's identifiers are card_no, custodian, owner" in line for line in out), out

    code, out, err = run("db", "canonicalize", "--set", "lot", str(lots[4]), "card_no", "al-2025-0009-b",
                         "--set", "lot", str(lots[5]), "card_no", "AL-2025-0010",
                         "--set", "case", str(cases[1]), "number", "(2025)沪0113执1号之二")
    assert code == 0, (out, err)
    assert out[-1] == "canonical forms written: 7 record(s), one ledger entry each", out
    added = ledger(run)[len(before):]
    assert [(e["type"], e["actor"]) for e in added] == \
        [("lot.updated", OPERATOR)] * 4 + [("case.updated", OPERATOR)] * 3
    assert [e["data"] for e in added] == [  # only the fields that change
        {"id": lots[1], "card_no": "AL-2025-0002", "custodian": YARD},
        {"id": lots[2], "card_no": "AL-2025-0003", "owner": "某金属贸易有限公司"},
        {"id": lots[4], "card_no": "AL-2025-0009-B"},
        {"id": lots[5], "card_no": "AL-2025-0010"},
        {"id": cases[0], "number": "（2025）沪0113执1号"},
        {"id": cases[1], "number": "（2025）沪0113执1号之二"},
        {"id": cases[2], "number": "（2025）沪0113执2号"}]

    code, out, err = run("audit")
    assert code == 0 and out[-1].startswith("audit ok"), (out, err)
    code, out, _ = run("db", "canonicalize")
    assert (code, out) == (0, ["every identifier is in canonical form; nothing to change"])


def test_after_canonicalize_every_variant_finds_or_collides_with_the_one_record(run, old_registry, tmp_path):
    lots = old_registry["lots"]
    code, out, _ = run("db", "canonicalize", "--set", "lot", str(lots[4]), "card_no", "AL-2025-0009-B",
                       "--set", "lot", str(lots[5]), "card_no", "AL-2025-0010",
                       "--set", "case", str(old_registry["cases"][1]), "number", "(2025)沪0113执1号之二")
    assert code == 0, out
    app = create_app(run.settings)
    try:
        with app.app_context(), app.extensions["registry.db"].sessions() as session:
            token = create_unit(session, OPERATOR, "READER", "审计", "auditor", None).token
            court = create_unit(session, OPERATOR, "COURT-2", "上海市杨浦区人民法院", "court", None).token
        client = app.test_client()
        reader = {"Authorization": f"Bearer {token}"}
        for typed in ("ＡＬ－２０２５－０００２", "al-2025-0002", " AL‐2025‐0002 "):
            for custodian in (YARD, YARD + "　", " " + YARD):
                found = client.get("/api/v1/lots", query_string={"card_no": typed, "custodian": custodian},
                                   headers=reader).get_json()["items"]
                assert [x["id"] for x in found] == [lots[1]], (typed, custodian)
        r = client.post("/api/v1/lots", headers={"Authorization": f"Bearer {court}"},
                        json={"lots": [{"card_no": "al-2025-0003", "custodian": YARD + " ", "commodity": "铝锭",
                                        "weight_t": "1.0000"}]})
        assert r.status_code == 409 and r.get_json()["conflicts"][0]["lot_id"] == lots[2], r.get_json()
        found = client.get("/api/v1/cases", query_string={"number": "〔2025〕沪0113执2号"}, headers=reader).get_json()
        assert [c["id"] for c in found["items"]] == [old_registry["cases"][2]]
    finally:
        app.extensions["registry.db"].dispose()
