"""coverage_grid_week: each grid's coverage figures per week, the snapshot the whole area's dashboard sums

Revision ID: a6d2e5c8f317
Revises: 43c9806afac4
Create Date: 2026-11-30 07:20:00

The whole area's coverage dashboard read the whole city (residents, the week's bookings and slots) on every
fetch; every figure it shows is a sum over grids, so the scheduler now works each grid's figures out every few
minutes (careapp.coverage.snapshot) and the page sums them. Empty at first: until the job runs, the page
works its figures out live, as before.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a6d2e5c8f317'
down_revision = '43c9806afac4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('coverage_grid_week',
    sa.Column('week_start', sa.Date(), nullable=False),
    sa.Column('grid_id', sa.Integer(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('figures', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['grid_id'], ['grid.id'], name=op.f('fk_coverage_grid_week_grid_id_grid'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('week_start', 'grid_id', name=op.f('pk_coverage_grid_week'))
    )
    with op.batch_alter_table('coverage_grid_week', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_coverage_grid_week_grid_id'), ['grid_id'], unique=False)


def downgrade():
    with op.batch_alter_table('coverage_grid_week', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_coverage_grid_week_grid_id'))
    op.drop_table('coverage_grid_week')
