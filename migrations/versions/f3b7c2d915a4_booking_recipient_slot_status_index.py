"""booking index (recipient_id, slot_id, status), in place of the one on recipient_id alone

Revision ID: f3b7c2d915a4
Revises: e8a41c6f2b90
Create Date: 2026-11-30 03:10:00

The coverage dashboard of a community or grid finds the week's demand through the area's residents: their
bookings' slot and status are read from this index alone, so the cost follows the area, not the city's
bookings. Its first column serves everything the index on recipient_id alone served.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'f3b7c2d915a4'
down_revision = 'e8a41c6f2b90'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.create_index('ix_booking_recipient_slot_status', ['recipient_id', 'slot_id', 'status'],
                              unique=False)
        batch_op.drop_index('ix_booking_recipient_id')


def downgrade():
    with op.batch_alter_table('booking', schema=None) as batch_op:
        batch_op.create_index('ix_booking_recipient_id', ['recipient_id'], unique=False)
        batch_op.drop_index('ix_booking_recipient_slot_status')
