"""Meal help: a canteen's dishes and menus, meal orders with mode and dishes, kitchen and delivery sheets."""
from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import Field

from careapp.accounts.models import User
from careapp.api.registry import api
from careapp.api.schemas import Body, Day, Id, Out, Query, UtcTimestamp
from careapp.booking import engine
from careapp.booking import queries as booking_queries
from careapp.booking.models import Booking, BookingStatus
from careapp.booking.queries import SlotAvailability
from careapp.core.clock import now
from careapp.core.db import db
from careapp.core.errors import BadInput, Forbidden, NotFound
from careapp.core.i18n import gettext as _
from careapp.households.models import DietTag
from careapp.meals import queries
from careapp.meals.models import Dish, MealMode
from careapp.meals.policy import MealPolicy, meal_of, meal_order_of
from careapp.meals.services import create_dish, set_menu, update_dish
from careapp.partners.models import MealTime, PartnerOrganisation, Service, ServiceKind

POLICY = MealPolicy()
Allergen = Annotated[str, Field(min_length=1, max_length=50)]


# --- shapes ---

class DishIn(Body):
    name: str = Field(max_length=100)
    diet_tags: list[DietTag] = Field(default_factory=list, max_length=len(DietTag),
                                     description="The diets this dish suits.")
    allergens: list[Allergen] = Field(default_factory=list, max_length=20, description="Allergens it contains.")


class DishChangeIn(Body):
    name: str | None = Field(None, max_length=100)
    diet_tags: list[DietTag] | None = Field(None, max_length=len(DietTag))
    allergens: list[Allergen] | None = Field(None, max_length=20)
    active: bool | None = Field(None, description="false: no longer cooked (kept on past menus and orders).")


class DishOut(Out):
    id: int
    partner_id: int
    name: str
    diet_tags: list[str]
    allergens: list[str]
    active: bool

    @classmethod
    def of(cls, dish: Dish) -> DishOut:
        return cls(**dish.as_dict())


class MenuQuery(Query):
    day: Day = Field(description="The local date, e.g. 2026-12-02.")


class MenuIn(Body):
    day: Day = Field(description="The local date, e.g. 2026-12-02.")
    dish_ids: list[Id] = Field(max_length=40, description="The whole menu of the day; [] for the set meal only.")


class MenuOut(Out):
    service_id: int
    day: date
    dishes: list[DishOut]


class MealOrderIn(Body):
    recipient_id: Id
    mode: MealMode = MealMode.dine_in
    dish_ids: list[Id] = Field(default_factory=list, max_length=20,
                               description="Dishes from the day's menu; [] for the set meal.")


class MealOrderChangeIn(Body):
    mode: MealMode | None = None
    dish_ids: list[Id] | None = Field(None, max_length=20)


class MealOrderOut(Out):
    booking_id: int
    slot_id: int
    recipient_id: int
    status: BookingStatus
    waitlist_position: int | None
    mode: MealMode
    dish_ids: list[int]
    dishes: list[str]
    price_fen: int
    subsidy_fen: int
    to_pay_fen: int
    subsidy_tier: str | None
    special_group: str | None


class MealCount(Out):
    name: str
    count: int


class SheetOrderOut(Out):
    booking_id: int
    recipient_id: int
    name: str
    mode: MealMode
    dishes: list[str] = Field(description='Dish names; ["Set meal"] when none was chosen.')
    diet_tags: list[DietTag]
    allergies: list[str]
    diet: str | None
    warnings: list[str] = Field(description="Chosen dishes that clash with the person's allergies or needs.")


class KitchenSheetOut(Out):
    slot_id: int
    service_name: str
    meal: MealTime
    starts_at: UtcTimestamp
    total: int = Field(description="Meals to cook: orders holding a place (confirmed, checked in or out).")
    waitlisted: int = Field(description="Orders on the waiting list (not cooked).")
    offered: int = Field(description="Places offered and not yet accepted (not cooked).")
    by_dish: list[MealCount]
    by_mode: list[MealCount]
    by_diet_tag: list[MealCount]
    by_allergy: list[MealCount]
    attention: list[SheetOrderOut] = Field(description="People whose diet, allergies or notes must not be missed.")
    orders: list[SheetOrderOut]


class DeliveryOrderOut(SheetOrderOut):
    unit: str | None
    address: str
    phone: str = Field(description="Masked, e.g. 138****1234: the member's own, else the household's.")


class DeliveryGroupOut(Out):
    community: str
    grid: str
    building: str
    building_id: int
    orders: list[DeliveryOrderOut]


class DeliverySheetOut(Out):
    slot_id: int
    service_name: str
    meal: MealTime
    starts_at: UtcTimestamp
    total: int
    groups: list[DeliveryGroupOut]


# --- loading with access checks ---

def _meal_service(service_id: int) -> Service:
    service = db.session.get(Service, service_id)
    if service is None or service.kind != ServiceKind.meal:
        raise NotFound(_("No such meal service."))
    return service


def _meal_slot(slot_id: int) -> SlotAvailability:
    row = booking_queries.slot_availability(slot_id)
    if row is None or row.service.kind != ServiceKind.meal:
        raise NotFound(_("No such meal slot."))
    return row


def _sheet_slot(user: User, slot_id: int) -> SlotAvailability:
    row = _meal_slot(slot_id)
    if not user.can_view_partner_rosters(row.partner.id):
        raise Forbidden(_("Only this partner's staff and community staff see its kitchen and delivery sheets."))
    return row


def _order_out(booking: Booking) -> MealOrderOut:
    order = meal_order_of(booking.id)
    if order is None:
        raise NotFound(_("This booking has no meal order."))
    dishes = sorted(order.dishes, key=lambda line: line.dish_id)
    return MealOrderOut(booking_id=booking.id, slot_id=booking.slot_id, recipient_id=booking.recipient_id,
                        status=booking.status, waitlist_position=engine.waitlist_position(booking), mode=order.mode,
                        dish_ids=[line.dish_id for line in dishes], dishes=[line.dish.name for line in dishes],
                        price_fen=order.price_fen, subsidy_fen=order.subsidy_fen, to_pay_fen=order.to_pay_fen,
                        subsidy_tier=order.subsidy_tier, special_group=order.special_group)


def _counts(pairs) -> list[MealCount]:
    return [MealCount(name=getattr(name, "value", name), count=count) for name, count in pairs]


def _sheet_order(line: queries.SheetLine) -> dict:
    return dict(booking_id=line.booking.id, recipient_id=line.recipient.id, name=line.recipient.name,
                mode=line.mode, dishes=line.dish_names, diet_tags=line.diet_tags, allergies=line.allergies,
                diet=line.recipient.diet, warnings=line.warnings)


# --- dishes ---

@api.route("GET", "/partners/{partner_id}/dishes", summary="A canteen's dishes with diet tags and allergens",
           response=list[DishOut], errors=(403,))
def dishes(user: User, partner_id: int) -> list[DishOut]:
    if db.session.get(PartnerOrganisation, partner_id) is None:
        raise NotFound(_("No such partner."))
    if not user.can_view_partner_rosters(partner_id):
        raise Forbidden(_("Only this partner's staff and community staff see its dish list."))
    return [DishOut.of(dish) for dish in queries.partner_dishes(partner_id)]


@api.route("POST", "/partners/{partner_id}/dishes", summary="Add a dish (the partner's manager); names are unique",
           status=201, body=DishIn, response=DishOut, errors=(403, 409))
def add_dish(user: User, partner_id: int, body: DishIn) -> DishOut:
    return DishOut.of(create_dish(partner_id=partner_id, name=body.name, diet_tags=body.diet_tags,
                                  allergens=body.allergens, by=user, now=now()))


@api.route("PATCH", "/dishes/{dish_id}", summary="Change a dish, or stop cooking it (active: false)",
           body=DishChangeIn, response=DishOut, errors=(403, 409))
def change_dish(user: User, dish_id: int, body: DishChangeIn) -> DishOut:
    changes = body.model_dump(exclude_none=True)
    if not changes:
        raise BadInput(_("Give at least one field to change."))
    return DishOut.of(update_dish(dish_id=dish_id, by=user, now=now(), **changes))


# --- menus ---

@api.route("GET", "/services/{service_id}/menu", query=MenuQuery, response=MenuOut,
           summary="A meal service's menu of a local day")
def menu(user: User, service_id: int, query: MenuQuery) -> MenuOut:
    service, on = _meal_service(service_id), query.day
    return MenuOut(service_id=service.id, day=on, dishes=[DishOut.of(d) for d in queries.day_menu(service.id, on)])


@api.route("PUT", "/services/{service_id}/menu", body=MenuIn, response=MenuOut, errors=(403, 422),
           summary="Replace a meal service's menu of a local day (the partner's manager)")
def replace_menu(user: User, service_id: int, body: MenuIn) -> MenuOut:
    service, on = _meal_service(service_id), body.day
    chosen = set_menu(service_id=service.id, day=on, dish_ids=body.dish_ids, by=user, now=now())
    return MenuOut(service_id=service.id, day=on, dishes=[DishOut.of(dish) for dish in chosen])


# --- orders ---

@api.route("POST", "/slots/{slot_id}/meal-orders", status=201, body=MealOrderIn, response=MealOrderOut,
           errors=(403, 409, 422),
           summary="Order a meal: a place in the meal slot with mode and dishes (waitlisted when it is full)")
def order_meal(user: User, slot_id: int, body: MealOrderIn) -> MealOrderOut:
    _meal_slot(slot_id)
    result = engine.book(slot_id, body.recipient_id, by=user, now=now(),
                         options={"mode": body.mode.value, "dish_ids": body.dish_ids})
    return _order_out(result.booking)


@api.route("PATCH", "/meal-orders/{booking_id}", body=MealOrderChangeIn, response=MealOrderOut,
           errors=(403, 409, 422), summary="Change a meal order's mode or dishes before the cutoff")
def change_meal_order(user: User, booking_id: int, body: MealOrderChangeIn) -> MealOrderOut:
    if body.mode is None and body.dish_ids is None:
        raise BadInput(_("Give the mode, the dishes, or both."))
    booking = db.session.get(Booking, booking_id)
    if booking is None or booking.slot.service.kind != ServiceKind.meal:
        raise NotFound(_("No such meal order."))
    if not user.can_act_for_household(booking.recipient.household_id):
        raise Forbidden(_("You may only change your own household's meal orders."))
    current = POLICY.options_of(booking)
    if not current:
        raise BadInput(_("This booking has no meal order to change."), fields={"booking_id": "no meal order"})
    options = {"mode": (body.mode or MealMode(current["mode"])).value,
               "dish_ids": body.dish_ids if body.dish_ids is not None else current["dish_ids"]}
    return _order_out(engine.change_options(booking_id, options, by=user, now=now()))


# --- sheets ---

@api.route("GET", "/slots/{slot_id}/kitchen-sheet", response=KitchenSheetOut, errors=(403,),
           summary="What the kitchen cooks for a meal slot: by dish, mode and dietary need, and who not to miss")
def kitchen_sheet(user: User, slot_id: int) -> KitchenSheetOut:
    row = _sheet_slot(user, slot_id)
    sheet = queries.kitchen_sheet(row.slot.id)
    return KitchenSheetOut(
        slot_id=row.slot.id, service_name=row.service.name, meal=meal_of(row.slot), starts_at=row.slot.starts_at,
        total=sheet.total, waitlisted=sheet.waitlisted, offered=sheet.offered, by_dish=_counts(sheet.by_dish),
        by_mode=_counts(sheet.by_mode), by_diet_tag=_counts(sheet.by_diet_tag), by_allergy=_counts(sheet.by_allergy),
        attention=[SheetOrderOut(**_sheet_order(line)) for line in sheet.attention],
        orders=[SheetOrderOut(**_sheet_order(line)) for line in sheet.lines])


@api.route("GET", "/slots/{slot_id}/delivery-sheet", response=DeliverySheetOut, errors=(403,),
           summary="A meal slot's deliveries by community, grid and building, with masked phones")
def delivery_sheet(user: User, slot_id: int) -> DeliverySheetOut:
    row = _sheet_slot(user, slot_id)
    groups = queries.delivery_sheet(row.slot.id)
    return DeliverySheetOut(
        slot_id=row.slot.id, service_name=row.service.name, meal=meal_of(row.slot), starts_at=row.slot.starts_at,
        total=sum(len(group.lines) for group in groups),
        groups=[DeliveryGroupOut(community=group.community.name, grid=group.grid.name, building=group.building.name,
                                 building_id=group.building.id,
                                 orders=[DeliveryOrderOut(**_sheet_order(line), unit=line.household.unit,
                                                          address=line.address, phone=line.phone)
                                         for line in group.lines])
                for group in groups])
