"""Partner registration and approval, the partner profile, rooms of service points and staff accounts."""
from __future__ import annotations

from pydantic import Field

from careapp.accounts.models import Role, User
from careapp.api.registry import api, register_rate_limit
from careapp.api.schemas import Body, Out, UtcTimestamp
from careapp.core.clock import now
from careapp.core.db import db
from careapp.core.errors import BadInput, Forbidden, NotFound
from careapp.core.i18n import gettext as _
from careapp.partners.admin_queries import partner_accounts, pending_partners, service_point_rooms
from careapp.partners.admin_services import (DESCRIPTION_MAX, MAX_SEATS, NAME_MAX, PHONE_MAX, REASON_MAX,
                                             ROOM_NAME_MAX, ROOM_PURPOSE_MAX, add_room, approve_partner,
                                             can_manage_accounts, can_see_partner, decline_partner,
                                             register_partner, remove_room, set_account_active, update_profile,
                                             update_room)
from careapp.partners.models import PartnerKind, PartnerOrganisation, Room, ServicePoint

PHONE_PATTERN = r"^[0-9+\- ]*$"


class PartnerRegistrationIn(Body):
    name: str = Field(max_length=NAME_MAX, description="The organisation's full name; unique.")
    kind: PartnerKind
    phone: str = Field(max_length=PHONE_MAX, pattern=PHONE_PATTERN)
    description: str | None = Field(None, max_length=DESCRIPTION_MAX)
    manager_name: str = Field(max_length=100, description="The person who manages the partner in careapp.")
    login: str = Field(max_length=120, description="The manager's mobile number (11 digits, 1[3-9]...) or e-mail.")
    password: str = Field(max_length=256, description="At least 8 characters.")


class PartnerRegistrationOut(Out):
    partner_id: int
    user_id: int = Field(description="The manager's account; log in with POST /tokens.")
    approved: bool = Field(description="False until community staff approve it; until then it publishes no slots.")


class PartnerProfileOut(Out):
    id: int
    name: str
    kind: PartnerKind
    phone: str | None
    description: str | None
    approved: bool
    approved_at: UtcTimestamp | None
    declined_at: UtcTimestamp | None
    decline_reason: str | None = Field(description="Why community staff declined the registration.")
    created_at: UtcTimestamp

    @classmethod
    def of(cls, partner: PartnerOrganisation) -> PartnerProfileOut:
        return cls(id=partner.id, name=partner.name, kind=partner.kind, phone=partner.phone,
                   description=partner.description, approved=partner.approved, approved_at=partner.approved_at,
                   declined_at=partner.declined_at, decline_reason=partner.decline_reason,
                   created_at=partner.created_at)


class PartnerProfileIn(Body):
    """Only the fields sent change; null clears the phone or the description."""

    name: str | None = Field(None, max_length=NAME_MAX)
    phone: str | None = Field(None, max_length=PHONE_MAX, pattern=PHONE_PATTERN)
    description: str | None = Field(None, max_length=DESCRIPTION_MAX)


class DeclineIn(Body):
    reason: str = Field(min_length=1, max_length=REASON_MAX, description="Shown to the partner's manager.")


class RoomIn(Body):
    name: str = Field(max_length=ROOM_NAME_MAX, description="Unique within the service point, e.g. 餐厅.")
    purpose: str | None = Field(None, max_length=ROOM_PURPOSE_MAX)
    seats: int | None = Field(None, ge=0, le=MAX_SEATS)


class RoomChangeIn(Body):
    """Only the fields sent change; null clears the purpose or the seats."""

    name: str | None = Field(None, max_length=ROOM_NAME_MAX)
    purpose: str | None = Field(None, max_length=ROOM_PURPOSE_MAX)
    seats: int | None = Field(None, ge=0, le=MAX_SEATS)


class RoomOut(Out):
    id: int
    service_point_id: int
    name: str
    purpose: str | None
    seats: int | None

    @classmethod
    def of(cls, room: Room) -> RoomOut:
        return cls(**room.as_dict())


class StaffAccountOut(Out):
    id: int
    name: str
    login: str
    role: Role
    active: bool = Field(description="False: switched off; it cannot log in and its tokens are revoked.")

    @classmethod
    def of(cls, user: User) -> StaffAccountOut:
        return cls(id=user.id, name=user.name, login=user.login, role=user.role, active=user.active)


def _changes(body: Body) -> dict:
    """The fields a PATCH sent (null included: it clears); sending none is a mistake worth saying."""
    changes = body.model_dump(exclude_unset=True)
    if not changes:
        raise BadInput(_("Give at least one field to change."))
    return changes


# --- registration and approval ---

@api.route("POST", "/partner-registrations", auth=False, status=201, body=PartnerRegistrationIn,
           response=PartnerRegistrationOut, errors=(409,), rate_limit=register_rate_limit,
           summary="A partner registers itself with its manager's account; it waits for approval")
def registration(body: PartnerRegistrationIn) -> PartnerRegistrationOut:
    manager = register_partner(name=body.name, kind=body.kind, phone=body.phone, description=body.description,
                               manager_name=body.manager_name, login=body.login, password=body.password, now=now())
    return PartnerRegistrationOut(partner_id=manager.partner_id, user_id=manager.id, approved=False)


@api.route("GET", "/partners/pending", summary="Registrations waiting for approval (community staff, admins)",
           response=list[PartnerProfileOut], errors=(403,))
def pending_registrations(user: User) -> list[PartnerProfileOut]:
    if not user.is_district:
        raise Forbidden(_("Only community staff and admins review registrations."))
    return [PartnerProfileOut.of(partner) for partner in pending_partners()]


@api.route("POST", "/partners/{partner_id}/approve", summary="Approve a partner: it may publish slots from now on",
           response=PartnerProfileOut, errors=(403, 409))
def approve_registration(user: User, partner_id: int) -> PartnerProfileOut:
    return PartnerProfileOut.of(approve_partner(partner_id, by=user, now=now()))


@api.route("POST", "/partners/{partner_id}/decline", summary="Decline a registration, with the reason",
           body=DeclineIn, response=PartnerProfileOut, errors=(403, 409))
def decline_registration(user: User, partner_id: int, body: DeclineIn) -> PartnerProfileOut:
    return PartnerProfileOut.of(decline_partner(partner_id, reason=body.reason, by=user, now=now()))


# --- profile ---

def _partner(partner_id: int) -> PartnerOrganisation:
    partner = db.session.get(PartnerOrganisation, partner_id)
    if partner is None:
        raise NotFound(_("No such partner."))
    return partner


@api.route("GET", "/partners/{partner_id}/profile", summary="A partner's name, phone, description and approval",
           response=PartnerProfileOut, errors=(403,))
def partner_profile(user: User, partner_id: int) -> PartnerProfileOut:
    partner = _partner(partner_id)
    if not can_see_partner(user, partner):
        raise Forbidden(_("You may not see this partner."))
    return PartnerProfileOut.of(partner)


@api.route("PATCH", "/partners/{partner_id}/profile", summary="Change a partner's name, phone or description",
           body=PartnerProfileIn, response=PartnerProfileOut, errors=(403, 409))
def change_partner_profile(user: User, partner_id: int, body: PartnerProfileIn) -> PartnerProfileOut:
    partner = update_profile(partner_id, by=user, now=now(), **_changes(body))
    return PartnerProfileOut.of(partner)


# --- rooms ---

@api.route("GET", "/service-points/{service_point_id}/rooms", summary="The rooms of a service point",
           response=list[RoomOut], errors=(403,))
def service_point_rooms_list(user: User, service_point_id: int) -> list[RoomOut]:
    point = db.session.get(ServicePoint, service_point_id)
    if point is None:
        raise NotFound(_("No such service point."))
    if not can_see_partner(user, point.partner):
        raise Forbidden(_("You may not see this partner."))
    return [RoomOut.of(room) for room in service_point_rooms(point.id)]


@api.route("POST", "/service-points/{service_point_id}/rooms", summary="Add a room to a service point",
           status=201, body=RoomIn, response=RoomOut, errors=(403, 409))
def create_service_point_room(user: User, service_point_id: int, body: RoomIn) -> RoomOut:
    return RoomOut.of(add_room(service_point_id, name=body.name, purpose=body.purpose, seats=body.seats, by=user,
                               now=now()))


@api.route("PATCH", "/rooms/{room_id}", summary="Change a room's name, purpose or seats", body=RoomChangeIn,
           response=RoomOut, errors=(403, 409))
def change_service_point_room(user: User, room_id: int, body: RoomChangeIn) -> RoomOut:
    return RoomOut.of(update_room(room_id, by=user, now=now(), **_changes(body)))


@api.route("DELETE", "/rooms/{room_id}", summary="Remove a room that no service uses", status=204,
           errors=(403, 422))
def delete_service_point_room(user: User, room_id: int) -> None:
    remove_room(room_id, by=user, now=now())


# --- staff accounts ---

@api.route("GET", "/partners/{partner_id}/staff", summary="A partner's staff and manager accounts",
           response=list[StaffAccountOut], errors=(403,))
def partner_staff_accounts(user: User, partner_id: int) -> list[StaffAccountOut]:
    partner = _partner(partner_id)
    if not can_manage_accounts(user, partner.id):
        raise Forbidden(_("Only this partner's manager and community staff see its accounts."))
    return [StaffAccountOut.of(account) for account in partner_accounts(partner.id)]


@api.route("POST", "/users/{user_id}/deactivate", summary="Switch a partner's account off: no log-in, tokens revoked",
           response=StaffAccountOut, errors=(403, 409, 422))
def deactivate_account(user: User, user_id: int) -> StaffAccountOut:
    return StaffAccountOut.of(set_account_active(user_id, False, by=user, now=now()))


@api.route("POST", "/users/{user_id}/reactivate", summary="Switch a partner's account on again",
           response=StaffAccountOut, errors=(403, 409, 422))
def reactivate_account(user: User, user_id: int) -> StaffAccountOut:
    return StaffAccountOut.of(set_account_active(user_id, True, by=user, now=now()))
