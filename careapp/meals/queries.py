"""Read models of meal help: dishes, week menus, the orders of a household, kitchen and delivery sheets.

Each function issues a fixed number of SQL statements whatever the number of orders.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager, selectinload

from careapp.accounts.models import Role, User
from careapp.booking.models import Booking, BookingStatus
from careapp.core.db import db
from careapp.core.i18n import gettext as _
from careapp.core.i18n import lazy_gettext as _l
from careapp.core.privacy import mask_phone
from careapp.district.models import Building, Community, Grid
from careapp.households.models import CareRecipient, DietTag, Household
from careapp.meals.models import Dish, MealMode, MealOrder, MealOrderDish, MenuItem
from careapp.meals.services import allergen_words
from careapp.partners.models import MealTime, Service, ServiceKind, Slot, SlotStatus

# Orders the kitchen cooks for: those holding a place (a no-show is known only afterwards).
COOKED = (BookingStatus.confirmed, BookingStatus.checked_in, BookingStatus.checked_out)
# The name of an order without dishes, as the API and the kitchen-sheet message keep it; pages and
# exports show it in the reader's language (shown_dish_name).
SET_MEAL = "Set meal"
MOBILE = re.compile(r"1[3-9]\d{9}")


# --- dishes and menus ---

def partner_dishes(partner_id: int, *, active_only: bool = False) -> list[Dish]:
    stmt = sa.select(Dish).where(Dish.partner_id == partner_id)
    if active_only:
        stmt = stmt.where(Dish.active.is_(True))
    return list(db.session.scalars(stmt.order_by(Dish.active.desc(), Dish.name, Dish.id)))


def day_menu(service_id: int, day: date) -> list[Dish]:
    """The dishes on a meal service's menu for a local day, by name (one statement)."""
    return list(db.session.scalars(
        sa.select(Dish).join(MenuItem, MenuItem.dish_id == Dish.id)
        .where(MenuItem.service_id == service_id, MenuItem.day == day).order_by(Dish.name, Dish.id)))


def meal_services(partner_id: int) -> list[Service]:
    """The partner's meal services: lunch before dinner, then by name."""
    services = db.session.scalars(
        sa.select(Service).where(Service.partner_id == partner_id, Service.kind == ServiceKind.meal)
        .order_by(Service.name, Service.id)).all()
    order = {MealTime.lunch: 0, MealTime.dinner: 1, None: 2}
    return sorted(services, key=lambda service: order[service.meal])


def meal_slots_between(partner_id: int, start: datetime, end: datetime) -> list[Slot]:
    """The partner's meal slots starting in [start, end), not cancelled, soonest first (one statement)."""
    return list(db.session.scalars(
        sa.select(Slot).join(Service, Service.id == Slot.service_id)
        .options(contains_eager(Slot.service))
        .where(Service.partner_id == partner_id, Service.kind == ServiceKind.meal, Slot.starts_at >= start,
               Slot.starts_at < end, Slot.status != SlotStatus.cancelled)
        .order_by(Slot.starts_at, Service.name, Slot.id)))


@dataclass(frozen=True)
class WeekMenu:
    service: Service
    days: list[tuple[date, list[Dish]]]


def week_menus(partner_id: int, monday: date) -> list[WeekMenu]:
    """Each meal service of the partner with its menu for the seven days from ``monday``: two statements."""
    services = meal_services(partner_id)
    days = [monday + timedelta(days=n) for n in range(7)]
    menus: dict[tuple[int, date], list[Dish]] = {}
    if services:
        rows = db.session.execute(
            sa.select(MenuItem.service_id, MenuItem.day, Dish).join(Dish, Dish.id == MenuItem.dish_id)
            .where(MenuItem.service_id.in_([s.id for s in services]), MenuItem.day >= days[0],
                   MenuItem.day <= days[-1])
            .order_by(Dish.name, Dish.id)).all()
        for service_id, day, dish in rows:
            menus.setdefault((service_id, day), []).append(dish)
    return [WeekMenu(service, [(day, menus.get((service.id, day), [])) for day in days]) for service in services]


def meal_orders_for(booking_ids: list[int]) -> dict[int, MealOrder]:
    """booking id -> its meal order with the dishes loaded (two statements; none without ids)."""
    if not booking_ids:
        return {}
    orders = db.session.scalars(
        sa.select(MealOrder).where(MealOrder.booking_id.in_(booking_ids))
        .options(selectinload(MealOrder.dishes).selectinload(MealOrderDish.dish)))
    return {order.booking_id: order for order in orders}


def live_booking(slot_id: int, recipient_id: int) -> Booking | None:
    return db.session.scalar(sa.select(Booking).where(
        Booking.slot_id == slot_id, Booking.recipient_id == recipient_id, Booking.status != BookingStatus.cancelled))


# --- dietary checks ---

def member_allergies(member: CareRecipient) -> list[str]:
    return allergen_words(member.allergies or "")


# A dish without a member's dietary need, in words (one whole text per need).
NOT_MARKED = {DietTag.low_salt: _l("not marked low-salt"), DietTag.low_sugar: _l("not marked low-sugar"),
              DietTag.soft: _l("not marked soft"), DietTag.vegetarian: _l("not marked vegetarian"),
              DietTag.halal: _l("not marked halal")}


def shown_dish_name(name: str) -> str:
    """A dish name as pages and exports show it: the set meal in the reader's language."""
    return _("Set meal") if name == SET_MEAL else name


def dish_warnings(dish: Dish, member: CareRecipient) -> list[str]:
    """Why this dish may not suit this member: an allergen they have, a dietary need it does not meet
    (in the reader's language)."""
    warnings = []
    allergies = [word.lower() for word in member_allergies(member)]
    for allergen in dish.allergen_list:
        if any(allergen.lower() in word or word in allergen.lower() for word in allergies):
            warnings.append(_("contains %(allergen)s, and %(name)s is allergic to it", allergen=allergen,
                              name=member.name))
    tags = set(dish.diet_tag_list)
    for tag in member.diet_tag_list:
        if tag.value not in tags:
            warnings.append(str(NOT_MARKED[tag]))
    return warnings


# --- kitchen and delivery sheets ---




@dataclass
class SheetLine:
    """One meal to cook (and perhaps carry): who, where, what, and what must not be missed."""

    booking: Booking
    recipient: CareRecipient
    household: Household
    building: Building
    grid: Grid
    community: Community
    order: MealOrder | None
    dishes: list[Dish] = field(default_factory=list)
    contact_phone: str | None = None

    @property
    def mode(self) -> MealMode:
        return self.order.mode if self.order is not None else MealMode.dine_in

    @property
    def dish_names(self) -> list[str]:
        return [dish.name for dish in self.dishes] or [SET_MEAL]

    @property
    def shown_dish_names(self) -> list[str]:
        """The dish names as pages and exports show them (the set meal in the reader's language)."""
        return [dish.name for dish in self.dishes] or [shown_dish_name(SET_MEAL)]

    @property
    def diet_tags(self) -> list[DietTag]:
        return self.recipient.diet_tag_list

    @property
    def allergies(self) -> list[str]:
        return member_allergies(self.recipient)

    @property
    def needs_attention(self) -> bool:
        return bool(self.diet_tags or self.allergies or (self.recipient.diet or "").strip())

    @property
    def warnings(self) -> list[str]:
        return [_("%(dish)s: %(warning)s", dish=dish.name, warning=warning)
                for dish in self.dishes for warning in dish_warnings(dish, self.recipient)]

    @property
    def phone(self) -> str:
        """The member's own phone, else the household's contact, masked."""
        return mask_phone(self.recipient.phone or self.contact_phone)

    @property
    def address(self) -> str:
        unit = f" {self.household.unit}" if self.household.unit else ""
        return f"{self.building.name}{unit}, {self.building.address}"


def _sheet_lines(slot_id: int, *, mode: MealMode | None = None) -> list[SheetLine]:
    """The cooked orders of a slot with their people, homes and dishes: three statements."""
    stmt = (sa.select(Booking, CareRecipient, Household, Building, Grid, Community, MealOrder)
            .join(CareRecipient, CareRecipient.id == Booking.recipient_id)
            .join(Household, Household.id == CareRecipient.household_id)
            .join(Building, Building.id == Household.building_id)
            .join(Grid, Grid.id == Building.grid_id)
            .join(Community, Community.id == Grid.community_id)
            .outerjoin(MealOrder, MealOrder.booking_id == Booking.id)
            .where(Booking.slot_id == slot_id, Booking.status.in_(COOKED))
            .order_by(CareRecipient.name, Booking.id))
    if mode is not None:
        stmt = stmt.where(MealOrder.mode == mode)
    lines = [SheetLine(*row) for row in db.session.execute(stmt).all()]
    if not lines:
        return lines
    by_booking = {line.booking.id: line for line in lines}
    for booking_id, dish in db.session.execute(
            sa.select(MealOrderDish.booking_id, Dish).join(Dish, Dish.id == MealOrderDish.dish_id)
            .where(MealOrderDish.booking_id.in_(by_booking)).order_by(Dish.name, Dish.id)).all():
        by_booking[booking_id].dishes.append(dish)
    contacts = _household_contacts({line.household.id for line in lines})
    for line in lines:
        line.contact_phone = contacts.get(line.household.id)
    return lines


def _household_contacts(household_ids: set[int]) -> dict[int, str]:
    """household id -> a phone of its family account (its phone, else a mobile login)."""
    contacts: dict[int, str] = {}
    for household_id, phone, login in db.session.execute(
            sa.select(User.household_id, User.phone, User.login)
            .where(User.household_id.in_(household_ids), User.role == Role.family, User.active.is_(True))
            .order_by(User.id)).all():
        number = phone or (login if MOBILE.fullmatch(login or "") else None)
        if number and household_id not in contacts:
            contacts[household_id] = number
    return contacts


def _not_yet_cooked(slot_id: int) -> dict[BookingStatus, int]:
    rows = db.session.execute(
        sa.select(Booking.status, sa.func.count()).where(
            Booking.slot_id == slot_id, Booking.status.in_([BookingStatus.waitlisted, BookingStatus.offered]))
        .group_by(Booking.status)).all()
    return dict(rows)


@dataclass(frozen=True)
class KitchenSheet:
    lines: list[SheetLine]
    waitlisted: int
    offered: int

    @property
    def total(self) -> int:
        return len(self.lines)

    @property
    def by_dish(self) -> list[tuple[str, int]]:
        """Portions per dish (an order without dishes is one set meal), most first."""
        counts = Counter(name for line in self.lines for name in line.dish_names)
        return sorted(counts.items(), key=lambda item: (-item[1], item[0] != SET_MEAL, item[0]))

    @property
    def shown_by_dish(self) -> list[tuple[str, int]]:
        """Portions per dish as the page shows them (the set meal in the reader's language)."""
        return [(shown_dish_name(name), count) for name, count in self.by_dish]

    @property
    def by_mode(self) -> list[tuple[MealMode, int]]:
        counts = Counter(line.mode for line in self.lines)
        return [(mode, counts.get(mode, 0)) for mode in MealMode]

    @property
    def by_diet_tag(self) -> list[tuple[DietTag, int]]:
        counts = Counter(tag for line in self.lines for tag in line.diet_tags)
        return [(tag, counts[tag]) for tag in DietTag if counts.get(tag)]

    @property
    def by_allergy(self) -> list[tuple[str, int]]:
        counts = Counter(word for line in self.lines for word in line.allergies)
        return sorted(counts.items(), key=lambda item: (-item[1], item[0]))

    @property
    def attention(self) -> list[SheetLine]:
        """Everyone whose diet, allergies or diet note the kitchen must not miss."""
        return [line for line in self.lines if line.needs_attention]


def kitchen_sheet(slot_id: int) -> KitchenSheet:
    waiting = _not_yet_cooked(slot_id)
    return KitchenSheet(_sheet_lines(slot_id), waiting.get(BookingStatus.waitlisted, 0),
                        waiting.get(BookingStatus.offered, 0))


@dataclass(frozen=True)
class DeliveryGroup:
    community: Community
    grid: Grid
    building: Building
    lines: list[SheetLine]


def delivery_sheet(slot_id: int) -> list[DeliveryGroup]:
    """Delivery orders grouped by community, grid and building (by name), each by flat then name."""
    lines = _sheet_lines(slot_id, mode=MealMode.delivery)
    lines.sort(key=lambda line: (line.community.name, line.grid.name, line.building.name, line.building.id,
                                 line.household.unit or "", line.recipient.name, line.booking.id))
    groups: list[DeliveryGroup] = []
    for line in lines:
        if not groups or groups[-1].building.id != line.building.id:
            groups.append(DeliveryGroup(line.community, line.grid, line.building, []))
        groups[-1].lines.append(line)
    return groups
