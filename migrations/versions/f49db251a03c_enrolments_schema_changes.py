"""enrolments: schema changes (empty unless needed; folded into one migration before the issue closes)

Revision ID: f49db251a03c
Revises: be1628b71cfd
"""
from alembic import op  # noqa: F401
import sqlalchemy as sa  # noqa: F401

revision = 'f49db251a03c'
down_revision = 'be1628b71cfd'
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
