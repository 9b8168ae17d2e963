"""Childcare: the staffing of each coming class slot (check-in and check-out are the booking routes)."""
from __future__ import annotations

from datetime import timedelta

from pydantic import Field

from careapp.accounts.models import User
from careapp.api.registry import api
from careapp.api.roster_schemas import StaffedSlotOut
from careapp.api.schemas import Query
from careapp.booking import queries
from careapp.core.clock import now
from careapp.core.db import db
from careapp.core.errors import Forbidden, NotFound
from careapp.core.i18n import gettext as _
from careapp.core.timefmt import local_date
from careapp.partners.models import PartnerOrganisation, ServiceKind, SlotStatus

STAFFING_DAYS = 14


class StaffingQuery(Query):
    understaffed: bool = Field(False, description="Only the slots with more children booked than the staff allow.")


@api.route("GET", "/partners/{partner_id}/childcare-staffing", query=StaffingQuery, response=list[StaffedSlotOut],
           errors=(403,), summary="The partner's childcare slots of the next 14 days: class size, staffed places, "
                                  "children booked, understaffed flag")
def childcare_staffing(user: User, partner_id: int, query: StaffingQuery) -> list[StaffedSlotOut]:
    if db.session.get(PartnerOrganisation, partner_id) is None:
        raise NotFound(_("No such partner."))
    if not user.can_view_partner_rosters(partner_id):
        raise Forbidden(_("Only this partner's staff and community staff see its staffing."))
    rows = queries.find_slots(now=now(), partner_id=partner_id, kind=ServiceKind.childcare, only_open=False,
                              date_to=local_date(now()) + timedelta(days=STAFFING_DAYS))
    if query.understaffed:
        rows = [row for row in rows if row.slot.status == SlotStatus.open and row.understaffed]
    return [StaffedSlotOut.of(row) for row in rows]
