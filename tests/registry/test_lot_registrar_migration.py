"""A registry that already holds lots, upgraded: `db upgrade` gives each lot the unit that registered it from
the ledger (a split part, at any depth, its parent's), also to lots an earlier release's instance registered
while the database was upgraded, and the audit agrees. On both backends."""
from __future__ import annotations

from alembic import command
from sqlalchemy import text

from registry import create_app
from registry.migrate import alembic_config

from tests.registry.api.helpers import assert_audit_clean, ok, register_lots, split


def registering_units(engine) -> dict[int, str | None]:
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT id, registered_by FROM lots")).all())


def test_db_upgrade_gives_every_lot_the_unit_its_ledger_entries_name(app, session, units, database_url, caplog):
    b, p = units["baoshan"], units["police"]
    lots = register_lots(b, ["10.0000", "2.0000"])
    (theirs,) = register_lots(p, ["3.0000"], prefix="PSB-AL")
    parts = ok(split(units["admin"], lots[0], [("ZJ-AL-0001-A", "4.0000"), ("ZJ-AL-0001-B", "6.0000")], "拆1"),
               201)["lots"]
    grandchildren = ok(split(b, parts[1], [("ZJ-AL-0001-B1", "1.0000"), ("ZJ-AL-0001-B2", "5.0000")], "拆2"),
                       201)["lots"]
    expected = {**{lot["id"]: "SH-BAOSHAN-COURT" for lot in [*lots, *parts, *grandchildren]},
                theirs["id"]: "SH-POLICE-ECON"}
    engine = app.extensions["registry.db"].engine
    session.close()
    engine.dispose()  # no pooled connection holds the tables while the schema changes
    command.downgrade(alembic_config(database_url), "0006")  # a registry from before: no such column

    def db_upgrade() -> None:  # as `seizure-registry db upgrade` does
        create_app({**app.config, "CLOCK": app.config["CLOCK"]}, upgrade=True).extensions["registry.db"].dispose()

    with caplog.at_level("INFO", logger="registry.upgrade"):
        db_upgrade()
    assert registering_units(engine) == expected
    assert "recorded the registering unit of 7 lot(s) from the ledger" in caplog.text
    assert_audit_clean(app, session)

    # lots an instance of the earlier release registered (or split) meanwhile: none recorded
    with engine.begin() as conn:
        conn.execute(text("UPDATE lots SET registered_by = NULL WHERE id IN (:a, :b)"),
                     {"a": theirs["id"], "b": grandchildren[1]["id"]})
    caplog.clear()
    with caplog.at_level("INFO", logger="registry.upgrade"):
        db_upgrade()
    assert registering_units(engine) == expected
    assert "registering unit of 2 lot(s)" in caplog.text
    caplog.clear()
    with caplog.at_level("INFO", logger="registry.upgrade"):
        db_upgrade()  # nothing more to do
    assert "registering unit" not in caplog.text
    assert_audit_clean(app, session)
