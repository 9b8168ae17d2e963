"""meals: schema changes (empty unless needed; folded into one migration before the issue closes)

Revision ID: 67fb645f3f1b
Revises: f49db251a03c
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = '67fb645f3f1b'
down_revision = 'f49db251a03c'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
