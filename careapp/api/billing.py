"""Meal money: a household's monthly statement and a partner's monthly subsidy claim."""
from __future__ import annotations

from datetime import date

from flask import current_app
from pydantic import Field, field_validator

from careapp.accounts.models import User
from careapp.api.registry import api
from careapp.api.schemas import Out, Query, UtcTimestamp
from careapp.core.clock import now
from careapp.core.db import db
from careapp.core.errors import BadInput, Forbidden, NotFound
from careapp.core.i18n import gettext as _
from careapp.households.models import Household
from careapp.core.months import Month
from careapp.meals.billing import ClaimLine, ServedMeal, household_statement, subsidy_claim, tier_label
from careapp.meals.models import MealMode
from careapp.partners.models import MealTime, PartnerOrganisation


class MonthQuery(Query):
    month: str | None = Field(None, description="The month in the sub-district's zone, as YYYY-MM (e.g. 2026-11); "
                                                "default: this month.", examples=["2026-11"])

    @field_validator("month")
    @classmethod
    def _a_month(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                Month.parse(value)
            except BadInput as error:
                raise ValueError(error.message) from None
        return value

    def chosen(self) -> Month:
        return Month.parse(self.month) if self.month is not None else Month.of(now())


class ServedMealOut(Out):
    booking_id: int
    day: date = Field(description="The meal's local date.")
    starts_at: UtcTimestamp
    meal: MealTime
    service_id: int
    service_name: str
    partner_name: str
    canteen: str = Field(description="The service point that served it.")
    member_id: int
    member_name: str
    mode: MealMode
    price_fen: int = Field(description="Fixed when the meal was ordered (fen: ¥1 = 100).")
    subsidy_fen: int
    to_pay_fen: int
    subsidy_tier: str | None = Field(description="The age tier's lowest age, e.g. \"70\"; null: none.")
    special_group: str | None

    @classmethod
    def of(cls, meal: ServedMeal) -> ServedMealOut:
        return cls(booking_id=meal.booking_id, day=meal.day, starts_at=meal.starts_at, meal=meal.meal,
                   service_id=meal.service_id, service_name=meal.service_name, partner_name=meal.partner_name,
                   canteen=meal.canteen, member_id=meal.member_id, member_name=meal.member_name, mode=meal.mode,
                   price_fen=meal.price_fen, subsidy_fen=meal.subsidy_fen, to_pay_fen=meal.to_pay_fen,
                   subsidy_tier=meal.subsidy_tier, special_group=meal.special_group)


class HouseholdStatementOut(Out):
    household_id: int
    month: str
    meals: list[ServedMealOut] = Field(description="Every meal served to the household that month.")
    total_price_fen: int
    total_subsidy_fen: int
    total_to_pay_fen: int


class ClaimLineOut(Out):
    service_id: int
    service_name: str
    subsidy_tier: str | None
    age_tier: str = Field(description="The tier in words, e.g. \"70-79\".")
    special_group: str | None
    meals: int
    subsidy_per_meal_fen: int
    subtotal_fen: int

    @classmethod
    def of(cls, line: ClaimLine) -> ClaimLineOut:
        return cls(service_id=line.service_id, service_name=line.service_name, subsidy_tier=line.tier,
                   age_tier=tier_label(line.tier, current_app.config["MEAL_SUBSIDY_TIERS"], translate=False),
                   special_group=line.special_group, meals=line.meals,
                   subsidy_per_meal_fen=line.subsidy_per_meal_fen, subtotal_fen=line.subtotal_fen)


class ServiceClaimOut(Out):
    service_id: int
    service_name: str
    meals: int
    claimed_fen: int


class SubsidyClaimOut(Out):
    partner_id: int
    partner_name: str
    month: str
    generated_at: UtcTimestamp
    lines: list[ClaimLineOut] = Field(description="Meals per meal service, age tier, special group and subsidy.")
    per_service: list[ServiceClaimOut]
    total_meals: int
    total_claimed_fen: int = Field(description="The sum of the subsidies of every meal served (fen).")


@api.route("GET", "/households/{household_id}/statement", summary="A household's meals served in a month, "
           "with price, subsidy and what is left to pay", query=MonthQuery, response=HouseholdStatementOut,
           errors=(403,))
def household_meal_statement(user: User, household_id: int, query: MonthQuery) -> HouseholdStatementOut:
    # Access first: whether another household exists is none of a family's business.
    if not user.can_act_for_household(household_id):
        raise Forbidden(_("You may only see your own household's statement."))
    household = db.session.get(Household, household_id)
    if household is None:
        raise NotFound(_("No such household."))
    result = household_statement(household, query.chosen(), now=now())
    return HouseholdStatementOut(household_id=household.id, month=str(result.month),
                                 meals=[ServedMealOut.of(meal) for meal in result.meals],
                                 total_price_fen=result.price_fen, total_subsidy_fen=result.subsidy_fen,
                                 total_to_pay_fen=result.to_pay_fen)


@api.route("GET", "/partners/{partner_id}/subsidy-claim", summary="A partner's meal subsidy claim for a month: "
           "meals served per age tier and special group, and the total claimed", query=MonthQuery,
           response=SubsidyClaimOut, errors=(403,))
def partner_subsidy_claim(user: User, partner_id: int, query: MonthQuery) -> SubsidyClaimOut:
    if not user.can_view_partner_rosters(partner_id):
        raise Forbidden(_("Only this partner's staff and community staff see its claims."))
    partner = db.session.get(PartnerOrganisation, partner_id)
    if partner is None:
        raise NotFound(_("No such partner."))
    result = subsidy_claim(partner, query.chosen(), now=now())
    return SubsidyClaimOut(partner_id=partner.id, partner_name=partner.name, month=str(result.month),
                           generated_at=result.generated_at, lines=[ClaimLineOut.of(line) for line in result.lines],
                           per_service=[ServiceClaimOut(**vars(total)) for total in result.per_service],
                           total_meals=result.total_meals, total_claimed_fen=result.total_claimed_fen)
