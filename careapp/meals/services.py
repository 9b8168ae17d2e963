"""Meal help rules beyond the booking engine: a canteen's dishes and its menu per meal service and day.

Only the partner's manager (or an admin) changes dishes and menus. Orders themselves go through the
booking engine (``engine.book`` / ``engine.change_options`` with the options of :mod:`careapp.meals.policy`).
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from careapp.accounts.models import User
from careapp.booking.models import Booking, BookingStatus
from careapp.core import audit
from careapp.core.db import db, write_transaction
from careapp.core.errors import BadInput, Conflict, Forbidden, NotFound, RuleRefused
from careapp.core.i18n import gettext as _
from careapp.core.i18n import lazy_gettext as _l
from careapp.core.timefmt import from_local, local_date
from careapp.core.validation import MAX_ID, require_name
from careapp.households.models import DietTag, split_tags
from careapp.households.services import diet_tags_text
from careapp.meals.models import Dish, MealOrderDish, MenuItem
from careapp.partners.models import PartnerOrganisation, Service, ServiceKind, Slot

MANAGERS_ONLY = _l("Only this partner's manager may change its dishes and menus.")
MAX_NAME = 100
MAX_ALLERGENS = 200
MAX_MENU_DISHES = 40
# How far ahead a menu may be planned.
MAX_MENU_DAYS_AHEAD = 92
# Allergens may be typed with English or Chinese commas (、，) or semicolons.
ALLERGEN_SEPARATORS = re.compile(r"[,，、;；]")


# --- checking input ---

def diet_tag_values(tags: Iterable[str | DietTag] | None) -> list[str]:
    """DietTag values in their declared order; an unknown tag is bad input naming the field."""
    return split_tags(diet_tags_text(tags))


def allergen_words(allergens: str | Iterable[str] | None) -> list[str]:
    """Allergens as separate words ("花生、虾" -> ["花生", "虾"]), each once, in the order given."""
    if allergens is None:
        return []
    pieces = ALLERGEN_SEPARATORS.split(allergens) if isinstance(allergens, str) else list(allergens)
    words: list[str] = []
    for piece in pieces:
        if not isinstance(piece, str):
            raise BadInput(_("Allergens are words."), fields={"allergens": "text"})
        word = piece.strip()
        if word and word not in words:
            words.append(word)
    if len(",".join(words)) > MAX_ALLERGENS:
        raise BadInput(_("Allergens are at most %(count)s characters.", count=MAX_ALLERGENS), fields={"allergens": "too long"})
    return words


def _dish_name(name: str | None) -> str:
    name = require_name(name)
    if len(name) > MAX_NAME:
        raise BadInput(_("A dish name is at most %(count)s characters.", count=MAX_NAME), fields={"name": f"max {MAX_NAME}"})
    return name


def _joined(values: list[str]) -> str | None:
    return ",".join(values) or None


# --- dishes ---

def _require_manager(by: User, partner_id: int) -> None:
    if not by.manages_partner(partner_id):
        raise Forbidden(str(MANAGERS_ONLY))


def _name_taken(partner_id: int, name: str, but: int | None = None) -> bool:
    stmt = sa.select(Dish.id).where(Dish.partner_id == partner_id, Dish.name == name)
    if but is not None:
        stmt = stmt.where(Dish.id != but)
    return db.session.scalar(stmt) is not None


def _name_conflict(name: str) -> Conflict:
    return Conflict(_("There is already a dish called %(name)s; please give this one another name.", name=name),
                    code="duplicate_dish", fields={"name": "already used"})


def create_dish(*, partner_id: int, name: str, by: User, now: datetime, diet_tags: Iterable[str] | None = None,
                allergens: str | Iterable[str] | None = None) -> Dish:
    """A partner's manager adds a dish its canteen cooks; names are unique per partner."""
    name, tags, words = _dish_name(name), diet_tag_values(diet_tags), allergen_words(allergens)
    with write_transaction():
        if db.session.get(PartnerOrganisation, partner_id) is None:
            raise NotFound(_("No such partner."))
        _require_manager(by, partner_id)
        if _name_taken(partner_id, name):
            raise _name_conflict(name)
        dish = Dish(partner_id=partner_id, name=name, diet_tags=_joined(tags), allergens=_joined(words), active=True)
        db.session.add(dish)
        _flush_dish(name)
        audit.record("dish.created", dish, actor=by, now=now, after=dish.as_dict())
        return dish


def update_dish(*, dish_id: int, by: User, now: datetime, name: str | None = None,
                diet_tags: Iterable[str] | None = None, allergens: str | Iterable[str] | None = None,
                active: bool | None = None) -> Dish:
    """Change a dish (only what is given); ``active=False`` takes it off future menus' choices."""
    name = _dish_name(name) if name is not None else None
    tags = diet_tag_values(diet_tags) if diet_tags is not None else None
    words = allergen_words(allergens) if allergens is not None else None
    with write_transaction():
        dish = db.session.get(Dish, dish_id)
        if dish is None:
            raise NotFound(_("No such dish."))
        _require_manager(by, dish.partner_id)
        before = dish.as_dict()
        if name is not None:
            if _name_taken(dish.partner_id, name, but=dish.id):
                raise _name_conflict(name)
            dish.name = name
        if tags is not None:
            dish.diet_tags = _joined(tags)
        if words is not None:
            dish.allergens = _joined(words)
        if active is not None:
            dish.active = active
        _flush_dish(dish.name)
        audit.record("dish.changed", dish, actor=by, now=now, before=before, after=dish.as_dict())
        return dish


def _flush_dish(name: str) -> None:
    try:
        db.session.flush()
    except IntegrityError:
        # Two managers naming a dish at the same moment: the unique constraint decides.
        raise _name_conflict(name) from None


# --- menus ---

def _meal_service(service_id: int, by: User) -> Service:
    service = db.session.get(Service, service_id)
    if service is None:
        raise NotFound(_("No such service."))
    _require_manager(by, service.partner_id)
    if service.kind != ServiceKind.meal:
        raise BadInput(_("%(service)s is not a meal service; only meal services have menus.", service=service.name),
                       fields={"service_id": "not a meal service"})
    return service


def _check_menu_day(day: date, now: datetime) -> None:
    today = local_date(now)
    if day < today:
        raise RuleRefused(_("A menu of a past day cannot be changed."), code="past_day", fields={"day": "in the past"})
    if day > today + timedelta(days=MAX_MENU_DAYS_AHEAD):
        raise BadInput(_("Menus are planned at most %(days)s days ahead.", days=MAX_MENU_DAYS_AHEAD),
                       fields={"day": f"within {MAX_MENU_DAYS_AHEAD} days"})


def _check_ids(dish_ids: Iterable[int]) -> list[int]:
    ids = list(dish_ids)
    if any(isinstance(i, bool) or not isinstance(i, int) or not 1 <= i <= MAX_ID for i in ids):
        raise BadInput(_("Dishes are given by their ids."), fields={"dish_ids": "list of ids"})
    ids = sorted(set(ids))
    if len(ids) > MAX_MENU_DISHES:
        raise BadInput(_("A menu has at most %(count)s dishes.", count=MAX_MENU_DISHES), fields={"dish_ids": f"max {MAX_MENU_DISHES}"})
    return ids


def menu_of(service_id: int, day: date) -> list[Dish]:
    """The dishes on a meal service's menu for a day, by name."""
    return list(db.session.scalars(
        sa.select(Dish).join(MenuItem, MenuItem.dish_id == Dish.id)
        .where(MenuItem.service_id == service_id, MenuItem.day == day).order_by(Dish.name, Dish.id)))


def _ordered_dish_ids(service_id: int, day: date) -> set[int]:
    """Dishes that live orders of that day's slots chose (the kitchen must still cook them)."""
    return set(db.session.scalars(
        sa.select(MealOrderDish.dish_id).distinct()
        .join(Booking, Booking.id == MealOrderDish.booking_id).join(Slot, Slot.id == Booking.slot_id)
        .where(Slot.service_id == service_id, Booking.status != BookingStatus.cancelled,
               Slot.starts_at >= from_local(day, time.min),
               Slot.starts_at < from_local(day + timedelta(days=1), time.min))))


def set_menu(*, service_id: int, day: date, dish_ids: Iterable[int], by: User, now: datetime) -> list[Dish]:
    """Replace a meal service's menu for a (local) day. Dishes must be this partner's active ones; a dish
    that someone has already ordered stays on the menu (their order must still be cooked)."""
    ids = _check_ids(dish_ids)
    _check_menu_day(day, now)
    with write_transaction():
        service = _meal_service(service_id, by)
        dishes = {dish.id: dish for dish in db.session.scalars(
            sa.select(Dish).where(Dish.id.in_(ids), Dish.partner_id == service.partner_id, Dish.active.is_(True)))}
        unknown = [dish_id for dish_id in ids if dish_id not in dishes]
        if unknown:
            raise BadInput(_("Choose from this canteen's dishes that are in use."),
                           fields={"dish_ids": ", ".join(str(dish_id) for dish_id in unknown)})
        current = {item.dish_id: item for item in db.session.scalars(
            sa.select(MenuItem).where(MenuItem.service_id == service.id, MenuItem.day == day))}
        dropped = set(current) - set(ids)
        still_ordered = dropped & _ordered_dish_ids(service.id, day)
        if still_ordered:
            names = ", ".join(sorted(current[dish_id].dish.name for dish_id in still_ordered))
            raise RuleRefused(_("%(dishes)s already ordered for that day; keep it on the menu, or ask those families "
                                "to change their order first.", dishes=names), code="dish_already_ordered",
                              fields={"dish_ids": names})
        for dish_id in dropped:
            db.session.delete(current[dish_id])
        db.session.add_all(MenuItem(service_id=service.id, day=day, dish_id=dish_id)
                           for dish_id in ids if dish_id not in current)
        db.session.flush()
        audit.record("menu.set", service, actor=by, now=now, before={"day": day.isoformat(), "dish_ids":
                     sorted(current)}, after={"day": day.isoformat(), "dish_ids": ids})
        return sorted(dishes.values(), key=lambda dish: (dish.name, dish.id))


def copy_week(*, service_id: int, from_monday: date, by: User, now: datetime) -> int:
    """Copy each day's menu of the week starting ``from_monday`` to the same weekday of the next week,
    for days of that week still without a menu and not past; returns how many days were copied."""
    if from_monday.weekday() != 0:
        raise BadInput(_("Give the Monday of the week to copy."), fields={"week": "a Monday"})
    today = local_date(now)
    copied = 0
    with write_transaction():
        service = _meal_service(service_id, by)
        items = db.session.scalars(
            sa.select(MenuItem).join(Dish, Dish.id == MenuItem.dish_id)
            .where(MenuItem.service_id == service.id, Dish.active.is_(True),
                   MenuItem.day >= from_monday, MenuItem.day < from_monday + timedelta(days=7))).all()
        planned = set(db.session.scalars(
            sa.select(MenuItem.day).distinct()
            .where(MenuItem.service_id == service.id, MenuItem.day >= from_monday + timedelta(days=7),
                   MenuItem.day < from_monday + timedelta(days=14))))
        by_day: dict[date, list[int]] = {}
        for item in items:
            by_day.setdefault(item.day, []).append(item.dish_id)
        for day, dish_ids in sorted(by_day.items()):
            target = day + timedelta(days=7)
            if target in planned or target < today:
                continue
            db.session.add_all(MenuItem(service_id=service.id, day=target, dish_id=dish_id) for dish_id in dish_ids)
            copied += 1
        audit.record("menu.week_copied", service, actor=by, now=now,
                     after={"from": from_monday.isoformat(), "days_copied": copied})
        return copied
