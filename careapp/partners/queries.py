"""Read models of partners: the organisations a user may see, with their service points and services."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from careapp.accounts.models import PARTNER_ROLES, User
from careapp.core.db import db
from careapp.partners.models import PartnerOrganisation, Service


def approved_partner_names() -> list[tuple[int, str]]:
    """(id, name) of every approved partner, by name: the choices of a slot search."""
    return [tuple(row) for row in db.session.execute(
        sa.select(PartnerOrganisation.id, PartnerOrganisation.name)
        .where(PartnerOrganisation.approved.is_(True))
        .order_by(PartnerOrganisation.name, PartnerOrganisation.id)).all()]


def partner_with_services(partner_id: int) -> PartnerOrganisation | None:
    """One partner with its service points, and its services with their service point: four statements."""
    return db.session.scalar(
        sa.select(PartnerOrganisation).where(PartnerOrganisation.id == partner_id)
        .options(selectinload(PartnerOrganisation.service_points),
                 selectinload(PartnerOrganisation.services).selectinload(Service.service_point)))


def visible_partners(user: User) -> list[PartnerOrganisation]:
    """District staff see every partner; partner staff their own; families the approved ones: three statements."""
    stmt = (sa.select(PartnerOrganisation)
            .options(selectinload(PartnerOrganisation.service_points), selectinload(PartnerOrganisation.services))
            .order_by(PartnerOrganisation.name, PartnerOrganisation.id))
    if user.role in PARTNER_ROLES:
        stmt = stmt.where(PartnerOrganisation.id == user.partner_id)
    elif not user.is_district:
        stmt = stmt.where(PartnerOrganisation.approved.is_(True))
    return list(db.session.scalars(stmt))
