"""the ledger head row, and triggers that make the ledger append-only

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26

UPDATE and DELETE are refused on ledger entries, Merkle nodes and signed checkpoints, on SQLite and
PostgreSQL alike; the head row may only move forward and may not be deleted.
"""
from alembic import op
import sqlalchemy as sa

from ledger.encoding import ZERO_HASH
from ledger.merkle import CompactRange

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

APPEND_ONLY = ("ledger_entries", "ledger_nodes", "checkpoints")

PG_FUNCTIONS = """
CREATE FUNCTION registry_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE FUNCTION registry_head_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' OR NEW.size < OLD.size THEN
    RAISE EXCEPTION 'the ledger head only moves forward' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $$;
"""


def upgrade() -> None:
    head = sa.table("ledger_head", sa.column("id"), sa.column("size"), sa.column("last_hash"),
                    sa.column("last_time"), sa.column("frontier", sa.LargeBinary))
    op.bulk_insert(head, [{"id": 1, "size": 0, "last_hash": ZERO_HASH, "last_time": None,
                           "frontier": CompactRange.empty().to_bytes()}])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTIONS)
        for table in APPEND_ONLY:
            op.execute(f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                       f"FOR EACH ROW EXECUTE FUNCTION registry_append_only()")
            op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                       f"FOR EACH STATEMENT EXECUTE FUNCTION registry_append_only()")
        op.execute("CREATE TRIGGER ledger_head_forward BEFORE UPDATE OR DELETE ON ledger_head "
                   "FOR EACH ROW EXECUTE FUNCTION registry_head_forward()")
    else:
        for table in APPEND_ONLY:
            for action in ("UPDATE", "DELETE"):
                op.execute(f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                           f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {action} refused'); END")
        op.execute("CREATE TRIGGER ledger_head_forward BEFORE UPDATE ON ledger_head WHEN NEW.size < OLD.size "
                   "BEGIN SELECT RAISE(ABORT, 'the ledger head only moves forward'); END")
        op.execute("CREATE TRIGGER ledger_head_no_delete BEFORE DELETE ON ledger_head "
                   "BEGIN SELECT RAISE(ABORT, 'the ledger head only moves forward'); END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
        op.execute("DROP TRIGGER ledger_head_forward ON ledger_head")
        op.execute("DROP FUNCTION registry_append_only(); DROP FUNCTION registry_head_forward()")
    else:
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER {table}_no_update")
            op.execute(f"DROP TRIGGER {table}_no_delete")
        op.execute("DROP TRIGGER ledger_head_forward")
        op.execute("DROP TRIGGER ledger_head_no_delete")
    op.execute("DELETE FROM ledger_head")
