"""seizure terms as the law counts them: each hold's term policy row, a seizure's approval document

Revision ID: 0008
Revises: 0006
Create Date: 2026-12-04

`holds.term_rule` names the row of rules.term_policy a hold was recorded under; holds recorded before it
keep NULL, which the rules read as the term the registry gave them then (their class's civil maximum), so
every existing term ends on the day it did. `seizures.approval_document_no`: a major case's approval
document, which lengthens a criminal freeze. Plain nullable columns: no row is rewritten, and the lot_standing
triggers on holds do not fire.
"""
from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('holds', sa.Column('term_rule', sa.String(length=40), nullable=True))
    op.add_column('seizures', sa.Column('approval_document_no', sa.String(length=200), nullable=True))


def downgrade() -> None:
    # ALTER TABLE … DROP COLUMN on both databases (SQLite ≥ 3.35): a batch copy of holds would drop its triggers.
    op.execute("ALTER TABLE seizures DROP COLUMN approval_document_no")
    op.execute("ALTER TABLE holds DROP COLUMN term_rule")
