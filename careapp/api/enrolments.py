"""Standing enrolments (a household member booked every week) and day care's transport list."""
from __future__ import annotations

from careapp.accounts.models import Role, User
from careapp.api.enrolment_schemas import (
    EndIn,
    EnrolmentChangeOut,
    EnrolmentIn,
    EnrolmentOut,
    EnrolmentQuery,
    PauseIn,
    TransportEntryOut,
    TransportQuery,
)
from careapp.api.registry import api
from careapp.booking.models import Enrolment
from careapp.core.clock import now
from careapp.core.db import db
from careapp.core.errors import BadInput, Forbidden, NotFound
from careapp.core.i18n import gettext as _
from careapp.core.privacy import sees_whole_phone
from careapp.core.timefmt import local_date
from careapp.daycare.queries import transport_list
from careapp.enrolments import queries, services
from careapp.households.models import Household
from careapp.partners.models import ServicePoint


def _household_of(user: User, household_id: int | None) -> int:
    """Whose enrolments: a family's own household; district staff name the one they act for."""
    if user.role != Role.family and not user.is_district:
        raise Forbidden(_("Enrolments are for families and the community staff who act for them."))
    household_id = household_id if household_id is not None else user.household_id
    if household_id is None:
        raise BadInput(_("Say which household this is for."), fields={"household_id": "required"})
    if not user.can_act_for_household(household_id):
        raise Forbidden(_("You may only see your own household's enrolments."))
    return household_id


@api.route("GET", "/enrolments", summary="A household's standing enrolments (ended ones included)",
           query=EnrolmentQuery, response=list[EnrolmentOut], errors=(403, 404))
def list_enrolments(user: User, query: EnrolmentQuery) -> list[EnrolmentOut]:
    household_id = _household_of(user, query.household_id)  # access first, as for a household's members
    if db.session.get(Household, household_id) is None:  # as /recipients: not an empty list
        raise NotFound(_("No such household."))
    return [EnrolmentOut.of(row) for row in queries.household_enrolments(household_id, include_ended=True)]


@api.route("POST", "/enrolments", status=201, body=EnrolmentIn, response=EnrolmentChangeOut, errors=(403, 409, 422),
           summary="Enrol a member in a service every week; books the matching slots already open at once")
def enrol_member(user: User, body: EnrolmentIn) -> EnrolmentChangeOut:
    change = services.enrol(body.recipient_id, body.service_id, body.weekdays, starts_on=body.starts_on,
                            ends_on=body.ends_on, start_time=body.start_time, options=body.options(), by=user,
                            now=now())
    return EnrolmentChangeOut.of(change)


def _visible(user: User, enrolment_id: int) -> Enrolment:
    enrolment = queries.enrolment(enrolment_id)
    if enrolment is None:
        raise NotFound(_("No such enrolment."))
    if not user.can_act_for_household(enrolment.recipient.household_id):
        raise Forbidden(_("This enrolment is another household's."))
    return enrolment


@api.route("GET", "/enrolments/{enrolment_id}", summary="One standing enrolment", response=EnrolmentOut,
           errors=(403,))
def get_enrolment(user: User, enrolment_id: int) -> EnrolmentOut:
    return EnrolmentOut.of(_visible(user, enrolment_id))


@api.route("POST", "/enrolments/{enrolment_id}/pause", body=PauseIn, response=EnrolmentChangeOut,
           errors=(403, 409, 422),
           summary="Pause until a restart day; its bookings before that day are cancelled where still possible")
def pause_enrolment(user: User, enrolment_id: int, body: PauseIn) -> EnrolmentChangeOut:
    return EnrolmentChangeOut.of(services.pause(enrolment_id, resumes_on=body.resumes_on, by=user, now=now()))


@api.route("POST", "/enrolments/{enrolment_id}/resume", response=EnrolmentChangeOut, errors=(403, 409),
           summary="Start a paused enrolment again now; books the matching slots already open")
def resume_enrolment(user: User, enrolment_id: int) -> EnrolmentChangeOut:
    return EnrolmentChangeOut.of(services.resume(enrolment_id, by=user, now=now()))


@api.route("POST", "/enrolments/{enrolment_id}/end", body=EndIn, response=EnrolmentChangeOut, errors=(403, 409),
           summary="End after a last day (today: at once); later bookings are cancelled where still possible")
def end_enrolment(user: User, enrolment_id: int, body: EndIn) -> EnrolmentChangeOut:
    return EnrolmentChangeOut.of(services.end(enrolment_id, ends_on=body.ends_on, by=user, now=now()))


@api.route("GET", "/service-points/{point_id}/transport", query=TransportQuery, response=list[TransportEntryOut],
           errors=(403,), summary="Day care: who to fetch and bring home on a day (接送), by slot time and address")
def transport_list_of_point(user: User, point_id: int, query: TransportQuery) -> list[TransportEntryOut]:
    point = db.session.get(ServicePoint, point_id)
    if point is None:
        raise NotFound(_("No such service point."))
    if not user.can_view_partner_rosters(point.partner_id):
        raise Forbidden(_("Only this partner's staff and community staff see its transport list."))
    whole = sees_whole_phone(user, partner_id=point.partner_id)
    day = query.day or local_date(now())
    return [TransportEntryOut.of(row, whole_phones=whole) for row in transport_list(point.id, day)]
