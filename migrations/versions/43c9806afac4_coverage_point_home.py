"""coverage_point_home: each service point's nearest building, kept as buildings and points change

Revision ID: 43c9806afac4
Revises: f3b7c2d915a4
Create Date: 2026-11-30 06:30:00

The coverage dashboard counts a service point's places in the area of its nearest building; finding it takes
every building of the city, so it is found when buildings or service points change (careapp.coverage.homes)
instead of on every page. The points already there get theirs here.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '43c9806afac4'
down_revision = 'f3b7c2d915a4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('coverage_point_home',
    sa.Column('service_point_id', sa.Integer(), nullable=False),
    sa.Column('building_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['building_id'], ['building.id'], name=op.f('fk_coverage_point_home_building_id_building'),
                            ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['service_point_id'], ['service_point.id'],
                            name=op.f('fk_coverage_point_home_service_point_id_service_point'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('service_point_id', name=op.f('pk_coverage_point_home'))
    )
    with op.batch_alter_table('coverage_point_home', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_coverage_point_home_building_id'), ['building_id'], unique=False)
    _fill()


def _fill():
    """The nearest building of each service point there is, as careapp.coverage.homes finds it (ties: lowest id)."""
    from careapp.coverage.reach import Places  # the geometry alone: no model, so later schemas cannot break this

    bind = op.get_bind()
    buildings = bind.execute(sa.text("SELECT id, latitude, longitude FROM building ORDER BY id")).all()
    points = bind.execute(sa.text("SELECT id, latitude, longitude FROM service_point ORDER BY id")).all()
    if not buildings or not points:
        return
    index, _distance = Places([row[1] for row in buildings], [row[2] for row in buildings]).nearest(
        [row[1] for row in points], [row[2] for row in points])
    home = sa.table('coverage_point_home', sa.column('service_point_id'), sa.column('building_id'))
    op.bulk_insert(home, [{"service_point_id": point[0], "building_id": buildings[int(i)][0]}
                          for point, i in zip(points, index)])


def downgrade():
    with op.batch_alter_table('coverage_point_home', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_coverage_point_home_building_id'))
    op.drop_table('coverage_point_home')
