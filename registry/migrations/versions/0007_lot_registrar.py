"""lots record the unit that registered them

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04

Existing lots get their registering unit from the ledger, as its replay does: the actor of the
`lot.registered` entry that made them, and for a split part its parent's. The column stays nullable: SQLite
adds a column to a table without copying it (and losing its triggers) only so.
"""
import json

from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

BATCH = 10_000
# Canonical JSON (RFC 8785) has no spaces and escapes every quote inside a string: only a registration's own
# type field holds this text, so every other entry is passed over unparsed.
REGISTERED = b'"type":"lot.registered"'
FROM_PARENT = sa.text(
    "UPDATE lots SET registered_by = (SELECT p.registered_by FROM lots p WHERE p.id = lots.parent_id) "
    "WHERE registered_by IS NULL AND EXISTS "
    "(SELECT 1 FROM lots p WHERE p.id = lots.parent_id AND p.registered_by IS NOT NULL)")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":  # Alembic alters SQLite's constraints only by copying the table
        op.execute("ALTER TABLE lots ADD COLUMN registered_by VARCHAR(64) REFERENCES units (code)")
    else:
        op.add_column('lots', sa.Column('registered_by', sa.String(length=64), sa.ForeignKey('units.code'),
                                        nullable=True))
    _fill_registrars(op.get_bind())


def _fill_registrars(bind: sa.Connection) -> None:
    """Each registered lot's unit from its entry, in batches; then split parts, one generation a pass."""
    update = sa.text("UPDATE lots SET registered_by = :unit WHERE id = :id")
    pending: list[dict] = []
    entries = bind.execute(sa.text("SELECT body FROM ledger_entries ORDER BY seq"),
                           execution_options={"yield_per": BATCH})
    for (body,) in entries:
        if REGISTERED not in bytes(body):
            continue
        entry = json.loads(bytes(body))
        if entry["type"] == "lot.registered":
            pending += [{"unit": entry["actor"], "id": lot["id"]} for lot in entry["data"]["lots"]]
        if len(pending) >= BATCH:
            bind.execute(update, pending)
            pending = []
    if pending:
        bind.execute(update, pending)
    while bind.execute(FROM_PARENT).rowcount:
        pass


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE lots DROP COLUMN registered_by")
    else:
        op.drop_column('lots', 'registered_by')
