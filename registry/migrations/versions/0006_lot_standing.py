"""lot_standing: beside each lot, the bound of its status from its latest act on

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04

Derived from the facts (see services.standing). Triggers keep it honest whoever writes: a new lot gets its
row (free from its registration), and any change to a lot's holds, its disposal or its split marks the bound
unknown (facts_at NULL) until the write that made the change stores the new one; a write that does not
(an earlier release's, a bulk load) leaves it unknown, which the lot list leaves to the rules and
`seizure-registry db upgrade` computes. Existing lots with no holds that are neither disposed of nor split
stand free from their registration; the others are left unknown for `db upgrade`.
"""
from alembic import op
import sqlalchemy as sa

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

# PostgreSQL: one trigger call per statement on holds (transition tables): a 100-lot seizure, one update.
PG = [
    """CREATE FUNCTION lot_standing_registered() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         INSERT INTO lot_standing (lot_id, facts_at) SELECT id, registered_at FROM added;
         RETURN NULL;
       END $$""",
    """CREATE FUNCTION lot_standing_holds_changed() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         UPDATE lot_standing SET facts_at = NULL
         WHERE lot_id IN (SELECT lot_id FROM changed) AND facts_at IS NOT NULL;
         RETURN NULL;
       END $$""",
    """CREATE FUNCTION lot_standing_lot_closed() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         UPDATE lot_standing SET facts_at = NULL WHERE lot_id = NEW.id;
         RETURN NULL;
       END $$""",
    "CREATE TRIGGER lot_standing_registered AFTER INSERT ON lots REFERENCING NEW TABLE AS added "
    "FOR EACH STATEMENT EXECUTE FUNCTION lot_standing_registered()",
    "CREATE TRIGGER lot_standing_on_new_hold AFTER INSERT ON holds REFERENCING NEW TABLE AS changed "
    "FOR EACH STATEMENT EXECUTE FUNCTION lot_standing_holds_changed()",
    "CREATE TRIGGER lot_standing_on_hold AFTER UPDATE ON holds REFERENCING NEW TABLE AS changed "
    "FOR EACH STATEMENT EXECUTE FUNCTION lot_standing_holds_changed()",
    # A column list takes no transition table: one call per lot disposed of or split.
    "CREATE TRIGGER lot_standing_on_lot AFTER UPDATE OF disposed_at, split_at ON lots "
    "FOR EACH ROW EXECUTE FUNCTION lot_standing_lot_closed()",
]
SQLITE = [
    """CREATE TRIGGER lot_standing_registered AFTER INSERT ON lots
       BEGIN INSERT INTO lot_standing (lot_id, facts_at) VALUES (NEW.id, NEW.registered_at); END""",
    """CREATE TRIGGER lot_standing_on_lot AFTER UPDATE OF disposed_at, split_at ON lots
       BEGIN UPDATE lot_standing SET facts_at = NULL WHERE lot_id = NEW.id; END""",
    """CREATE TRIGGER lot_standing_on_new_hold AFTER INSERT ON holds
       BEGIN UPDATE lot_standing SET facts_at = NULL WHERE lot_id = NEW.lot_id; END""",
    """CREATE TRIGGER lot_standing_on_hold AFTER UPDATE ON holds
       BEGIN UPDATE lot_standing SET facts_at = NULL WHERE lot_id = NEW.lot_id; END""",
]


def upgrade() -> None:
    op.create_table(
        'lot_standing',
        sa.Column('lot_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), sa.ForeignKey('lots.id'),
                  primary_key=True, autoincrement=False),
        sa.Column('facts_at', sa.DateTime(), nullable=True),
        sa.Column('seized_until', sa.DateTime(), nullable=True),
        sa.Column('closed_at', sa.DateTime(), nullable=True))
    op.execute("INSERT INTO lot_standing (lot_id, facts_at) "
               "SELECT id, CASE WHEN disposed_at IS NULL AND split_at IS NULL AND NOT EXISTS "
               "(SELECT 1 FROM holds WHERE holds.lot_id = lots.id) THEN registered_at END FROM lots")
    for statement in PG if op.get_bind().dialect.name == "postgresql" else SQLITE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for trigger, table in (("lot_standing_registered", "lots"), ("lot_standing_on_lot", "lots"),
                               ("lot_standing_on_new_hold", "holds"), ("lot_standing_on_hold", "holds")):
            op.execute(f"DROP TRIGGER {trigger} ON {table}")
        for function in ("lot_standing_registered", "lot_standing_holds_changed", "lot_standing_lot_closed"):
            op.execute(f"DROP FUNCTION {function}()")
    else:
        for trigger in ("lot_standing_registered", "lot_standing_on_lot", "lot_standing_on_new_hold",
                        "lot_standing_on_hold"):
            op.execute(f"DROP TRIGGER {trigger}")
    op.drop_table('lot_standing')
