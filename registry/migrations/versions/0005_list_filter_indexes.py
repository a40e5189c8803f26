"""indexes for every filter of the lot and case lists

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03

Lots of a custodian or an owner, and disposed and split lots, in id order; a case's lots from its holds; holds not ended by an act, for the
seized and free statuses; a location's substring through a trigram index on PostgreSQL (pg_trgm ships
with PostgreSQL and is a trusted extension: the database owner may create it; a downgrade leaves it, as
other objects of the database may use it).
"""
from alembic import op
import sqlalchemy as sa

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    for name, column in (('ix_lots_disposed', 'disposed_at'), ('ix_lots_split', 'split_at')):
        where = sa.text(f"{column} IS NOT NULL")
        op.create_index(name, 'lots', ['id'], postgresql_where=where, sqlite_where=where)
    op.create_index('ix_lots_custodian_id', 'lots', ['custodian', 'id'])
    op.drop_index('ix_lots_owner', table_name='lots')
    op.create_index('ix_lots_owner_id', 'lots', ['owner', 'id'])
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.create_index('ix_lots_location', 'lots', ['location'], postgresql_using='gin',
                        postgresql_ops={'location': 'gin_trgm_ops'})
    else:
        op.create_index('ix_lots_location', 'lots', ['location'])
    op.drop_index('ix_holds_case_id', table_name='holds')
    op.create_index('ix_holds_case_lot', 'holds', ['case_id', 'lot_id'])
    op.create_index('ix_holds_ended_lot', 'holds', ['ended_at', 'lot_id'])


def downgrade() -> None:
    op.drop_index('ix_holds_ended_lot', table_name='holds')
    op.drop_index('ix_holds_case_lot', table_name='holds')
    op.create_index('ix_holds_case_id', 'holds', ['case_id'])
    op.drop_index('ix_lots_location', table_name='lots')
    op.drop_index('ix_lots_owner_id', table_name='lots')
    op.create_index('ix_lots_owner', 'lots', ['owner'])
    op.drop_index('ix_lots_custodian_id', table_name='lots')
    op.drop_index('ix_lots_split', table_name='lots')
    op.drop_index('ix_lots_disposed', table_name='lots')
