"""Money for meal help: which meals count as served, a household's monthly statement and a partner's monthly
subsidy claim (the sub-district pays the canteen the subsidies of the meals it served).

A meal served (defined here and nowhere else): a meal booking that was checked in or checked out, or that is
still confirmed for a slot that has ended (the canteen served it without recording attendance). Cancelled,
no-show, waitlisted and offered bookings never count. A meal belongs to the month of its slot's local date.

Amounts come from the :class:`MealOrder` of each booking: the price and subsidy fixed when the meal was
ordered. Today's settings never rewrite what a past meal cost or what may be claimed for it.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from io import BytesIO
from typing import Any

import sqlalchemy as sa
from openpyxl import Workbook
from openpyxl.styles import Font

from careapp.booking.models import ATTENDED, Booking, BookingStatus
from careapp.core.db import db
from careapp.core.i18n import gettext as _
from careapp.core.i18n import lazy_gettext as _l
from careapp.core.timefmt import format_local, local_date
from careapp.households.models import CareRecipient, Household
from careapp.core.exports import append_rows
from careapp.core.months import Month
from careapp.meals.models import MealMode, MealOrder
from careapp.meals.policy import meal_of, meal_word
from careapp.partners.models import MealTime, PartnerOrganisation, Service, ServiceKind, ServicePoint, Slot



def yuan(fen: int) -> str:
    """Money as shown: 300 -> ¥3.00."""
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"


def served(now: datetime) -> sa.ColumnElement[bool]:
    """The one definition of a meal served, as SQL over Booking joined to its Slot."""
    return sa.or_(Booking.status.in_(ATTENDED),
                  sa.and_(Booking.status == BookingStatus.confirmed, Slot.ends_at <= now))


@dataclass(frozen=True)
class ServedMeal:
    booking_id: int
    starts_at: datetime
    meal: MealTime
    service_id: int
    service_name: str
    partner_name: str
    canteen: str  # the service point where it was cooked
    member_id: int
    member_name: str
    mode: MealMode
    price_fen: int
    subsidy_fen: int
    subsidy_tier: str | None
    special_group: str | None

    @property
    def day(self) -> date:
        return local_date(self.starts_at)

    @property
    def to_pay_fen(self) -> int:
        return self.price_fen - self.subsidy_fen


def meals_served(month: Month, *, now: datetime, household_id: int | None = None,
                 partner_id: int | None = None) -> list[ServedMeal]:
    """Every meal served in a month, of a household or of a partner, by time then member: one statement."""
    start, end = month.bounds()
    stmt = (sa.select(MealOrder, Booking, Slot, Service, PartnerOrganisation.name, ServicePoint.name, CareRecipient)
            .join(Booking, Booking.id == MealOrder.booking_id)
            .join(Slot, Slot.id == Booking.slot_id)
            .join(Service, Service.id == Slot.service_id)
            .join(PartnerOrganisation, PartnerOrganisation.id == Service.partner_id)
            .join(ServicePoint, ServicePoint.id == Service.service_point_id)
            .join(CareRecipient, CareRecipient.id == Booking.recipient_id)
            .where(Service.kind == ServiceKind.meal, Slot.starts_at >= start, Slot.starts_at < end, served(now))
            .order_by(Slot.starts_at, CareRecipient.name, Booking.id))
    if household_id is not None:
        stmt = stmt.where(CareRecipient.household_id == household_id)
    if partner_id is not None:
        stmt = stmt.where(Service.partner_id == partner_id)
    return [ServedMeal(booking_id=booking.id, starts_at=slot.starts_at, meal=meal_of(slot), service_id=service.id,
                       service_name=service.name, partner_name=partner_name, canteen=point_name,
                       member_id=member.id, member_name=member.name, mode=order.mode, price_fen=order.price_fen,
                       subsidy_fen=order.subsidy_fen, subsidy_tier=order.subsidy_tier,
                       special_group=order.special_group)
            for order, booking, slot, service, partner_name, point_name, member in db.session.execute(stmt)]


# --- a household's statement ---

@dataclass(frozen=True)
class Statement:
    household: Household
    month: Month
    meals: list[ServedMeal]

    @property
    def price_fen(self) -> int:
        return sum(meal.price_fen for meal in self.meals)

    @property
    def subsidy_fen(self) -> int:
        return sum(meal.subsidy_fen for meal in self.meals)

    @property
    def to_pay_fen(self) -> int:
        return self.price_fen - self.subsidy_fen


def household_statement(household: Household, month: Month, *, now: datetime) -> Statement:
    return Statement(household, month, meals_served(month, now=now, household_id=household.id))


# --- a partner's subsidy claim ---

@dataclass(frozen=True)
class ClaimLine:
    """Meals of one meal service served to one age tier and special group at one subsidy per meal."""

    service_id: int
    service_name: str
    tier: str | None
    special_group: str | None
    subsidy_per_meal_fen: int
    meals: int

    @property
    def subtotal_fen(self) -> int:
        return self.meals * self.subsidy_per_meal_fen


@dataclass(frozen=True)
class ServiceTotal:
    service_id: int
    service_name: str
    meals: int
    claimed_fen: int


@dataclass(frozen=True)
class SubsidyClaim:
    partner: PartnerOrganisation
    month: Month
    generated_at: datetime
    lines: list[ClaimLine]
    meals: list[ServedMeal]

    @property
    def total_meals(self) -> int:
        return len(self.meals)

    @property
    def total_claimed_fen(self) -> int:
        return sum(line.subtotal_fen for line in self.lines)

    @property
    def per_service(self) -> list[ServiceTotal]:
        totals: dict[int, ServiceTotal] = {}
        for line in self.lines:
            seen = totals.get(line.service_id, ServiceTotal(line.service_id, line.service_name, 0, 0))
            totals[line.service_id] = ServiceTotal(line.service_id, line.service_name, seen.meals + line.meals,
                                                   seen.claimed_fen + line.subtotal_fen)
        return list(totals.values())


def _tier_order(tier: str | None) -> int:
    return int(tier) if tier is not None and tier.isdigit() else -1


def subsidy_claim(partner: PartnerOrganisation, month: Month, *, now: datetime) -> SubsidyClaim:
    """The meals a partner served in a month, counted per meal service, age tier, special group and subsidy
    per meal (a setting changed mid-month gives two lines), with every meal listed for the detail sheet."""
    meals = meals_served(month, now=now, partner_id=partner.id)
    counts: dict[tuple, int] = {}
    for meal in meals:
        key = (meal.service_name, meal.service_id, meal.subsidy_tier, meal.special_group, meal.subsidy_fen)
        counts[key] = counts.get(key, 0) + 1
    ordered = sorted(counts, key=lambda key: (key[0], key[1], _tier_order(key[2]), key[3] or "", key[4]))
    lines = [ClaimLine(service_id, name, tier, group, subsidy, counts[(name, service_id, tier, group, subsidy)])
             for name, service_id, tier, group, subsidy in ordered]
    return SubsidyClaim(partner, month, now, lines, meals)


# --- words for tiers and groups ---

def tier_label(tier: str | None, tiers: Mapping[str, int], *, translate: bool = True) -> str:
    """"60" -> "60-69" with tiers 60/70/80; the top tier reads "80 and over"; None -> "No age tier".
    In the reader's language (pages, the spreadsheet); ``translate=False`` keeps English (the API's data)."""
    if tier is None:
        return _("No age tier") if translate else "No age tier"
    ages = sorted(int(key) for key in tiers if key.isdigit())
    if not tier.isdigit():
        return tier
    higher = [age for age in ages if age > int(tier)]
    if higher:
        return _("%(low)s-%(high)s", low=tier, high=higher[0] - 1) if translate else f"{tier}-{higher[0] - 1}"
    return _("%(age)s and over", age=tier) if translate else f"{tier} and over"


def group_label(group: str | None, labels: Mapping[Any, str]) -> str:
    if group is None:
        return _("None")
    return next((str(label) for key, label in labels.items() if getattr(key, "value", key) == group), group)


# --- the spreadsheet for the sub-district office ---

MONEY_FORMAT = '"¥"#,##0.00'
# The mode column of the detail sheet: the codes in English (as the office's files have them), words in Chinese.
MODE_WORDS = {MealMode.dine_in: _l("dine_in"), MealMode.pick_up: _l("pick_up"), MealMode.delivery: _l("delivery")}
BLANK = [None]  # an empty row that still takes its place (openpyxl skips a row with no cells)


def _money(fen: int) -> float:
    return round(fen / 100, 2)


def claim_workbook(claim: SubsidyClaim, *, sub_district: str, tiers: Mapping[str, int],
                   groups: Mapping[Any, str]) -> bytes:
    """The claim as an .xlsx: a header block, the table per tier and group, the totals (numbers, never formulas),
    and a sheet listing every meal served. Text that a spreadsheet would run as a formula is neutralised."""
    book = Workbook()
    sheet = book.active
    # The sheet names and headers are in the reader's language (the request's).
    sheet.title = _("Claim")
    bold = Font(bold=True)
    _rows(sheet, [[_("Meal subsidy claim")], BLANK,
                  [_("Sub-district"), sub_district], [_("Partner"), claim.partner.name], [_("Month"), str(claim.month)],
                  [_("Generated at"), format_local(claim.generated_at)], BLANK])
    sheet["A1"].font = Font(bold=True, size=14)
    header = sheet.max_row + 1
    _rows(sheet, [[_("Meal service"), _("Age tier"), _("Special group"), _("Meals"), _("Subsidy per meal"),
                   _("Subtotal")]])
    for line in claim.lines:
        _rows(sheet, [[line.service_name, tier_label(line.tier, tiers), group_label(line.special_group, groups),
                       line.meals, _money(line.subsidy_per_meal_fen), _money(line.subtotal_fen)]], money=(4, 5))
    _rows(sheet, [BLANK])
    _rows(sheet, [[_("Meal service"), "", "", _("Meals"), "", _("Claimed")]])
    for total in claim.per_service:
        _rows(sheet, [[total.service_name, "", "", total.meals, "", _money(total.claimed_fen)]], money=(5,))
    _rows(sheet, [[_("Total"), "", "", claim.total_meals, "", _money(claim.total_claimed_fen)]], money=(5,))
    for cell in (*sheet[header], *sheet[sheet.max_row]):
        cell.font = bold
    _widths(sheet, [24, 14, 34, 10, 18, 14])

    detail = book.create_sheet(_("Meals served"))
    _rows(detail, [[_("Date"), _("Meal"), _("Meal service"), _("Member"), _("Age tier"), _("Special group"),
                    _("Mode"), _("Price"), _("Subsidy")]])
    for cell in detail[1]:
        cell.font = bold
    for meal in claim.meals:
        _rows(detail, [[meal.day.isoformat(), meal_word(meal.meal), meal.service_name, meal.member_name,
                        tier_label(meal.subsidy_tier, tiers), group_label(meal.special_group, groups),
                        str(MODE_WORDS[meal.mode]), _money(meal.price_fen), _money(meal.subsidy_fen)]], money=(7, 8))
    _widths(detail, [12, 8, 20, 16, 14, 34, 10, 10, 10])
    buffer = BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _rows(sheet, rows: list[list[Any]], money: tuple[int, ...] = ()) -> None:
    for row in rows:
        append_rows(sheet, [row])
        for index in money:
            sheet.cell(row=sheet.max_row, column=index + 1).number_format = MONEY_FORMAT


def _widths(sheet, widths: list[int]) -> None:
    for index, width in enumerate(widths):
        sheet.column_dimensions[chr(ord("A") + index)].width = width
