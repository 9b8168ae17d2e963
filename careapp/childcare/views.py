"""Childcare pages: the staffing of each class, slot by slot (check-in and check-out are on the slot roster)."""
from __future__ import annotations

from datetime import timedelta

from flask import Blueprint
from flask.typing import ResponseReturnValue
from flask_login import login_required

from careapp.booking import queries
from careapp.childcare.policy import children_per_staff, class_size
from careapp.core.clock import now
from careapp.core.db import db
from careapp.core.i18n import gettext as _
from careapp.core.timefmt import local_date
from careapp.pages import acting_user, render, require
from careapp.partners.models import PartnerOrganisation, ServiceKind

bp = Blueprint("childcare", __name__, url_prefix="/childcare")

# How far ahead the staffing page looks.
STAFFING_DAYS = 14


@bp.get("/<int:partner_id>/staffing")
@login_required
def staffing(partner_id: int) -> ResponseReturnValue:
    """Each coming childcare slot: class size, the places the rostered staff allow, children booked and waiting."""
    partner = db.get_or_404(PartnerOrganisation, partner_id)
    require(acting_user().can_view_partner_rosters(partner.id), _("This belongs to another partner."))
    today = local_date(now())
    rows = queries.find_slots(now=now(), partner_id=partner.id, kind=ServiceKind.childcare, only_open=False,
                              date_to=today + timedelta(days=STAFFING_DAYS))
    services = [service for service in partner.services if service.kind == ServiceKind.childcare]
    return render("childcare/staffing.html", partner=partner, rows=rows, services=services, days=STAFFING_DAYS,
                  class_size=class_size, children_per_staff=children_per_staff)
