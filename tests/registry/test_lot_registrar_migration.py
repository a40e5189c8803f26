"""Migration 0007 on a registry that already holds lots: each lot gets the unit that registered it from the
ledger (a split part, at any depth, its parent's), and the audit agrees. On both backends."""
from __future__ import annotations

from alembic import command
from sqlalchemy import text

from registry.migrate import alembic_config, upgrade

from tests.registry.api.helpers import assert_audit_clean, ok, register_lots, split


def test_the_registering_units_of_existing_lots_come_from_the_ledger(app, session, units, database_url):
    b, p = units["baoshan"], units["police"]
    lots = register_lots(b, ["10.0000", "2.0000"])
    (theirs,) = register_lots(p, ["3.0000"], prefix="PSB-AL")
    parts = ok(split(units["admin"], lots[0], [("ZJ-AL-0001-A", "4.0000"), ("ZJ-AL-0001-B", "6.0000")], "拆1"),
               201)["lots"]
    grandchildren = ok(split(b, parts[1], [("ZJ-AL-0001-B1", "1.0000"), ("ZJ-AL-0001-B2", "5.0000")], "拆2"),
                       201)["lots"]
    engine = app.extensions["registry.db"].engine
    session.close()
    engine.dispose()  # no pooled connection holds the tables while the schema changes

    command.downgrade(alembic_config(database_url), "0006")  # a registry from before: no such column
    upgrade(database_url)

    with engine.connect() as conn:
        found = dict(conn.execute(text("SELECT id, registered_by FROM lots")).all())
    baoshan = [lots[0], lots[1], *parts, *grandchildren]
    assert found == {**{lot["id"]: "SH-BAOSHAN-COURT" for lot in baoshan}, theirs["id"]: "SH-POLICE-ECON"}
    assert_audit_clean(app, session)
