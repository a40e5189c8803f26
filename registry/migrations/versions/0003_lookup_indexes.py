"""indexes for a lot's parts and a lot's renewals

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_lots_parent_id', 'lots', ['parent_id'])
    op.create_index('ix_renewals_lot_id', 'renewals', ['lot_id'])


def downgrade() -> None:
    op.drop_index('ix_renewals_lot_id', table_name='renewals')
    op.drop_index('ix_lots_parent_id', table_name='lots')
