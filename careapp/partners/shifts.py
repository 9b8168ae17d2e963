"""Staff and volunteer shifts at a partner's service points: the rules.

A partner's manager (or an admin) plans shifts per service point and local day, each needing between
``min_people`` and ``max_people``; staff shifts are worked by the partner's own staff accounts, volunteer
shifts by its volunteers. Nobody is on two shifts that overlap on one day (a shift ending at 12:00 and one
starting at 12:00 do not overlap). Shifts that have ended are history and do not change.

Locking: each change locks the shift, then the person it rosters (so two managers cannot put one person on
two clashing shifts at once), then, through :func:`careapp.childcare.staffing.restaff_slots`, the childcare
slots whose staffed places the change moves. Every change is one transaction with its audit entry.
"""
from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa

from careapp.accounts.models import PARTNER_ROLES, User
from careapp.childcare.staffing import restaff_slots
from careapp.core import audit
from careapp.core.db import db, lock_for_update, write_transaction
from careapp.core.errors import BadInput, Conflict, Forbidden, NotFound, RuleRefused
from careapp.core.i18n import gettext as _
from careapp.core.i18n import lazy_gettext as _l
from careapp.core.i18n import local_time, short_date
from careapp.core.timefmt import from_local, local_date
from careapp.core.validation import CONTROL_CHARACTERS, require_name
from careapp.partners.models import (PartnerOrganisation, Service, ServicePoint, Shift, ShiftAssignment, ShiftRole,
                                     Volunteer)

MAX_PEOPLE = 100
TITLE_LENGTH = 100
NAME_LENGTH = 100
# Far enough to plan a school year; a later day is a slip of the keyboard.
PLAN_AHEAD_DAYS = 366
PHONE = re.compile(r"^[0-9+\- ]{3,20}$")
MANAGERS_ONLY = _l("Only this partner's manager or an admin may plan its shifts.")
EDITABLE = ("day", "start_time", "end_time", "role", "title", "min_people", "max_people", "service_id")


# --- checks on input, before any transaction ---

def _checked_title(title: str | None) -> str:
    title = require_name(title, "title")
    if len(title) > TITLE_LENGTH:
        raise BadInput(_("A shift's title is at most %(most)s characters.", most=TITLE_LENGTH),
                       fields={"title": f"max {TITLE_LENGTH}"})
    return title


def _checked_role(role: ShiftRole | str) -> ShiftRole:
    try:
        return ShiftRole(role)
    except ValueError:
        raise BadInput(_("A shift is for staff or for volunteers."), fields={"role": "staff or volunteer"}) from None


def _check_people(min_people: int, max_people: int) -> None:
    if not 0 <= min_people <= MAX_PEOPLE:
        raise BadInput(_("The fewest people needed is 0 to %(most)s.", most=MAX_PEOPLE),
                       fields={"min_people": f"0-{MAX_PEOPLE}"})
    if not 1 <= max_people <= MAX_PEOPLE:
        raise BadInput(_("The most people on a shift is 1 to %(most)s.", most=MAX_PEOPLE),
                       fields={"max_people": f"1-{MAX_PEOPLE}"})
    if max_people < min_people:
        raise BadInput(_("The most people cannot be fewer than the fewest needed."),
                       fields={"max_people": f"at least {min_people}"})


def _check_times(day: date, start_time: time, end_time: time, now: datetime) -> None:
    if start_time.tzinfo is not None or end_time.tzinfo is not None:
        raise BadInput(_("Give local times without an offset, e.g. 08:00."), fields={"start_time": "local time"})
    if end_time <= start_time:
        raise BadInput(_("A shift must end after it starts (on the same day)."),
                       fields={"end_time": "after start_time"})
    today = local_date(now)
    if day > today + timedelta(days=PLAN_AHEAD_DAYS):
        raise BadInput(_("Shifts can be planned up to a year ahead."), fields={"day": "within a year"})
    if day < today or from_local(day, end_time) <= now:
        raise RuleRefused(_("That shift would be over already; shifts are planned for today or later."),
                          code="shift_in_past", fields={"day": "in the past"})


# --- loading under the rules' access checks ---

def _managed_point(point_id: int, by: User) -> ServicePoint:
    point = db.session.get(ServicePoint, point_id)
    if point is None:
        raise NotFound(_("No such service point."))
    if not by.manages_partner(point.partner_id):
        raise Forbidden(str(MANAGERS_ONLY))
    return point


def _locked_shift(shift_id: int, by: User) -> Shift:
    shift = lock_for_update(Shift, shift_id)
    if shift is None:
        raise NotFound(_("No such shift."))
    if not by.manages_partner(shift.service_point.partner_id):
        raise Forbidden(str(MANAGERS_ONLY))
    return shift


def _check_not_over(shift: Shift, now: datetime) -> None:
    ended = from_local(shift.day, shift.end_time)
    if ended <= now:
        raise RuleRefused(_("This shift ended at %(time)s; past shifts stay as they were.", time=local_time(ended)),
                          code="shift_over")


def _service_at(point: ServicePoint, service_id: int | None) -> Service | None:
    if service_id is None:
        return None
    service = db.session.get(Service, service_id)
    if service is None or service.service_point_id != point.id:
        raise BadInput(_("Choose a service that takes place at %(point)s.", point=point.name),
                       fields={"service_id": "not at this point"})
    return service


def snapshot(shift: Shift) -> dict[str, Any]:
    return {"service_point_id": shift.service_point_id, "service_id": shift.service_id, "day": shift.day.isoformat(),
            "start_time": shift.start_time.isoformat("minutes"), "end_time": shift.end_time.isoformat("minutes"),
            "role": shift.role, "title": shift.title, "min_people": shift.min_people, "max_people": shift.max_people}


def describe(shift: Shift) -> str:
    """A shift as people name it: "Morning care" 08:00-12:00 at 艺涵托育园 on 2026-12-02."""
    return _('"%(title)s" %(start)s-%(end)s at %(point)s on %(day)s', title=shift.title,
             start=f"{shift.start_time:%H:%M}", end=f"{shift.end_time:%H:%M}", point=shift.service_point.name,
             day=short_date(shift.day))


def _restaff(shift_keys: set[tuple[int | None, date]], *, now: datetime, by: User) -> None:
    for service_id, day in sorted(shift_keys, key=lambda key: (key[0] or 0, key[1])):
        restaff_slots(service_id, day, now=now, by=by)


# --- shifts ---

def create_shift(*, point_id: int, day: date, start_time: time, end_time: time, role: ShiftRole | str, title: str,
                 by: User, now: datetime, min_people: int = 1, max_people: int = 1,
                 service_id: int | None = None) -> Shift:
    """Plan a shift at a service point; ``service_id`` is the class or service it staffs (at that point)."""
    title, role = _checked_title(title), _checked_role(role)
    _check_people(min_people, max_people)
    _check_times(day, start_time, end_time, now)
    with write_transaction():
        point = _managed_point(point_id, by)
        _service_at(point, service_id)
        shift = Shift(service_point_id=point.id, service_id=service_id, day=day, start_time=start_time,
                      end_time=end_time, role=role, title=title, min_people=min_people, max_people=max_people,
                      created_at=now)
        db.session.add(shift)
        db.session.flush()
        audit.record("shift.created", shift, actor=by, now=now, after=snapshot(shift))
        _restaff({(service_id, day)}, now=now, by=by)  # nobody is on it yet; kept for every change alike
        return shift


def update_shift(shift_id: int, *, by: User, now: datetime, **changes: Any) -> Shift:
    """Change a shift's day, times, role, title, numbers or class; the people on it must still fit."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise BadInput(_("These cannot be changed: %(fields)s", fields=", ".join(sorted(unknown))),
                       fields={name: "not changeable" for name in sorted(unknown)})
    empty = [name for name, value in changes.items() if value is None and name != "service_id"]
    if empty:
        raise BadInput(_("Give a value for each field you change."), fields={name: "required" for name in empty})
    if "title" in changes:
        changes["title"] = _checked_title(changes["title"])
    if "role" in changes:
        changes["role"] = _checked_role(changes["role"])
    with write_transaction():
        shift = _locked_shift(shift_id, by)
        _check_not_over(shift, now)
        before = snapshot(shift)
        old_key = (shift.service_id, shift.day)
        new = {name: changes.get(name, getattr(shift, name)) for name in EDITABLE}
        _check_people(new["min_people"], new["max_people"])
        _check_times(new["day"], new["start_time"], new["end_time"], now)
        _service_at(shift.service_point, new["service_id"])
        people = list(shift.assignments)
        if new["role"] != shift.role and people:
            raise RuleRefused(_("Take the people off this shift before changing who it is for."),
                              code="shift_has_people", fields={"role": "people assigned"})
        if len(people) > new["max_people"]:
            raise RuleRefused(_("%(count)s people are on this shift; the most cannot be fewer.", count=len(people)),
                              code="shift_full", fields={"max_people": f"at least {len(people)}"})
        for name, value in new.items():
            setattr(shift, name, value)
        for assignment in sorted(people, key=_person_key):
            _lock_person(assignment.user_id, assignment.volunteer_id)
            _check_no_clash(shift, assignment.user_id, assignment.volunteer_id, _person_name(assignment))
        after = snapshot(shift)
        if after == before:
            return shift
        audit.record("shift.changed", shift, actor=by, now=now, before=before, after=after)
        _restaff({old_key, (shift.service_id, shift.day)}, now=now, by=by)
        return shift


def delete_shift(shift_id: int, *, by: User, now: datetime) -> None:
    """Remove a planned shift with everyone on it (a childcare class may then have fewer places)."""
    with write_transaction():
        shift = _locked_shift(shift_id, by)
        _check_not_over(shift, now)
        key = (shift.service_id, shift.day)
        audit.record("shift.deleted", shift, actor=by, now=now,
                     before={**snapshot(shift), "people": [_person_name(a) for a in shift.assignments]})
        db.session.delete(shift)
        db.session.flush()
        _restaff({key}, now=now, by=by)


# --- people on shifts ---

def _person_key(assignment: ShiftAssignment) -> tuple[int, int]:
    """Lock order for people: staff accounts by id, then volunteers by id."""
    return (0, assignment.user_id) if assignment.user_id is not None else (1, assignment.volunteer_id)


def _person_name(assignment: ShiftAssignment) -> str:
    return assignment.user.name if assignment.user_id is not None else assignment.volunteer.name


def _lock_person(user_id: int | None, volunteer_id: int | None) -> User | Volunteer | None:
    return lock_for_update(User, user_id) if user_id is not None else lock_for_update(Volunteer, volunteer_id)


def _check_no_clash(shift: Shift, user_id: int | None, volunteer_id: int | None, name: str) -> None:
    """Refuse when the person is on another shift that day whose times overlap (touching is fine)."""
    person = ShiftAssignment.user_id == user_id if user_id is not None else ShiftAssignment.volunteer_id == volunteer_id
    other = db.session.scalar(
        sa.select(Shift).join(ShiftAssignment, ShiftAssignment.shift_id == Shift.id)
        .where(person, Shift.id != shift.id, Shift.day == shift.day,
               Shift.start_time < shift.end_time, Shift.end_time > shift.start_time)
        .order_by(Shift.start_time, Shift.id).limit(1))
    if other is not None:
        raise RuleRefused(_('%(name)s is already on the shift "%(title)s" %(start)s-%(end)s at %(point)s on %(day)s, '
                            "which overlaps this one.", name=name, title=other.title,
                            start=f"{other.start_time:%H:%M}", end=f"{other.end_time:%H:%M}",
                            point=other.service_point.name, day=short_date(other.day)),
                          code="shift_clash", fields={"user_id" if user_id is not None else "volunteer_id": "clash"})


def _checked_person(shift: Shift, user_id: int | None, volunteer_id: int | None) -> tuple[User | Volunteer, str]:
    """The person to roster, locked: one of this partner's active staff accounts or volunteers, as the shift needs."""
    partner = shift.service_point.partner
    if shift.role == ShiftRole.staff and user_id is None:
        raise BadInput(_("This is a staff shift: choose a member of staff."), fields={"user_id": "required"})
    if shift.role == ShiftRole.volunteer and volunteer_id is None:
        raise BadInput(_("This is a volunteer shift: choose a volunteer."), fields={"volunteer_id": "required"})
    person = _lock_person(user_id, volunteer_id)
    field = "user_id" if user_id is not None else "volunteer_id"
    if person is None:
        raise BadInput(_("Choose someone from the list."), fields={field: "unknown"})
    if isinstance(person, User):
        ours = person.role in PARTNER_ROLES and person.partner_id == partner.id
    else:
        ours = person.partner_id == partner.id
    if not ours:
        raise RuleRefused(_("%(person)s does not work for %(partner)s; choose one of its own people.",
                            person=person.name, partner=partner.name),
                          code="not_this_partner", fields={field: "another partner"})
    if not person.active:
        raise RuleRefused(_("%(person)s is no longer active at %(partner)s.", person=person.name, partner=partner.name),
                          code="person_inactive",
                          fields={field: "inactive"})
    return person, field


def assign(shift_id: int, *, by: User, now: datetime, user_id: int | None = None,
           volunteer_id: int | None = None) -> ShiftAssignment:
    """Put one person on a shift: a staff account on a staff shift, a volunteer on a volunteer shift."""
    if (user_id is None) == (volunteer_id is None):
        raise BadInput(_("Choose one person: a member of staff or a volunteer."))
    with write_transaction():
        shift = _locked_shift(shift_id, by)
        _check_not_over(shift, now)
        person, field = _checked_person(shift, user_id, volunteer_id)
        if any(a.user_id == user_id and a.volunteer_id == volunteer_id for a in shift.assignments):
            raise Conflict(_("%(person)s is already on this shift.", person=person.name), code="already_on_shift",
                           fields={field: "taken"})
        if len(shift.assignments) >= shift.max_people:
            raise RuleRefused(_("This shift already has its most people (%(most)s).", most=shift.max_people),
                              code="shift_full",
                              fields={field: "shift full"})
        _check_no_clash(shift, user_id, volunteer_id, person.name)
        assignment = ShiftAssignment(shift=shift, user_id=user_id, volunteer_id=volunteer_id, created_at=now)
        db.session.add(assignment)
        db.session.flush()
        audit.record("shift.assigned", assignment, actor=by, now=now,
                     after={"shift_id": shift.id, "user_id": user_id, "volunteer_id": volunteer_id,
                            "name": person.name})
        _restaff({(shift.service_id, shift.day)}, now=now, by=by)
        return assignment


def unassign(shift_id: int, assignment_id: int, *, by: User, now: datetime) -> ShiftAssignment:
    """Take a person off a shift (a childcare class may then have fewer places; booked children keep theirs)."""
    with write_transaction():
        shift = _locked_shift(shift_id, by)
        assignment = db.session.get(ShiftAssignment, assignment_id)
        if assignment is None or assignment.shift_id != shift.id:
            raise NotFound(_("That person is not on this shift."))
        _check_not_over(shift, now)
        audit.record("shift.unassigned", assignment, actor=by, now=now,
                     before={"shift_id": shift.id, "user_id": assignment.user_id,
                             "volunteer_id": assignment.volunteer_id, "name": _person_name(assignment)})
        shift.assignments.remove(assignment)
        db.session.flush()
        _restaff({(shift.service_id, shift.day)}, now=now, by=by)
        return assignment


# --- volunteers ---

def add_volunteer(*, partner_id: int, name: str, by: User, now: datetime, phone: str | None = None) -> Volunteer:
    """A volunteer who works the partner's volunteer shifts (no login of their own)."""
    name = require_name(name)
    if len(name) > NAME_LENGTH:
        raise BadInput(_("A name is at most %(most)s characters.", most=NAME_LENGTH),
                       fields={"name": f"max {NAME_LENGTH}"})
    phone = (phone or "").strip() or None
    if phone is not None and (not PHONE.match(phone) or CONTROL_CHARACTERS.search(phone)):
        raise BadInput(_("Give the phone number in digits, for example 13912345678."), fields={"phone": "digits"})
    with write_transaction():
        if db.session.get(PartnerOrganisation, partner_id) is None:
            raise NotFound(_("No such partner."))
        if not by.manages_partner(partner_id):
            raise Forbidden(_("Only this partner's manager or an admin may add its volunteers."))
        volunteer = Volunteer(partner_id=partner_id, name=name, phone=phone, active=True)
        db.session.add(volunteer)
        db.session.flush()
        audit.record("volunteer.added", volunteer, actor=by, now=now, after={"name": name, "partner_id": partner_id})
        return volunteer
