"""Staff and volunteer shifts, volunteers, and the day roster of a service point."""
from __future__ import annotations

from datetime import timedelta

from careapp.accounts.models import User
from careapp.api.registry import api
from careapp.api.roster_schemas import (AssignmentIn, DayQuery, DayRosterOut, ShiftIn, ShiftOut, ShiftPatch,
                                        ShiftPersonOut, ShiftQuery, VolunteerIn, VolunteerOut)
from careapp.core.clock import now
from careapp.core.db import db
from careapp.core.errors import BadInput, Forbidden, NotFound
from careapp.core.i18n import gettext as _
from careapp.core.timefmt import local_date
from careapp.partners import roster_queries, shifts
from careapp.partners.models import PartnerOrganisation, ServicePoint, Shift
from careapp.partners.roster_queries import ShiftView

# Without ?day=, the shifts of today and the six days after it.
DEFAULT_DAYS = 7


def _viewable_point(user: User, point_id: int) -> ServicePoint:
    point = db.session.get(ServicePoint, point_id)
    if point is None:
        raise NotFound(_("No such service point."))
    if not user.can_view_partner_rosters(point.partner_id):
        raise Forbidden(_("Only this partner's staff and community staff see its shifts and rosters."))
    return point


def _shift_out(shift_id: int) -> ShiftOut:
    shift = db.session.get(Shift, shift_id)
    return ShiftOut.of(ShiftView(shift))


@api.route("GET", "/service-points/{point_id}/shifts", query=ShiftQuery, response=list[ShiftOut], errors=(403,),
           summary="A service point's shifts with the people on them (below-minimum ones flagged)")
def point_shifts(user: User, point_id: int, query: ShiftQuery) -> list[ShiftOut]:
    point = _viewable_point(user, point_id)
    first = query.day or local_date(now())
    last = query.day or first + timedelta(days=DEFAULT_DAYS - 1)
    return [ShiftOut.of(view) for view in roster_queries.point_shifts(point.id, first, last)]


@api.route("POST", "/service-points/{point_id}/shifts", status=201, body=ShiftIn, response=ShiftOut,
           errors=(403, 422), summary="Plan a staff or volunteer shift at a service point (that partner's manager)")
def add_shift(user: User, point_id: int, body: ShiftIn) -> ShiftOut:
    shift = shifts.create_shift(point_id=point_id, by=user, now=now(), **body.model_dump())
    return _shift_out(shift.id)


@api.route("PATCH", "/shifts/{shift_id}", body=ShiftPatch, response=ShiftOut, errors=(403, 422),
           summary="Change a shift; the people on it must still fit (no clash, not above max_people)")
def change_shift(user: User, shift_id: int, body: ShiftPatch) -> ShiftOut:
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise BadInput(_("Give at least one field to change."))
    shift = shifts.update_shift(shift_id, by=user, now=now(), **changes)
    return _shift_out(shift.id)


@api.route("DELETE", "/shifts/{shift_id}", status=204, errors=(403, 422),
           summary="Delete a planned shift with everyone on it")
def delete_shift(user: User, shift_id: int) -> None:
    shifts.delete_shift(shift_id, by=user, now=now())


@api.route("POST", "/shifts/{shift_id}/assignments", status=201, body=AssignmentIn, response=ShiftPersonOut,
           errors=(403, 409, 422),
           summary="Put a person on a shift: {user_id} on a staff shift, {volunteer_id} on a volunteer shift")
def add_assignment(user: User, shift_id: int, body: AssignmentIn) -> ShiftPersonOut:
    assignment = shifts.assign(shift_id, by=user, now=now(), user_id=body.user_id, volunteer_id=body.volunteer_id)
    return ShiftPersonOut(assignment_id=assignment.id, user_id=assignment.user_id,
                          volunteer_id=assignment.volunteer_id, name=roster_queries.person_name(assignment))


@api.route("DELETE", "/shifts/{shift_id}/assignments/{assignment_id}", status=204, errors=(403, 422),
           summary="Take a person off a shift")
def remove_assignment(user: User, shift_id: int, assignment_id: int) -> None:
    shifts.unassign(shift_id, assignment_id, by=user, now=now())


@api.route("GET", "/partners/{partner_id}/volunteers", response=list[VolunteerOut], errors=(403,),
           summary="A partner's volunteers (its manager, admins)")
def volunteers(user: User, partner_id: int) -> list[VolunteerOut]:
    if db.session.get(PartnerOrganisation, partner_id) is None:
        raise NotFound(_("No such partner."))
    if not user.manages_partner(partner_id):
        raise Forbidden(_("Only this partner's manager or an admin sees its volunteers."))
    return [VolunteerOut.of(v) for v in roster_queries.partner_volunteers(partner_id, active_only=False)]


@api.route("POST", "/partners/{partner_id}/volunteers", status=201, body=VolunteerIn, response=VolunteerOut,
           errors=(403,), summary="Add a volunteer who works the partner's volunteer shifts")
def add_volunteer(user: User, partner_id: int, body: VolunteerIn) -> VolunteerOut:
    volunteer = shifts.add_volunteer(partner_id=partner_id, name=body.name, phone=body.phone, by=user, now=now())
    return VolunteerOut.of(volunteer)


@api.route("GET", "/service-points/{point_id}/day-roster", query=DayQuery, response=DayRosterOut, errors=(403,),
           summary="Who is coming (each slot, with needs for that partner's staff only) and who is working on a day")
def day_roster(user: User, point_id: int, query: DayQuery) -> DayRosterOut:
    point = _viewable_point(user, point_id)
    roster = roster_queries.day_roster(point, query.day or local_date(now()))
    return DayRosterOut.of(roster, own_staff=user.belongs_to_partner(point.partner_id))
