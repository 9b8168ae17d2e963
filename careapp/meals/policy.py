"""Meal help's booking rules: cutoffs by meal, and what an order asks for (mode, dishes) and costs."""
from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time
from typing import Any

import sqlalchemy as sa
from flask import current_app

from careapp.booking.policies import ServicePolicy
from careapp.core.db import db
from careapp.core.errors import BadInput, RuleRefused
from careapp.core.geo import distance_m
from careapp.core.i18n import gettext as _
from careapp.core.i18n import lazy_gettext as _l
from careapp.core.i18n import short_date
from careapp.core.timefmt import format_local, from_local, local_date, to_local
from careapp.households.models import CareRecipient, RecipientKind
from careapp.meals.models import Dish, MealMode, MealOrder, MealOrderDish, MenuItem
from careapp.meals.pricing import meal_price_fen, subsidy_for
from careapp.partners.models import MealTime, ServiceKind, Slot

# A meal service without ``meal`` set: slots starting before this local time are lunch, later ones dinner.
DINNER_FROM = time(15, 0)
OPTION_KEYS = frozenset({"mode", "dish_ids"})
MAX_DISHES = 20
# The meal as a word inside a sentence ("Ordering this lunch closed at ...").
MEAL_WORDS = {MealTime.lunch: _l("lunch"), MealTime.dinner: _l("dinner")}


def meal_of(slot: Slot) -> MealTime:
    """Lunch or dinner: the service says so, else the slot's local start time decides."""
    if slot.service.meal is not None:
        return slot.service.meal
    return MealTime.lunch if to_local(slot.starts_at).time() < DINNER_FROM else MealTime.dinner


def meal_word(meal: MealTime) -> str:
    """lunch / 午餐: the meal in a sentence, in the reader's language."""
    return str(MEAL_WORDS[meal])


def meal_cutoff(slot: Slot, settings: Mapping[str, Any]) -> datetime:
    """When ordering, changing and cancelling close: the meal's cutoff (local time) on the meal's day,
    and never after the meal starts."""
    at = settings["MEAL_LUNCH_CUTOFF"] if meal_of(slot) == MealTime.lunch else settings["MEAL_DINNER_CUTOFF"]
    return min(from_local(local_date(slot.starts_at), at), slot.starts_at)


def delivery_reach(recipient: CareRecipient, service, settings: Mapping[str, Any]) -> tuple[int, int]:
    """(how far the recipient's building is from the canteen, how far it delivers), in whole metres."""
    building, point = recipient.household.building, service.service_point
    distance = distance_m(building.latitude, building.longitude, point.latitude, point.longitude)
    radius = service.delivery_radius_m if service.delivery_radius_m is not None \
        else int(settings["MEAL_DELIVERY_RADIUS"])
    return round(distance), radius


def check_delivery(recipient: CareRecipient, service, settings: Mapping[str, Any]) -> None:
    distance, radius = delivery_reach(recipient, service, settings)
    if distance > radius:
        raise RuleRefused(_("%(service)s delivers only within %(radius)s m of the canteen; %(name)s's home is "
                            "%(distance)s m away. Please choose eating at the canteen or picking up.",
                            service=service.name, radius=radius, name=recipient.name, distance=distance),
                          code="outside_delivery_radius",
                          fields={"mode": f"delivery within {radius} m; home is {distance} m away"})


def menu_dish_ids(service_id: int, day) -> set[int]:
    """The active dishes on a meal service's menu for a local day."""
    return set(db.session.scalars(
        sa.select(MenuItem.dish_id).join(Dish, Dish.id == MenuItem.dish_id)
        .where(MenuItem.service_id == service_id, MenuItem.day == day, Dish.active.is_(True))))


def parse_options(options: Mapping[str, Any]) -> tuple[MealMode, list[int]]:
    """The order's mode (default: eat at the canteen) and chosen dish ids (none: the day's set meal)."""
    unknown = set(options) - OPTION_KEYS
    if unknown:
        raise BadInput(_("A meal order asks only for the mode and the dishes."),
                       fields={name: "not accepted here" for name in sorted(unknown)})
    mode = options.get("mode") or MealMode.dine_in.value
    try:
        mode = MealMode(mode)
    except ValueError:
        raise BadInput(_("Choose eating at the canteen, picking up, or delivery."),
                       fields={"mode": "dine_in, pick_up or delivery"}) from None
    dish_ids = options.get("dish_ids") or []
    if not isinstance(dish_ids, (list, tuple)) or any(
            isinstance(dish, bool) or not isinstance(dish, int) for dish in dish_ids):
        raise BadInput(_("Dishes are given as a list of dish ids."), fields={"dish_ids": "list of ids"})
    dish_ids = sorted(set(dish_ids))
    if len(dish_ids) > MAX_DISHES:
        raise BadInput(_("Choose at most %(count)s dishes.", count=MAX_DISHES), fields={"dish_ids": f"at most {MAX_DISHES}"})
    return mode, dish_ids


def meal_order_of(booking_id: int) -> MealOrder | None:
    """The order behind a booking, read through the session (``Booking.meal_order`` is view-only)."""
    return db.session.get(MealOrder, booking_id)


class MealPolicy(ServicePolicy):
    """Community canteens serve elders; orders close at the meal's cutoff (MEAL_LUNCH_CUTOFF,
    MEAL_DINNER_CUTOFF) on the meal's day, and so do changes and cancellations."""

    kind = ServiceKind.meal
    recipient_kinds = frozenset({RecipientKind.elder})
    # A canteen does not check every diner in; an ordered meal whose slot has passed was served (billing).
    marks_no_shows = False
    # Meals are mostly standing daily orders: a reminder before every lunch and dinner would be noise.
    # The canteen gets its kitchen sheet at the cutoff instead (careapp.meals.notices).
    sends_reminders = False

    # --- cutoffs ---

    def booking_closes_at(self, slot: Slot) -> datetime:
        return meal_cutoff(slot, current_app.config)

    def cancellation_closes_at(self, slot: Slot) -> datetime:
        return meal_cutoff(slot, current_app.config)

    def check_booking_open(self, slot: Slot, now: datetime) -> None:
        self._check_open(slot, now, "ordering")

    def check_cancellation_open(self, slot: Slot, now: datetime) -> None:
        self._check_open(slot, now, "cancelling")

    def check_change_open(self, slot: Slot, now: datetime) -> None:
        self._check_open(slot, now, "changing")

    def _check_open(self, slot: Slot, now: datetime, what: str) -> None:
        closes = meal_cutoff(slot, current_app.config)
        if now >= closes:
            words = dict(meal=meal_word(meal_of(slot)), time=format_local(closes, "%H:%M"), day=short_date(closes))
            # One whole sentence per action: the word order differs between the languages.
            if what == "ordering":
                message = _("Ordering this %(meal)s closed at %(time)s on %(day)s. Meal orders close at the cutoff "
                            "time on the day of the meal.", **words)
            elif what == "cancelling":
                message = _("Cancelling this %(meal)s closed at %(time)s on %(day)s. Meal orders close at the "
                            "cutoff time on the day of the meal.", **words)
            else:
                message = _("Changing this %(meal)s closed at %(time)s on %(day)s. Meal orders close at the cutoff "
                            "time on the day of the meal.", **words)
            raise RuleRefused(message, code="past_cutoff", fields={"cutoff": closes.isoformat()})

    # --- the order ---

    def standing_options(self, recipient, service, options: dict[str, Any],
                         settings: Mapping[str, Any]) -> dict[str, Any]:
        """A standing meal order says how the meals come (dishes change daily: it orders the set meal);
        delivery is checked against the home now, once."""
        if not options.get("mode"):
            raise BadInput(_("Choose how the meals reach them: at the canteen, picked up, or delivered home."),
                           fields={"meal_mode": "dine_in, pick_up or delivery"})
        if options.get("dish_ids"):
            raise BadInput(_("Dishes change every day, so a weekly order gets the day's set meal; choose dishes on "
                             "each day's order instead."), fields={"dish_ids": "not for a weekly order"})
        mode, _unused = parse_options(options)
        if mode == MealMode.delivery:
            check_delivery(recipient, service, settings)
        return {"mode": mode.value}

    def apply_options(self, booking, options: dict[str, Any], settings: Mapping[str, Any], *,
                      now: datetime) -> None:
        """Record the booking's meal order (mode, dishes, price and subsidy), or replace its mode and dishes."""
        mode, dish_ids = parse_options(options)
        slot = db.session.get(Slot, booking.slot_id)
        service, day = slot.service, local_date(slot.starts_at)
        recipient = db.session.get(CareRecipient, booking.recipient_id)
        missing = set(dish_ids) - menu_dish_ids(service.id, day)
        if missing:
            raise RuleRefused(_("Some chosen dishes are not on the %(service)s menu for %(day)s. Please choose from "
                                "that day's menu.", service=service.name, day=short_date(day)), code="not_on_menu",
                              fields={"dish_ids": ", ".join(str(dish) for dish in sorted(missing))})
        if mode == MealMode.delivery:
            check_delivery(recipient, service, settings)
        order = meal_order_of(booking.id)
        if order is None:
            # The price and subsidy are fixed when the meal is ordered; a later change of mode or dishes
            # (or of the settings) never rewrites them.
            price = meal_price_fen(service, settings)
            subsidy = subsidy_for(recipient, day, price, settings)
            order = MealOrder(booking_id=booking.id, price_fen=price, subsidy_fen=subsidy.fen,
                              subsidy_tier=subsidy.tier, special_group=subsidy.special_group)
            db.session.add(order)
        order.mode = mode
        _replace_dishes(order, dish_ids)
        db.session.flush()

    def options_of(self, booking) -> dict[str, Any]:
        order = meal_order_of(booking.id)
        if order is None:
            return {}
        return {"mode": order.mode.value, "dish_ids": sorted(line.dish_id for line in order.dishes),
                "price_fen": order.price_fen, "subsidy_fen": order.subsidy_fen}


def _replace_dishes(order: MealOrder, dish_ids: list[int]) -> None:
    """Keep the lines still chosen, drop the others, add the new ones (a line's key is booking + dish)."""
    wanted = set(dish_ids)
    order.dishes = [line for line in order.dishes if line.dish_id in wanted]
    kept = {line.dish_id for line in order.dishes}
    order.dishes.extend(MealOrderDish(dish_id=dish_id) for dish_id in dish_ids if dish_id not in kept)
