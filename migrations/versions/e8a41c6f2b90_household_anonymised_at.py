"""household anonymised_at: when a household asked for deletion and its personal data was anonymised

Revision ID: e8a41c6f2b90
Revises: d7e3b9a15c42
Create Date: 2026-12-02 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e8a41c6f2b90'
down_revision = 'd7e3b9a15c42'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('household', schema=None) as batch_op:
        batch_op.add_column(sa.Column('anonymised_at', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('household', schema=None) as batch_op:
        batch_op.drop_column('anonymised_at')
