"""units carry whether they are active; units listed by parent and kind

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('units') as batch:  # SQLite alters a table by copying it
        batch.add_column(sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False))
    op.create_index('ix_units_parent_code', 'units', ['parent_code'])
    op.create_index('ix_units_kind', 'units', ['kind'])


def downgrade() -> None:
    op.drop_index('ix_units_kind', table_name='units')
    op.drop_index('ix_units_parent_code', table_name='units')
    with op.batch_alter_table('units') as batch:
        batch.drop_column('active')
