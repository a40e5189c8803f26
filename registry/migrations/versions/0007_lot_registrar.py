"""lots record the unit that registered them; corrections of a lot's particulars

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04

Existing lots get their registering unit from the ledger, as its replay does, when `seizure-registry db
upgrade` completes (services.registrars), and so do lots an instance of an earlier release registers while
the database is upgraded. The column stays nullable: SQLite adds a column to a table without copying it (and
losing its triggers) only so. Corrections of a lot's particulars get a table of their own, made by
`lot.corrected` entries.
"""
from alembic import op
import sqlalchemy as sa

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":  # Alembic alters SQLite's constraints only by copying the table
        op.execute("ALTER TABLE lots ADD COLUMN registered_by VARCHAR(64) REFERENCES units (code)")
    else:
        op.add_column('lots', sa.Column('registered_by', sa.String(length=64), sa.ForeignKey('units.code'),
                                        nullable=True))
    op.create_table(
        'lot_corrections',
        sa.Column('id', ID, autoincrement=True, nullable=False),
        sa.Column('lot_id', ID, sa.ForeignKey('lots.id'), nullable=False),
        sa.Column('unit_code', sa.String(length=64), sa.ForeignKey('units.code'), nullable=False),
        sa.Column('document_no', sa.String(length=200), nullable=False),
        sa.Column('reason', sa.String(length=1000), nullable=False),
        sa.Column('old', sa.JSON(), nullable=False),
        sa.Column('new', sa.JSON(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id'))
    op.create_index('ix_lot_corrections_lot_id', 'lot_corrections', ['lot_id'])


def downgrade() -> None:
    op.drop_index('ix_lot_corrections_lot_id', table_name='lot_corrections')
    op.drop_table('lot_corrections')
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE lots DROP COLUMN registered_by")
    else:
        op.drop_column('lots', 'registered_by')
