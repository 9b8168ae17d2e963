"""Partner rules: organisations, service points, services, and publishing slots."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from careapp.accounts.models import User
from careapp.booking.policies import policy_for
from careapp.childcare.staffing import staffed_places_for
from careapp.core import audit
from careapp.core.db import db, write_transaction
from careapp.core.errors import BadInput, Conflict, Forbidden, NotFound, RuleRefused
from careapp.core.i18n import gettext as _
from careapp.core.i18n import lazy_gettext as _l
from careapp.core.timefmt import from_local, local_date
from careapp.core.validation import check_coordinates, require_name
from careapp.enrolments.services import book_enrolments
from careapp.partners.models import (
    FillPolicy,
    PartnerKind,
    PartnerOrganisation,
    Room,
    Service,
    ServiceKind,
    ServicePoint,
    SessionLength,
    Slot,
    SlotPattern,
    SlotStatus,
)

# Upper bounds of a service's settings: anything longer is a slip of the keyboard, and a far-off
# cutoff or offer expiry would push datetime arithmetic past the year 9999.
MAX_CUTOFF_MINUTES = 60 * 24 * 60
MAX_OFFER_HOURS = 14 * 24
ABILITY_LEVELS = range(5)  # GB/T 42195-2022: 0 能力完好 .. 4 完全丧失
# Which kinds of care each kind-specific setting belongs to (the service form shows them by kind too).
SETTINGS_FOR_KINDS: dict[str, frozenset[ServiceKind]] = {
    "session_length": frozenset({ServiceKind.daycare, ServiceKind.childcare}),
    "lunch_included": frozenset({ServiceKind.daycare}),
    "transport": frozenset({ServiceKind.daycare}),
    "meal": frozenset({ServiceKind.meal}),
    "price_fen": frozenset({ServiceKind.meal}),
    "delivery_radius_m": frozenset({ServiceKind.meal}),
    "child_class": frozenset({ServiceKind.childcare}),
    "class_size": frozenset({ServiceKind.childcare}),
    "children_per_staff": frozenset({ServiceKind.childcare}),
}
SETTING_NAMES = {"session_length": _l("The session length"), "lunch_included": _l("Lunch included"),
                 "transport": _l("Transport (接送)"), "meal": _l("The meal"), "price_fen": _l("The meal price"),
                 "delivery_radius_m": _l("The delivery radius"), "child_class": _l("The class"),
                 "class_size": _l("The class size"), "children_per_staff": _l("Children per staff member")}
KIND_NAMES = {ServiceKind.daycare: _l("day care"), ServiceKind.meal: _l("meal help"),
              ServiceKind.childcare: _l("childcare"), ServiceKind.activity: _l("activities")}
# DOMAIN.md: day care runs half or full days; childcare also occasional care (临时托) and after school.
SESSION_LENGTHS = {ServiceKind.daycare: (SessionLength.half_day, SessionLength.full_day),
                   ServiceKind.childcare: tuple(SessionLength), ServiceKind.meal: (), ServiceKind.activity: ()}
# The refusal of another session length, one sentence per kind (the codes in English, plain words in Chinese).
SESSIONS_REFUSED = {
    ServiceKind.daycare: _l("Day care sessions are half_day, full_day."),
    ServiceKind.childcare: _l("Childcare sessions are half_day, full_day, occasional, after_school."),
    ServiceKind.meal: _l("Meal help has no sessions."),
    ServiceKind.activity: _l("Activities have no sessions."),
}
# Bounds that catch slips of the keyboard: ¥1,000 a meal, 10 km of delivery, a class of 60, 1 adult per 30.
MAX_MEAL_PRICE_FEN = 100_000
SETTING_BOUNDS = {"price_fen": (0, MAX_MEAL_PRICE_FEN), "delivery_radius_m": (0, 10_000), "class_size": (1, 60),
                  "children_per_staff": (1, 30)}




def _existing_partner(partner_id: int) -> PartnerOrganisation:
    partner = db.session.get(PartnerOrganisation, partner_id)
    if partner is None:
        raise NotFound(_("No such partner."))
    return partner


def _managed_partner(partner_id: int, by: User) -> PartnerOrganisation:
    partner = _existing_partner(partner_id)
    if not by.manages_partner(partner_id):
        raise Forbidden(_("Only this partner's manager or an admin may do that."))
    return partner


def create_partner(*, name: str, kind: PartnerKind, by: User, now: datetime, phone: str | None = None) -> PartnerOrganisation:
    """Community staff and admins add a partner; added this way it is approved at once."""
    if not by.is_district:
        raise Forbidden(_("Only community staff and admins add partners."))
    name = require_name(name)
    with write_transaction():
        if db.session.scalar(sa.select(PartnerOrganisation.id).where(PartnerOrganisation.name == name)):
            raise Conflict(_("A partner of that name exists already."), code="duplicate_name", fields={"name": "taken"})
        partner = PartnerOrganisation(name=name, kind=kind, approved=True, phone=phone, created_at=now,
                                      approved_at=now, approved_by_id=by.id)
        db.session.add(partner)
        db.session.flush()
        audit.record("partner.created", partner, actor=by, now=now, after=partner.as_dict())
        return partner


def add_service_point(*, partner_id: int, name: str, address: str, latitude: float, longitude: float,
                      by: User, now: datetime) -> ServicePoint:
    name = require_name(name)
    check_coordinates(latitude, longitude)
    with write_transaction():
        _existing_partner(partner_id)
        if not (by.is_district or by.manages_partner(partner_id)):
            raise Forbidden(_("Only this partner's manager, community staff or an admin may add service points."))
        point = ServicePoint(partner_id=partner_id, name=name, address=(address or "").strip(),
                             latitude=latitude, longitude=longitude)
        db.session.add(point)
        db.session.flush()
        audit.record("service_point.created", point, actor=by, now=now, after=point.as_dict())
        return point


def create_service(*, partner_id: int, kind: ServiceKind, name: str, capacity: int, service_point_id: int,
                   by: User, now: datetime, fill_policy: FillPolicy = FillPolicy.auto, **settings) -> Service:
    """A partner's manager publishes a service of a kind; its settings tune that kind's policy."""
    name = require_name(name)
    if capacity < 0:
        raise BadInput(_("Capacity cannot be negative."), fields={"capacity": "min 0"})
    settings = _checked_service_settings(settings, kind)
    with write_transaction():
        _managed_partner(partner_id, by)
        point = db.session.get(ServicePoint, service_point_id)
        if point is None or point.partner_id != partner_id:
            raise BadInput(_("Choose one of this partner's service points."), fields={"service_point_id": "unknown"})
        _check_room(settings.get("room_id"), point)
        service = Service(partner_id=partner_id, service_point_id=point.id, kind=kind, name=name,
                          default_capacity=capacity, fill_policy=fill_policy, **settings)
        db.session.add(service)
        db.session.flush()
        audit.record("service.created", service, actor=by, now=now, after=service.as_dict())
        return service


def _checked_service_settings(settings: dict, kind: ServiceKind) -> dict:
    """Cutoffs, offer hours and eligibility limits within sane bounds; ability levels stored as digits;
    each kind's own settings only on that kind, within their bounds."""
    _check_kind_settings(settings, kind)
    for field in ("booking_cutoff_minutes", "cancel_cutoff_minutes"):
        value = settings.get(field)
        if value is not None and not 0 <= value <= MAX_CUTOFF_MINUTES:
            raise BadInput(_("A cutoff is minutes before the start, 0 to %(most)s.", most=MAX_CUTOFF_MINUTES),
                           fields={field: f"0-{MAX_CUTOFF_MINUTES}"})
    offer_hours = settings.get("offer_hours")
    if offer_hours is not None and not 1 <= offer_hours <= MAX_OFFER_HOURS:
        raise BadInput(_("An offered place is held 1 to %(most)s hours.", most=MAX_OFFER_HOURS),
                       fields={"offer_hours": f"1-{MAX_OFFER_HOURS}"})
    for low, high in (("min_age_years", "max_age_years"), ("min_age_months", "max_age_months")):
        for field in (low, high):
            if settings.get(field) is not None and settings[field] < 0:
                raise BadInput(_("An age limit cannot be negative."), fields={field: "min 0"})
        if settings.get(low) is not None and settings.get(high) is not None and settings[low] > settings[high]:
            raise BadInput(_("The lowest age cannot be above the highest."), fields={high: f"at least {settings[low]}"})
    if settings.get("ability_levels") is not None:
        settings = {**settings, "ability_levels": _ability_level_digits(settings["ability_levels"])}
    return settings


def _check_kind_settings(settings: dict, kind: ServiceKind) -> None:
    for name, kinds in SETTINGS_FOR_KINDS.items():
        value = settings.get(name)
        if value is not None and value is not False and kind not in kinds:
            raise BadInput(_("%(setting)s is a setting of %(kinds)s only.", setting=SETTING_NAMES[name],
                             kinds=_kinds_phrase(kinds)), fields={name: "not for this kind"})
    if kind == ServiceKind.meal and settings.get("meal") is None:
        raise BadInput(_("Say which meal this is: lunch or dinner."), fields={"meal": "required for meal help"})
    if kind == ServiceKind.meal:
        # Meal orders close at the sub-district's meal cutoffs (MEAL_LUNCH_CUTOFF, MEAL_DINNER_CUTOFF), not at
        # minutes before the meal: a number here would be silently ignored, so it is refused.
        for name in ("booking_cutoff_minutes", "cancel_cutoff_minutes"):
            if settings.get(name) is not None:
                raise BadInput(_("Meal orders close at the meal cutoff the sub-district sets (09:00 for lunch, "
                                 "14:00 for dinner by default), not at minutes before the meal."),
                               fields={name: "not for meal help"})
    session = settings.get("session_length")
    if session is not None and session not in SESSION_LENGTHS[kind]:
        allowed = ", ".join(length.value for length in SESSION_LENGTHS[kind])
        raise BadInput(str(SESSIONS_REFUSED[kind]), fields={"session_length": allowed})
    for name, (low, high) in SETTING_BOUNDS.items():
        value = settings.get(name)
        if value is not None and not low <= value <= high:
            raise BadInput(_("%(setting)s is %(low)s to %(high)s.", setting=SETTING_NAMES[name], low=low, high=high),
                           fields={name: f"{low}-{high}"})


def _kinds_phrase(kinds: frozenset[ServiceKind]) -> str:
    """The kinds a setting belongs to, in words: "day care and childcare"."""
    names = [str(KIND_NAMES[kind]) for kind in sorted(kinds, key=lambda k: k.value)]
    phrase = names[0]
    for name in names[1:]:
        phrase = _("%(first)s and %(second)s", first=phrase, second=name)
    return phrase


def _check_room(room_id: int | None, point: ServicePoint) -> None:
    if room_id is None:
        return
    room = db.session.get(Room, room_id)
    if room is None or room.service_point_id != point.id:
        raise BadInput(_("Choose a room of %(point)s.", point=point.name),
                       fields={"room_id": "not a room of this service point"})


def _ability_level_digits(levels: str | Iterable[int]) -> str:
    """Accepted levels as stored, e.g. "012"; given as those digits (forms) or a list of levels (API)."""
    values = [int(c) if c in "01234" else -1 for c in levels] if isinstance(levels, str) else list(levels)
    if not values or any(value not in ABILITY_LEVELS for value in values):
        raise BadInput(_("Accepted ability levels are one or more of 0 to 4 (GB/T 42195-2022)."),
                       fields={"ability_levels": "0-4, at least one"})
    return "".join(str(value) for value in sorted(set(values)))


def _publishable_service(service_id: int, by: User) -> Service:
    service = db.session.get(Service, service_id)
    if service is None:
        raise NotFound(_("No such service."))
    if not by.manages_partner(service.partner_id):
        raise Forbidden(_("Only this partner's manager or an admin may publish slots."))
    if not service.partner.approved:
        raise RuleRefused(_("This partner is not approved yet; it cannot publish slots."), code="partner_not_approved")
    return service


def _check_capacity(service: Service, capacity: int, starts_at: datetime, ends_at: datetime) -> None:
    if capacity < 0:
        raise BadInput(_("Capacity cannot be negative."), fields={"capacity": "min 0"})
    limit = policy_for(service.kind).capacity_limit(Slot(service=service, capacity=capacity,
                                                         starts_at=starts_at, ends_at=ends_at))
    if limit is not None and capacity > limit:
        raise RuleRefused(_("The rules for this service allow at most %(limit)s places.", limit=limit),
                          code="capacity_above_limit", fields={"capacity": f"at most {limit}"})


def create_slot(*, service_id: int, starts_at: datetime, ends_at: datetime, by: User, now: datetime,
                capacity: int | None = None) -> Slot:
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise BadInput(_("Give times with their offset, e.g. 2026-12-01T08:30:00+08:00."),
                       fields={"starts_at": "needs offset"})
    if ends_at <= starts_at:
        raise BadInput(_("A slot must end after it starts."), fields={"ends_at": "after starts_at"})
    if starts_at <= now:
        raise BadInput(_("A slot must start in the future."), fields={"starts_at": "in the past"})
    with write_transaction():
        service = _publishable_service(service_id, by)
        capacity = service.default_capacity if capacity is None else capacity
        _check_capacity(service, capacity, starts_at, ends_at)
        if _slot_exists(service.id, starts_at):
            raise Conflict(_("This service already has a slot starting then."), code="duplicate_slot",
                           fields={"starts_at": "taken"})
        slot = _new_slot(service, starts_at, ends_at, capacity, now)
        audit.record("slot.created", slot, actor=by, now=now,
                     after={"starts_at": starts_at, "ends_at": ends_at, "capacity": capacity})
    _book_standing_enrolments([slot.id], now=now)
    return slot


def _book_standing_enrolments(slot_ids: list[int], *, now: datetime) -> None:
    """Standing enrolments take their places in newly published slots, once the slots are committed (each
    booking is a transaction of its own, so one refusal never undoes the slot or the other bookings)."""
    for slot_id in slot_ids:
        book_enrolments(slot_id, now=now)


def _slot_exists(service_id: int, starts_at: datetime) -> bool:
    return db.session.scalar(sa.select(Slot.id).where(Slot.service_id == service_id, Slot.starts_at == starts_at)) \
        is not None


def _new_slot(service: Service, starts_at: datetime, ends_at: datetime, capacity: int, now: datetime,
              pattern: SlotPattern | None = None) -> Slot:
    slot = Slot(service_id=service.id, starts_at=starts_at, ends_at=ends_at, capacity=capacity,
                status=SlotStatus.open, created_at=now, pattern_id=pattern.id if pattern else None,
                staffed_places=staffed_places_for(service, starts_at, ends_at))
    db.session.add(slot)
    db.session.flush()
    return slot


def add_weekly_pattern(*, service_id: int, weekdays: list[int], start_time: time, end_time: time,
                       valid_from: date, by: User, now: datetime, capacity: int | None = None,
                       valid_until: date | None = None, open_days: int | None = None) -> list[SlotPattern]:
    """A weekly recurring slot on the given weekdays (0 = Monday), opened at once for ``open_days``
    (default: the OPEN_DAYS_AHEAD setting, as far as the scheduler keeps every pattern open)."""
    if not weekdays or any(day not in range(7) for day in weekdays):
        raise BadInput(_("Choose at least one weekday."), fields={"weekdays": "0 (Mon) to 6 (Sun)"})
    if end_time <= start_time:
        raise BadInput(_("A slot must end after it starts."), fields={"end_time": "after start_time"})
    if valid_until is not None and valid_until < valid_from:
        raise BadInput(_("The pattern must end after it starts."), fields={"valid_until": "after valid_from"})
    with write_transaction():
        service = _publishable_service(service_id, by)
        capacity = service.default_capacity if capacity is None else capacity
        _check_capacity(service, capacity, from_local(valid_from, start_time), from_local(valid_from, end_time))
        patterns = []
        for weekday in sorted(set(weekdays)):
            pattern = SlotPattern(service_id=service.id, weekday=weekday, start_time=start_time,
                                  end_time=end_time, capacity=capacity, valid_from=valid_from,
                                  valid_until=valid_until)
            db.session.add(pattern)
            db.session.flush()
            audit.record("slot_pattern.created", pattern, actor=by, now=now,
                         after={"weekday": weekday, "start_time": start_time.isoformat(),
                                "end_time": end_time.isoformat(), "capacity": capacity})
            patterns.append(pattern)
        if open_days is None:
            open_days = current_app.config["OPEN_DAYS_AHEAD"]
        through = local_date(now) + timedelta(days=open_days)
        opened = [slot.id for pattern in patterns
                  for slot in open_pattern_slots(pattern, through=through, now=now, by=by)]
    _book_standing_enrolments(opened, now=now)
    return patterns


def open_pattern_slots(pattern: SlotPattern, *, through: date, now: datetime, by: User | None) -> list[Slot]:
    """Create the pattern's missing future slots up to ``through`` (never two for one start).

    Call inside a write transaction; the scheduler calls it for every pattern.
    """
    last = through if pattern.valid_until is None else min(through, pattern.valid_until)
    day = max(pattern.valid_from, local_date(now))
    day += timedelta(days=(pattern.weekday - day.weekday()) % 7)
    # The service's starts already taken in the range, read once (the hourly job runs this for every pattern).
    taken = set(db.session.scalars(sa.select(Slot.starts_at).where(
        Slot.service_id == pattern.service_id, Slot.starts_at >= from_local(day, time.min),
        Slot.starts_at < from_local(last + timedelta(days=1), time.min))))
    opened = []
    while day <= last:
        starts_at, ends_at = from_local(day, pattern.start_time), from_local(day, pattern.end_time)
        if starts_at > now and starts_at not in taken:
            slot = _new_slot(pattern.service, starts_at, ends_at, pattern.capacity, now, pattern)
            audit.record("slot.created", slot, actor=by, now=now,
                         after={"starts_at": starts_at, "pattern_id": pattern.id})
            opened.append(slot)
        day += timedelta(days=7)
    return opened


def open_coming_slots(*, now: datetime, days: int) -> list[int]:
    """Open every weekly pattern's slots up to ``days`` local days ahead, then book standing enrolments into
    the new ones. (The scheduler's job; safe to run again: a service never gets two slots at one start.)

    Only patterns of active services of approved partners are opened. Each pattern is its own short
    transaction, so one partner's trouble never holds up the others; a slot another process opened at the
    same moment is left to it.
    """
    today = local_date(now)
    pattern_ids = db.session.scalars(
        sa.select(SlotPattern.id).join(Service, Service.id == SlotPattern.service_id)
        .join(PartnerOrganisation, PartnerOrganisation.id == Service.partner_id)
        .where(Service.active.is_(True), PartnerOrganisation.approved.is_(True),
               sa.or_(SlotPattern.valid_until.is_(None), SlotPattern.valid_until >= today))
        .order_by(SlotPattern.id)).all()
    db.session.rollback()  # end the read; each pattern gets its own write transaction
    opened: list[int] = []
    for pattern_id in pattern_ids:
        try:
            with write_transaction():
                pattern = db.session.get(SlotPattern, pattern_id)
                opened += [slot.id for slot in open_pattern_slots(pattern, through=today + timedelta(days=days),
                                                                  now=now, by=None)]
        except IntegrityError:
            continue  # another scheduler opened these slots first (the unique service + start)
    _book_standing_enrolments(opened, now=now)
    return opened
