"""Partner administration rules: a partner registering itself, community staff approving or declining it,
the partner's profile, the rooms of its service points, and its staff accounts being switched off and on."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from careapp.accounts.models import PARTNER_ROLES, ApiToken, Role, User
from careapp.accounts.services import new_user
from careapp.childcare.staffing import restaff_for_user
from careapp.core import audit
from careapp.core.db import db, lock_for_update, write_transaction
from careapp.core.errors import BadInput, Conflict, Forbidden, NotFound, RuleRefused
from careapp.core.i18n import gettext as _
from careapp.core.validation import require_name
from careapp.partners.models import (
    PartnerKind,
    PartnerOrganisation,
    Room,
    Service,
    ServicePoint,
)

# Column lengths (PostgreSQL refuses longer text; SQLite would silently keep it).
NAME_MAX, PHONE_MAX, DESCRIPTION_MAX, REASON_MAX = 120, 20, 2000, 500
ROOM_NAME_MAX, ROOM_PURPOSE_MAX = 100, 100
MAX_SEATS = 10_000
PROFILE_FIELDS = ("name", "phone", "description")
ROOM_FIELDS = ("name", "purpose", "seats")


# --- small checks ---

def _text(value: str | None, field: str, longest: int) -> str | None:
    """Optional text, stripped; empty is None; too long is refused beside its field."""
    value = (value or "").strip()
    if len(value) > longest:
        raise BadInput(_("Please keep this to %(most)s characters.", most=longest),
                       fields={field: f"at most {longest}"})
    return value or None


def _name(value: str | None, longest: int, field: str = "name") -> str:
    name = require_name(value, field)
    if len(name) > longest:
        raise BadInput(_("Please keep the name to %(most)s characters.", most=longest),
                       fields={field: f"at most {longest}"})
    return name


def _check_name_free(name: str, *, except_id: int | None = None) -> None:
    """Organisation names are unique, whatever their capitals, so nobody registers a look-alike."""
    stmt = sa.select(PartnerOrganisation.id).where(sa.func.lower(PartnerOrganisation.name) == name.lower())
    if except_id is not None:
        stmt = stmt.where(PartnerOrganisation.id != except_id)
    if db.session.scalar(stmt) is not None:
        raise Conflict(_("A partner called %(name)s is already registered. If it is yours, ask its manager for an "
                         "account; otherwise please use your organisation's full name.", name=name),
                       code="duplicate_name", fields={"name": "taken"})


def existing_partner(partner_id: int, *, lock: bool = False) -> PartnerOrganisation:
    """The partner (locked for the rest of the transaction when ``lock``), or NotFound."""
    partner = lock_for_update(PartnerOrganisation, partner_id) if lock else db.session.get(PartnerOrganisation,
                                                                                          partner_id)
    if partner is None:
        raise NotFound(_("No such partner."))
    return partner


def can_set_up_partner(user: User, partner_id: int) -> bool:
    """The partner's profile and rooms: its manager, community staff and admins."""
    return user.is_district or user.manages_partner(partner_id)


def can_see_partner(user: User, partner: PartnerOrganisation) -> bool:
    """As the partner list shows them: district staff every partner, partner staff their own, families the
    approved ones."""
    if user.is_district:
        return True
    if user.role in PARTNER_ROLES:
        return user.partner_id == partner.id
    return partner.approved


def can_manage_accounts(user: User, partner_id: int) -> bool:
    """A partner's staff accounts: its manager, community staff and admins (as for creating them)."""
    return user.is_district or user.manages_partner(partner_id)


def profile_of(partner: PartnerOrganisation) -> dict:
    """What an audit entry records of a partner's profile and approval."""
    return {"name": partner.name, "kind": partner.kind, "phone": partner.phone,
            "description": partner.description, "approved": partner.approved,
            "declined_at": partner.declined_at, "decline_reason": partner.decline_reason}


# --- registration and approval ---

def register_partner(*, name: str, kind: PartnerKind, manager_name: str, login: str, password: str,
                     now: datetime, phone: str | None = None, description: str | None = None,
                     email: str | None = None) -> User:
    """A partner registers itself with its manager's account, in one transaction. The partner waits for
    community staff to approve it: until then it may set up service points, rooms and services, but it
    publishes no slots and families see none of it. Returns the manager, to be logged in."""
    name = _name(name, NAME_MAX)
    phone = _text(phone, "phone", PHONE_MAX)
    description = _text(description, "description", DESCRIPTION_MAX)
    manager_name = _name(manager_name, 100, "manager_name")
    with write_transaction():
        _check_name_free(name)
        partner = PartnerOrganisation(name=name, kind=PartnerKind(kind), approved=False, phone=phone,
                                      description=description, created_at=now)
        db.session.add(partner)
        try:
            db.session.flush()
            manager = new_user(login=login, password=password, role=Role.partner_manager, name=manager_name,
                               now=now, email=email, partner_id=partner.id)
        except IntegrityError:  # a twin registration committed between our check and our insert
            raise Conflict(_("That name or login was registered a moment ago; please check and try again."),
                           code="duplicate_name", fields={"name": "taken"}) from None
        audit.record("partner.registered", partner, actor=manager, now=now, after=profile_of(partner))
        audit.record("user.created", manager, actor=manager, now=now,
                     after={"login": manager.login, "role": manager.role})
        return manager


def approve_partner(partner_id: int, *, by: User, now: datetime) -> PartnerOrganisation:
    """Community staff approve a registered partner: from now on it may publish slots."""
    if not by.is_district:
        raise Forbidden(_("Only community staff and admins approve partners."))
    with write_transaction():
        partner = existing_partner(partner_id, lock=True)
        if partner.approved:
            raise Conflict(_("%(name)s is already approved.", name=partner.name), code="already_approved")
        before = profile_of(partner)
        partner.approved, partner.approved_at, partner.approved_by_id = True, now, by.id
        partner.declined_at = partner.decline_reason = None
        audit.record("partner.approved", partner, actor=by, now=now, before=before, after=profile_of(partner))
        return partner


def decline_partner(partner_id: int, *, reason: str, by: User, now: datetime) -> PartnerOrganisation:
    """Community staff decline a registration, saying why; the partner sees the reason and may be approved later."""
    if not by.is_district:
        raise Forbidden(_("Only community staff and admins decline partners."))
    reason = _text(reason, "reason", REASON_MAX)
    if reason is None:
        raise BadInput(_("Please say why, so the partner knows what to put right."), fields={"reason": "required"})
    with write_transaction():
        partner = existing_partner(partner_id, lock=True)
        if partner.approved:
            raise Conflict(_("%(name)s is already approved; it cannot be declined now.", name=partner.name),
                           code="already_approved")
        before = profile_of(partner)
        partner.declined_at, partner.decline_reason = now, reason
        audit.record("partner.declined", partner, actor=by, now=now, before=before, after=profile_of(partner))
        return partner


# --- profile ---

def update_profile(partner_id: int, *, by: User, now: datetime, **changes: str | None) -> PartnerOrganisation:
    """The partner's manager (or community staff) changes its name, phone or description; fields not given
    stay as they are."""
    unknown = set(changes) - set(PROFILE_FIELDS)
    if unknown:
        raise BadInput(_("Only the name, phone and description can be changed here."),
                       fields={field: "not changeable" for field in sorted(unknown)})
    checked: dict[str, str | None] = {}
    if "name" in changes:
        checked["name"] = _name(changes["name"], NAME_MAX)
    if "phone" in changes:
        checked["phone"] = _text(changes["phone"], "phone", PHONE_MAX)
    if "description" in changes:
        checked["description"] = _text(changes["description"], "description", DESCRIPTION_MAX)
    with write_transaction():
        partner = existing_partner(partner_id, lock=True)
        if not can_set_up_partner(by, partner.id):
            raise Forbidden(_("Only this partner's manager or community staff may change its profile."))
        if "name" in checked:
            _check_name_free(checked["name"], except_id=partner.id)
        before = profile_of(partner)
        for field, value in checked.items():
            setattr(partner, field, value)
        audit.record("partner.profile_changed", partner, actor=by, now=now, before=before, after=profile_of(partner))
        return partner


# --- rooms ---

def _room_values(name: str | None, purpose: str | None, seats: int | None) -> dict:
    if seats is not None and not 0 <= seats <= MAX_SEATS:
        raise BadInput(_("Seats are a whole number from 0 to %(most)s.", most=MAX_SEATS),
                       fields={"seats": f"0-{MAX_SEATS}"})
    return {"name": _name(name, ROOM_NAME_MAX), "purpose": _text(purpose, "purpose", ROOM_PURPOSE_MAX),
            "seats": seats}


def _check_room_name_free(point_id: int, name: str, *, except_id: int | None = None) -> None:
    stmt = sa.select(Room.id).where(Room.service_point_id == point_id, sa.func.lower(Room.name) == name.lower())
    if except_id is not None:
        stmt = stmt.where(Room.id != except_id)
    if db.session.scalar(stmt) is not None:
        raise Conflict(_("This service point already has a room called %(name)s.", name=name), code="duplicate_name",
                       fields={"name": "taken"})


def _point_to_set_up(point_id: int, by: User) -> ServicePoint:
    point = db.session.get(ServicePoint, point_id)
    if point is None:
        raise NotFound(_("No such service point."))
    if not can_set_up_partner(by, point.partner_id):
        raise Forbidden(_("Only this partner's manager or community staff may change its rooms."))
    # Lock the partner: one lock for every change to a partner's rooms, so twin names are caught.
    lock_for_update(PartnerOrganisation, point.partner_id)
    return point


def _room_to_set_up(room_id: int, by: User) -> Room:
    room = db.session.get(Room, room_id)
    if room is None:
        raise NotFound(_("No such room."))
    _point_to_set_up(room.service_point_id, by)
    return room


def add_room(service_point_id: int, *, name: str, by: User, now: datetime, purpose: str | None = None,
             seats: int | None = None) -> Room:
    values = _room_values(name, purpose, seats)
    with write_transaction():
        point = _point_to_set_up(service_point_id, by)
        _check_room_name_free(point.id, values["name"])
        room = Room(service_point_id=point.id, **values)
        db.session.add(room)
        db.session.flush()
        audit.record("room.created", room, actor=by, now=now, after=room.as_dict())
        return room


def update_room(room_id: int, *, by: User, now: datetime, **changes) -> Room:
    """Change a room's name, purpose or seats; fields not given stay as they are."""
    unknown = set(changes) - set(ROOM_FIELDS)
    if unknown:
        raise BadInput(_("A room has a name, a purpose and seats."),
                       fields={field: "not changeable" for field in sorted(unknown)})
    with write_transaction():
        room = _room_to_set_up(room_id, by)
        current = {field: getattr(room, field) for field in ROOM_FIELDS}
        values = _room_values(**{**current, **changes})
        _check_room_name_free(room.service_point_id, values["name"], except_id=room.id)
        before = room.as_dict()
        for field, value in values.items():
            setattr(room, field, value)
        audit.record("room.changed", room, actor=by, now=now, before=before, after=room.as_dict())
        return room


def remove_room(room_id: int, *, by: User, now: datetime) -> Room:
    """Remove a room no service uses (a service in it must move first: its families know it by that room)."""
    with write_transaction():
        room = _room_to_set_up(room_id, by)
        users = list(db.session.scalars(sa.select(Service.name).where(Service.room_id == room.id)
                                        .order_by(Service.name)))
        if users:
            raise RuleRefused(_("%(room)s is used by %(services)s. Move that service to another room first.",
                                room=room.name, services=", ".join(users)),
                              code="room_in_use", fields={"room": "in use"})
        audit.record("room.removed", room, actor=by, now=now, before=room.as_dict())
        db.session.delete(room)
        return room


# --- staff accounts ---

def set_account_active(user_id: int, active: bool, *, by: User, now: datetime) -> User:
    """Switch a partner's staff or manager account off (it can no longer log in, its API tokens end) or on.
    Its manager, community staff and admins may; nobody switches off their own account."""
    with write_transaction():
        account = lock_for_update(User, user_id)
        if account is None:
            raise NotFound(_("No such account."))
        if account.role not in PARTNER_ROLES or not can_manage_accounts(by, account.partner_id):
            raise Forbidden(_("Only this partner's manager or community staff may switch its accounts off or on."))
        if account.id == by.id:
            raise RuleRefused(_("You cannot switch off your own account. Ask community staff or another manager."),
                              code="own_account")
        if account.active == active:
            message = (_("%(name)s's account is already active.", name=account.name) if active
                       else _("%(name)s's account is already switched off.", name=account.name))
            raise Conflict(message, code="wrong_state")
        account.active = active
        if not active:
            db.session.execute(sa.update(ApiToken).where(ApiToken.user_id == account.id,
                                                         ApiToken.revoked_at.is_(None)).values(revoked_at=now))
        db.session.flush()
        # Only active accounts count towards a class's staff ratio: the classes this person works in
        # from today lose (or regain) their places now, not at the next roster change.
        restaff_for_user(account.id, now=now, by=by)
        audit.record("user.activated" if active else "user.deactivated", account, actor=by, now=now,
                     before={"active": not active}, after={"active": active})
        return account
