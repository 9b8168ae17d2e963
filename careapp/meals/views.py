"""Meal help pages: dishes and menus (partner manager), ordering (families, community staff on their behalf),
kitchen and delivery sheets (the partner's staff, community staff), and a member's meal needs."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from flask import Blueprint, abort, current_app, flash, redirect, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from werkzeug.wrappers import Response

from careapp.accounts.models import Role, User
from careapp.booking import engine
from careapp.booking import queries as booking_queries
from careapp.booking.forms import ResidentSearchForm, member_option_id
from careapp.booking.models import Booking
from careapp.booking.queries import SlotAvailability
from careapp.core.clock import now
from careapp.core.db import db
from careapp.core.errors import CareappError
from careapp.core.exports import csv_response
from careapp.core.i18n import gettext as _
from careapp.core.i18n import lazy_gettext as _l
from careapp.core.i18n import short_date
from careapp.core.privacy import mask_phone, sees_whole_phone
from careapp.core.timefmt import format_local, from_local, local_date
from careapp.households.models import CareRecipient, Household, RecipientKind
from careapp.households.queries import household_with_members, search_households
from careapp.households.services import update_meal_needs
from careapp.meals import queries
from careapp.meals.forms import (
    CopyWeekForm,
    DishEditForm,
    DishForm,
    MealNeedsForm,
    MenuForm,
    OrderForm,
)
from careapp.meals.models import Dish, MealMode, MealOrder
from careapp.booking.policies import policy_for
from careapp.meals.policy import delivery_reach, meal_of, meal_order_of, meal_word
from careapp.meals.pricing import Subsidy, meal_price_fen, subsidy_for, yuan
from careapp.meals.services import copy_week, create_dish, set_menu, update_dish
from careapp.pages import (
    LABELS,
    acting_user,
    flash_form_errors,
    form_page,
    household_page,
    managed_partner,
    render,
    require,
    show_refusal,
)
from careapp.partners.models import Service, ServiceKind, Slot

bp = Blueprint("meals", __name__, url_prefix="/meals")

MANAGERS_ONLY = _l("Only this partner's manager may change its dishes and menus.")
NOT_YOUR_PARTNER = _l("These sheets are for this partner's staff.")
FAMILIES_ONLY = _l("Only families and community staff order meals.")
NOT_YOURS = _l("This household is not yours.")
POLICY = policy_for(ServiceKind.meal)


def can_order(user: User) -> bool:
    return user.role == Role.family or user.is_district


def parse_day(text: str | None) -> date | None:
    """A YYYY-MM-DD day from a link; anything else (or a far-off year) is None."""
    try:
        day = date.fromisoformat((text or "").strip())
    except ValueError:
        return None
    return day if 2000 <= day.year <= 2100 else None


@bp.app_template_filter("meal_yuan")
def _yuan_filter(fen: int | None) -> str:
    return yuan(fen)


# --- dishes (the partner's manager) ---

@bp.route("/partners/<int:partner_id>/dishes", methods=["GET", "POST"])
@login_required
def dishes(partner_id: int) -> ResponseReturnValue:
    partner = managed_partner(partner_id, str(MANAGERS_ONLY))
    form = DishForm()

    def add() -> tuple[str, str]:
        dish = create_dish(partner_id=partner.id, name=form.name.data, diet_tags=form.diet_tags.data,
                           allergens=form.allergens.data, by=acting_user(), now=now())
        return _("%(name)s is added to your dishes.", name=dish.name), url_for("meals.dishes", partner_id=partner.id)

    return form_page(form, "meals/dishes.html", add, partner=partner, dishes=queries.partner_dishes(partner.id))


@bp.route("/partners/<int:partner_id>/dishes/edit", methods=["GET", "POST"])
@login_required
def edit_dish(partner_id: int) -> ResponseReturnValue:
    partner = managed_partner(partner_id, str(MANAGERS_ONLY))
    dish_id = member_option_id(request.args.get("dish"))
    dish = db.session.get(Dish, dish_id) if dish_id is not None else None
    if dish is None or dish.partner_id != partner.id:
        abort(404)
    form = DishEditForm(obj=None if request.method == "POST" else dish,
                        data=None if request.method == "POST" else {
                            "diet_tags": dish.diet_tag_list, "allergens": ", ".join(dish.allergen_list)})

    def save() -> tuple[str, str]:
        changed = update_dish(dish_id=dish.id, name=form.name.data, diet_tags=form.diet_tags.data,
                              allergens=form.allergens.data or "", active=form.active.data, by=acting_user(),
                              now=now())
        return _("%(name)s is saved.", name=changed.name), url_for("meals.dishes", partner_id=partner.id)

    return form_page(form, "meals/dish_form.html", save, partner=partner, dish=dish)


# --- menus (the partner's manager) ---

def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


@bp.get("/partners/<int:partner_id>/menus")
@login_required
def menus(partner_id: int) -> ResponseReturnValue:
    partner = managed_partner(partner_id, str(MANAGERS_ONLY))
    today = local_date(now())
    monday = _monday(parse_day(request.args.get("week")) or today)
    return render("meals/menus.html", partner=partner, monday=monday, today=today,
                  weeks=queries.week_menus(partner.id, monday), copy_form=CopyWeekForm(formdata=None, week=monday),
                  previous=monday - timedelta(days=7), next=monday + timedelta(days=7))


def _managed_meal_service(service_id: int) -> Service:
    service = db.get_or_404(Service, service_id)
    require(acting_user().manages_partner(service.partner_id), str(MANAGERS_ONLY))
    if service.kind != ServiceKind.meal:
        abort(404)
    return service


@bp.route("/services/<int:service_id>/menu", methods=["GET", "POST"])
@login_required
def edit_menu(service_id: int) -> ResponseReturnValue:
    service = _managed_meal_service(service_id)
    day = parse_day(request.args.get("day"))
    if day is None:
        abort(404)
    current = queries.day_menu(service.id, day)
    form = MenuForm(formdata=request.form if request.method == "POST" else None,
                    dish_ids=[dish.id for dish in current])
    choices = {dish.id: dish for dish in queries.partner_dishes(service.partner_id, active_only=True)}
    choices.update({dish.id: dish for dish in current})  # an inactive dish still on the menu stays visible
    form.dish_ids.choices = [(dish.id, _dish_label(dish)) for dish in choices.values()]

    def save() -> tuple[str, str]:
        chosen = set_menu(service_id=service.id, day=day, dish_ids=form.dish_ids.data or [], by=acting_user(),
                          now=now())
        return (_("The %(service)s menu for %(day)s has %(count)s dish(es).", service=service.name,
                  day=short_date(day), count=len(chosen)),
                url_for("meals.menus", partner_id=service.partner_id, week=_monday(day).isoformat()))

    return form_page(form, "meals/menu_form.html", save, service=service, day=day)


def _dish_label(dish: Dish) -> str:
    tags = _(", ").join(str(LABELS["diet_tag"][tag]) for tag in (t for t in LABELS["diet_tag"] if t.value in
                                                                  dish.diet_tag_list))
    allergens = _(", ").join(dish.allergen_list)
    if tags and allergens:
        return _("%(dish)s (%(diets)s; contains %(allergens)s)", dish=dish.name, diets=tags, allergens=allergens)
    if tags:
        return _("%(dish)s (%(diets)s)", dish=dish.name, diets=tags)
    if allergens:
        return _("%(dish)s (contains %(allergens)s)", dish=dish.name, allergens=allergens)
    return dish.name


@bp.post("/services/<int:service_id>/menus/copy-week")
@login_required
def copy_menus(service_id: int) -> Response:
    service = _managed_meal_service(service_id)
    form = CopyWeekForm()
    target = url_for("meals.menus", partner_id=service.partner_id)
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(target)
    try:
        copied = copy_week(service_id=service.id, from_monday=form.week.data, by=acting_user(), now=now())
    except CareappError as error:
        show_refusal(error)
        return redirect(target)
    next_week = form.week.data + timedelta(days=7)
    flash(_("%(service)s: %(count)s day(s) copied to the week of %(day)s (days that already had a menu were kept).",
            service=service.name, count=copied, day=short_date(next_week)), "success")
    return redirect(url_for("meals.menus", partner_id=service.partner_id, week=next_week.isoformat()))


# --- ordering (families, and community staff on a household's behalf) ---

def _meal_slot(slot_id: int) -> SlotAvailability:
    row = booking_queries.slot_availability(slot_id)
    if row is None or row.service.kind != ServiceKind.meal:
        abort(404)
    return row


@dataclass
class OrderView:
    """What the order page shows for one member: the price, delivery reach, their order if any."""

    member: CareRecipient
    price_fen: int
    subsidy: Subsidy
    distance_m: int
    radius_m: int
    booking: Booking | None
    order: MealOrder | None
    warnings: dict[int, list[str]]

    @property
    def can_deliver(self) -> bool:
        return self.distance_m <= self.radius_m

    @property
    def to_pay_fen(self) -> int:
        return self.price_fen - self.subsidy.fen

    @property
    def changeable(self) -> bool:
        return self.booking is not None and self.booking.status in engine.PENDING


def _order_view(row: SlotAvailability, member: CareRecipient, menu: list[Dish]) -> OrderView:
    settings = current_app.config
    day = local_date(row.slot.starts_at)
    price = meal_price_fen(row.service, settings)
    distance, radius = delivery_reach(member, row.service, settings)
    booking = queries.live_booking(row.slot.id, member.id)
    order = meal_order_of(booking.id) if booking is not None else None
    return OrderView(member, price, subsidy_for(member, day, price, settings), distance, radius, booking, order,
                     {dish.id: queries.dish_warnings(dish, member) for dish in menu})


def _household_for_order(user: User) -> tuple[Household | None, ResidentSearchForm | None, list[Household]]:
    """A family orders for its own household; community staff pick one (``?household=``) or search (``?q=``)."""
    if user.role == Role.family:
        return household_with_members(user.household_id), None, []
    search = ResidentSearchForm(request.args)
    chosen = member_option_id(request.args.get("household"))
    if chosen is not None:
        return household_with_members(chosen), search, []
    if not search.validate():
        return None, search, []
    return None, search, search_households(search.q.data or "")


def _order_form(view: OrderView | None, menu: list[Dish], post: bool) -> OrderForm:
    if post:
        form = OrderForm()
    else:
        order = view.order if view else None
        form = OrderForm(formdata=None, recipient_id=str(view.member.id) if view else "",
                         mode=order.mode.value if order else MealMode.dine_in.value,
                         dish_ids=[line.dish_id for line in order.dishes] if order else [])
    form.dish_ids.choices = [(dish.id, dish.name) for dish in menu]
    if view is not None and not view.can_deliver:
        form.mode.choices = [choice for choice in form.mode.choices if choice.value != MealMode.delivery.value]
    return form


@bp.route("/slots/<int:slot_id>/order", methods=["GET", "POST"])
@login_required
def order(slot_id: int) -> ResponseReturnValue:
    user = acting_user()
    row = _meal_slot(slot_id)
    require(can_order(user), str(FAMILIES_ONLY))
    moment = now()
    day = local_date(row.slot.starts_at)
    menu = [dish for dish in queries.day_menu(row.service.id, day) if dish.active]
    if request.method == "POST":
        member = _posted_member(user)
        household = household_with_members(member.household_id) if member else None
        search, found = None, []
    else:
        household, search, found = _household_for_order(user)
        if household is not None:
            require(user.can_act_for_household(household.id), str(NOT_YOURS))
        member = _chosen_member(household)
    view = _order_view(row, member, menu) if member is not None else None
    form = _order_form(view, menu, request.method == "POST")
    closes = POLICY.booking_closes_at(row.slot)
    context = dict(row=row, day=day, menu=menu, view=view, household=household, search=search, found=found,
                   closes=closes, closed=moment >= closes, meal=meal_of(row.slot),
                   elders=[m for m in household.members if m.kind == RecipientKind.elder] if household else [])
    if request.method == "GET":
        return render("meals/order.html", form=form, **context)
    if view is None:
        flash(_("Please choose who the meal is for."), "error")
        return render("meals/order.html", 400, form=form, **context)
    if not form.validate_on_submit():
        return render("meals/order.html", 400, form=form, **context)
    options = {"mode": form.mode.data, "dish_ids": form.dish_ids.data or []}
    try:
        if view.changeable:
            engine.change_options(view.booking.id, options, by=user, now=moment)
            message = _("%(name)s's %(meal)s on %(day)s is changed.", name=member.name,
                        meal=meal_word(meal_of(row.slot)), day=short_date(day))
        else:
            result = engine.book(row.slot.id, member.id, by=user, now=moment, options=options)
            if result.waitlist_position:
                message = _("%(name)s's %(meal)s on %(day)s is ordered; the canteen is full, so it is on the "
                            "waiting list, number %(position)s.", name=member.name, meal=meal_word(meal_of(row.slot)),
                            day=short_date(day), position=result.waitlist_position)
            else:
                message = _("%(name)s's %(meal)s on %(day)s is ordered.", name=member.name,
                            meal=meal_word(meal_of(row.slot)), day=short_date(day))
    except CareappError as error:
        return render("meals/order.html", show_refusal(error, form), form=form, **context)
    flash(message, "success")
    return redirect(household_page(user, member.household_id))


def _posted_member(user: User) -> CareRecipient | None:
    member_id = member_option_id(request.form.get("recipient_id"))
    member = db.session.get(CareRecipient, member_id) if member_id is not None else None
    if member is not None:
        require(user.can_act_for_household(member.household_id), str(NOT_YOURS))
    return member


def _chosen_member(household: Household | None) -> CareRecipient | None:
    """The elder named by ``?member=``, else the household's first elder."""
    if household is None:
        return None
    elders = [m for m in household.members if m.kind == RecipientKind.elder]
    wanted = member_option_id(request.args.get("member"))
    return next((m for m in elders if m.id == wanted), elders[0] if elders else None)


# --- a member's meal needs ---

@bp.route("/members/<int:member_id>/needs", methods=["GET", "POST"])
@login_required
def meal_needs(member_id: int) -> ResponseReturnValue:
    user = acting_user()
    member = db.get_or_404(CareRecipient, member_id)
    require(user.can_act_for_household(member.household_id), str(NOT_YOURS))
    # Community staff who fill this in for an elder see the number on file masked, like on every other list
    # (core/privacy.py): the field starts empty, and leaving it empty keeps the number.
    whole_phone = sees_whole_phone(user, household_id=member.household_id)
    if request.method == "POST":
        form = MealNeedsForm()
    else:
        form = MealNeedsForm(formdata=None, diet_tags=[tag.value for tag in member.diet_tag_list], diet=member.diet,
                             allergies=member.allergies, phone=member.phone if whole_phone else "",
                             special_group=member.special_group.value if member.special_group else "")
    if not whole_phone and member.phone:
        form.phone.description = _("The number on file is %(phone)s. Type a new number to replace it, or leave "
                                   "this empty to keep it.", phone=mask_phone(member.phone))
    if member.kind != RecipientKind.elder:
        del form.special_group

    def save() -> tuple[str, str]:
        phone = form.phone.data if whole_phone or form.phone.data else member.phone
        changes = {"diet_tags": form.diet_tags.data or [], "diet": form.diet.data, "allergies": form.allergies.data,
                   "phone": phone}
        if "special_group" in form:
            changes["special_group"] = form.special_group.data or None
        update_meal_needs(member_id=member.id, by=user, now=now(), **changes)
        return _("%(name)s's meal needs are saved.", name=member.name), household_page(user, member.household_id)

    return form_page(form, "meals/needs_form.html", save, member=member)


# --- kitchen and delivery sheets (the partner's staff, community staff) ---

def _sheet_slot(slot_id: int) -> SlotAvailability:
    row = _meal_slot(slot_id)
    require(acting_user().can_view_partner_rosters(row.partner.id), str(NOT_YOUR_PARTNER))
    return row


def _sheet_name(kind: str, row: SlotAvailability) -> str:
    return f"{kind}-{format_local(row.slot.starts_at, '%Y%m%d-%H%M')}-slot{row.slot.id}.csv"


@bp.get("/slots/<int:slot_id>/kitchen")
@login_required
def kitchen(slot_id: int) -> ResponseReturnValue:
    row = _sheet_slot(slot_id)
    return render("meals/kitchen.html", row=row, sheet=queries.kitchen_sheet(row.slot.id), meal=meal_of(row.slot),
                  printed_at=now())


def _needs_text(line: queries.SheetLine) -> str:
    parts = [str(LABELS["diet_tag"][tag]) for tag in line.diet_tags]
    if line.allergies:
        parts.append(_("allergic to %(allergies)s", allergies=_(", ").join(line.allergies)))
    if (line.recipient.diet or "").strip():
        parts.append(line.recipient.diet.strip())
    return _("; ").join(parts)


@bp.get("/slots/<int:slot_id>/kitchen.csv")
@login_required
def kitchen_csv(slot_id: int) -> Response:
    row = _sheet_slot(slot_id)
    sheet = queries.kitchen_sheet(row.slot.id)
    # The header rows are in the reader's language (the English ones are the same as before).
    rows: list[list[object]] = [[row.service.name, format_local(row.slot.starts_at)], [],
                                [_("Dish"), _("Portions")],
                                *sheet.shown_by_dish, [],
                                [_("How"), _("Meals")],
                                *[(str(LABELS["meal_mode"][mode]), n) for mode, n in sheet.by_mode], [],
                                [_("Dietary need"), _("People")],
                                *[(str(LABELS["diet_tag"][tag]), n) for tag, n in sheet.by_diet_tag],
                                *[(_("Allergy: %(allergen)s", allergen=word), n) for word, n in sheet.by_allergy], [],
                                [_("Total meals"), sheet.total], [_("Waiting list (not cooked)"), sheet.waitlisted],
                                [_("Offered, not yet accepted (not cooked)"), sheet.offered], [],
                                [_("Name"), _("How"), _("Dishes"), _("Needs"), _("Check")]]
    rows += [[line.recipient.name, str(LABELS["meal_mode"][line.mode]), _(", ").join(line.shown_dish_names),
              _needs_text(line), _("; ").join(line.warnings)] for line in sheet.lines]
    return csv_response(_sheet_name("kitchen", row), rows)


@bp.get("/slots/<int:slot_id>/delivery")
@login_required
def delivery(slot_id: int) -> ResponseReturnValue:
    row = _sheet_slot(slot_id)
    return render("meals/delivery.html", row=row, groups=queries.delivery_sheet(row.slot.id), meal=meal_of(row.slot),
                  printed_at=now())


@bp.get("/slots/<int:slot_id>/delivery.csv")
@login_required
def delivery_csv(slot_id: int) -> Response:
    row = _sheet_slot(slot_id)
    rows: list[list[object]] = [[_("Community"), _("Grid"), _("Building"), _("Flat"), _("Address"), _("Name"),
                                 _("Phone"), _("Dishes"), _("Needs")]]
    for group in queries.delivery_sheet(row.slot.id):
        rows += [[group.community.name, group.grid.name, group.building.name, line.household.unit or "",
                  group.building.address, line.recipient.name, line.phone, _(", ").join(line.shown_dish_names),
                  _needs_text(line)] for line in group.lines]
    return csv_response(_sheet_name("delivery", row), rows)


# --- what the shared pages include (templates/meals/_slot.html, _household.html, _dashboard.html) ---

@bp.app_template_global()
def meal_slot_menu(row: SlotAvailability) -> dict | None:
    """For a meal slot's page: the day's menu, the price and when ordering closes (None for other kinds)."""
    if row.service.kind != ServiceKind.meal:
        return None
    closes = POLICY.booking_closes_at(row.slot)
    return {"menu": [dish for dish in queries.day_menu(row.service.id, local_date(row.slot.starts_at))
                     if dish.active],
            "price_fen": meal_price_fen(row.service, current_app.config), "closes": closes,
            "closed": now() >= closes, "meal": meal_of(row.slot)}


@bp.app_template_global()
def meal_needs_summary(member: CareRecipient) -> str:
    """For the household page: an elder's dietary needs, allergies and subsidy group, in the reader's language."""
    tags = _(", ").join(str(LABELS["diet_tag"][tag]) for tag in member.diet_tag_list)
    parts = [tags or _("no dietary needs noted")]
    if member.allergies:
        parts.append(_("allergic to %(allergies)s", allergies=member.allergies))
    if member.special_group:
        parts.append(_("subsidy group %(group)s", group=LABELS["special_group"][member.special_group]))
    return _("; ").join(parts)


@bp.app_template_global()
def meal_orders_of(views: list) -> dict[int, MealOrder]:
    """For the household page: booking id -> meal order of its meal bookings."""
    return queries.meal_orders_for([view.booking.id for view in views
                                    if view.booking.slot.service.kind == ServiceKind.meal])


@bp.app_template_global()
def meal_sheet_slots(partner_id: int) -> list[tuple[str, list[Slot], str]]:
    """For the partner dashboard: today's and tomorrow's meal slots, to print their sheets
    (each day: its heading, its slots, and what to say when it has none)."""
    today = local_date(now())
    slots = queries.meal_slots_between(partner_id, from_local(today, datetime.min.time()),
                                       from_local(today + timedelta(days=2), datetime.min.time()))
    days = ((_("Today"), today, _("No meals today.")),
            (_("Tomorrow"), today + timedelta(days=1), _("No meals tomorrow.")))
    return [(label, [slot for slot in slots if local_date(slot.starts_at) == day], empty)
            for label, day, empty in days]


