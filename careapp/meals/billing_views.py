"""Meal prices and subsidies: household statements and partner subsidy claims."""
from __future__ import annotations

from io import BytesIO

from babel.dates import format_date
from flask import Blueprint, abort, current_app, redirect, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from werkzeug.wrappers import Response

from careapp.core.clock import now
from careapp.core.db import db
from careapp.core.errors import BadInput, NotFound
from careapp.core.i18n import current_language
from careapp.core.i18n import gettext as _
from careapp.households.models import Household
from careapp.meals import billing
from careapp.core.exports import XLSX_TYPE
from careapp.core.months import Month
from careapp.meals.billing import claim_workbook, group_label, subsidy_claim, tier_label, yuan
from careapp.pages import LABELS, acting_user, render, require
from careapp.partners.models import PartnerOrganisation

bp = Blueprint("billing", __name__, url_prefix="/billing")

# A month in a heading or sentence: 2026年12月 / December 2026.
MONTH_PATTERNS = {"zh_CN": "y年M月", "en": "MMMM y"}


def _chosen_month() -> Month:
    """``?month=YYYY-MM`` from the month picker, else this month."""
    text = request.args.get("month")
    return Month.of(now()) if not text else Month.parse(text)


def _month_in_path(text: str) -> Month:
    try:
        return Month.parse(text)
    except BadInput:
        raise NotFound(_("No such month: give it as year and month, for example 2026-11.")) from None


def month_label(month: Month) -> str:
    """The month in words, in the reader's language."""
    language = current_language()
    return format_date(month.first_day, MONTH_PATTERNS.get(language, MONTH_PATTERNS["zh_CN"]), locale=language)


def _money_words() -> dict:
    """What the billing templates use to show money, tiers and groups."""
    return {"yuan": yuan, "tier_label": lambda tier: tier_label(tier, current_app.config["MEAL_SUBSIDY_TIERS"]),
            "group_label": lambda group: group_label(group, LABELS["special_group"]), "month_label": month_label}


# --- a household's statement ---

def _household(household_id: int) -> Household:
    # Access first: whether another household exists is none of a family's business.
    require(acting_user().can_act_for_household(household_id), _("This household is not yours to see."))
    return db.get_or_404(Household, household_id)


@bp.get("/households/<int:household_id>")
@login_required
def household_index(household_id: int) -> Response:
    household = _household(household_id)
    return redirect(url_for("billing.household_statement", household_id=household.id, month=str(_chosen_month())))


@bp.get("/households/<int:household_id>/<month>")
@login_required
def household_statement(household_id: int, month: str) -> ResponseReturnValue:
    household = _household(household_id)
    statement = billing.household_statement(household, _month_in_path(month), now=now())
    return render("billing/statement.html", statement=statement, household=household, **_money_words())


# --- a partner's subsidy claim ---

def _partner(partner_id: int) -> PartnerOrganisation:
    require(acting_user().can_view_partner_rosters(partner_id), _("Only this partner's staff see its claims."))
    partner = db.session.get(PartnerOrganisation, partner_id)
    if partner is None:
        abort(404)
    return partner


@bp.get("/partners/<int:partner_id>")
@login_required
def partner_index(partner_id: int) -> Response:
    partner = _partner(partner_id)
    return redirect(url_for("billing.partner_claim", partner_id=partner.id, month=str(_chosen_month())))


@bp.get("/partners/<int:partner_id>/<month>")
@login_required
def partner_claim(partner_id: int, month: str) -> ResponseReturnValue:
    partner = _partner(partner_id)
    claim = subsidy_claim(partner, _month_in_path(month), now=now())
    return render("billing/claim.html", claim=claim, partner=partner, **_money_words())


@bp.get("/partners/<int:partner_id>/<month>/claim.xlsx")
@login_required
def partner_claim_xlsx(partner_id: int, month: str) -> Response:
    partner = _partner(partner_id)
    claim = subsidy_claim(partner, _month_in_path(month), now=now())
    content = claim_workbook(claim, sub_district=current_app.config["SUB_DISTRICT"],
                             tiers=current_app.config["MEAL_SUBSIDY_TIERS"], groups=LABELS["special_group"])
    return send_file(BytesIO(content), mimetype=XLSX_TYPE, as_attachment=True,
                     download_name=f"meal-subsidy-claim-{partner.id}-{claim.month}.xlsx")
