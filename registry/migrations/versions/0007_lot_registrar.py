"""lots record the unit that registered them

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04

Existing lots get their registering unit from the ledger, as its replay does, when `seizure-registry db
upgrade` completes (services.registrars), and so do lots an instance of an earlier release registers while
the database is upgraded. The column stays nullable: SQLite adds a column to a table without copying it (and
losing its triggers) only so.
"""
from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":  # Alembic alters SQLite's constraints only by copying the table
        op.execute("ALTER TABLE lots ADD COLUMN registered_by VARCHAR(64) REFERENCES units (code)")
    else:
        op.add_column('lots', sa.Column('registered_by', sa.String(length=64), sa.ForeignKey('units.code'),
                                        nullable=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE lots DROP COLUMN registered_by")
    else:
        op.drop_column('lots', 'registered_by')
