"""Community staff pages: every partner's services at a glance, adding partners,
and booking on behalf of residents who have no smartphone (代办)."""
from __future__ import annotations

from flask import Blueprint, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required

from careapp.booking import queries
from careapp.booking.forms import ResidentSearchForm
from careapp.booking.policies import policy_for
from careapp.community.forms import PartnerForm
from careapp.community.queries import partner_overview
from careapp.core.clock import now
from careapp.core.db import db
from careapp.core.i18n import gettext as _
from careapp.district.views import bp as district_pages
from careapp.households.models import CareRecipient
from careapp.households.queries import search_households
from careapp.pages import acting_user, form_page, render, require
from careapp.partners.models import PartnerKind, PartnerOrganisation
from careapp.partners.services import create_partner

bp = Blueprint("community", __name__, url_prefix="/community")
bp.register_blueprint(district_pages)  # /community/district/...: the grid ledger import, for the same staff


@bp.before_request
@login_required
def district_staff_only() -> ResponseReturnValue | None:
    """Every page here is for community staff and admins."""
    require(acting_user().is_district, _("These pages are for community staff."))


@bp.get("/")
def overview() -> ResponseReturnValue:
    return render("community/overview.html", partners=partner_overview(now=now()))


@bp.get("/partners/<int:partner_id>")
def partner_slots(partner_id: int) -> ResponseReturnValue:
    partner = db.get_or_404(PartnerOrganisation, partner_id)
    rows = queries.find_slots(now=now(), partner_id=partner.id, only_open=False)
    return render("community/partner_slots.html", partner=partner, rows=rows)


@bp.route("/partners/new", methods=["GET", "POST"])
def new_partner() -> ResponseReturnValue:
    form = PartnerForm()

    def add() -> tuple[str, str]:
        partner = create_partner(name=form.name.data, kind=PartnerKind(form.kind.data), by=acting_user(),
                                 now=now(), phone=form.phone.data or None)
        return (_("%(name)s is added. Next: add a service point and its manager's account.", name=partner.name),
                url_for("partners.dashboard", partner_id=partner.id))

    return form_page(form, "community/partner_form.html", add)


@bp.get("/residents")
def residents() -> ResponseReturnValue:
    """Search a resident's household by family name, building or flat, to book on their behalf."""
    form = ResidentSearchForm(request.args)
    households = search_households(form.q.data or "") if form.validate() else []
    return render("community/residents.html", form=form, households=households, searched=bool(form.q.data))


@bp.get("/residents/members/<int:member_id>")
def book_for_member(member_id: int) -> ResponseReturnValue:
    """Pick a slot for one resident: the upcoming open slots of the kinds of care that serve them."""
    member = db.get_or_404(CareRecipient, member_id)
    rows = [row for row in queries.find_slots(now=now())
            if policy_for(row.service.kind).serves(member.kind)]
    return render("community/book_for_member.html", member=member, rows=rows, back=request.path)

