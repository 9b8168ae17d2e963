"""rosters: schema changes (empty unless needed; folded into one migration before the issue closes)

Revision ID: f7158d38cceb
Revises: 0a9762ff897a
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = 'f7158d38cceb'
down_revision = '0a9762ff897a'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
