"""billing: schema changes (empty unless needed; folded into one migration before the issue closes)

Revision ID: 0a9762ff897a
Revises: 67fb645f3f1b
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '0a9762ff897a'
down_revision = '67fb645f3f1b'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
