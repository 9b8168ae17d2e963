"""slot booking tallies: booked, attended and no-show counts kept by the booking engine

Revision ID: c41f0a9e7d21
Revises: 3516d5d3e115
Create Date: 2026-11-29 20:40:00

Coverage and reports sum these per slot instead of counting every booking at city scale. The counts of
the bookings already there are filled in here; from now on the engine keeps them.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c41f0a9e7d21'
down_revision = '3516d5d3e115'
branch_labels = None
depends_on = None

COLUMNS = ('booked_count', 'attended_count', 'no_show_count')
STATUSES = {
    'booked_count': ('confirmed', 'checked_in', 'checked_out', 'no_show'),
    'attended_count': ('checked_in', 'checked_out'),
    'no_show_count': ('no_show',),
}


def upgrade():
    with op.batch_alter_table('slot', schema=None) as batch_op:
        for column in COLUMNS:
            batch_op.add_column(sa.Column(column, sa.Integer(), server_default='0', nullable=False))
    for column, statuses in STATUSES.items():
        listed = ", ".join(f"'{status}'" for status in statuses)
        op.execute(f"UPDATE slot SET {column} = (SELECT count(*) FROM booking "
                   f"WHERE booking.slot_id = slot.id AND booking.status IN ({listed}))")


def downgrade():
    with op.batch_alter_table('slot', schema=None) as batch_op:
        for column in reversed(COLUMNS):
            batch_op.drop_column(column)
