"""coverage_area_week: the whole area's coverage per week and choice of kinds, summed from the grids' snapshot

Revision ID: c5e9a2d47b13
Revises: a6d2e5c8f317
Create Date: 2026-11-30 09:30:00

The whole area's dashboard summed every grid's snapshot row on every fetch (a few hundred JSON documents in a
city, and the buildings out of reach ranked each time), so its time grew with the city. The refresh now also
keeps the whole area's figures as the page shows them, one row per week and choice of kinds (every kind, or
one), and the page reads one row. Empty at first: until the job runs, the page sums the grids' rows, or works
its figures out live, as before.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c5e9a2d47b13'
down_revision = 'a6d2e5c8f317'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('coverage_area_week',
    sa.Column('week_start', sa.Date(), nullable=False),
    sa.Column('kinds', sa.String(length=20), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('figures', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('week_start', 'kinds', name=op.f('pk_coverage_area_week'))
    )


def downgrade():
    op.drop_table('coverage_area_week')
