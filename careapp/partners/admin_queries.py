"""Read models of partner administration: registrations waiting for approval, a partner's accounts and rooms."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from careapp.accounts.models import PARTNER_ROLES, Role, User
from careapp.core.db import db
from careapp.partners.models import PartnerOrganisation, Room, ServicePoint


def pending_partners() -> list[PartnerOrganisation]:
    """Registrations neither approved nor declined, oldest first (the order they are reviewed in)."""
    return list(db.session.scalars(
        sa.select(PartnerOrganisation)
        .where(PartnerOrganisation.approved.is_(False), PartnerOrganisation.declined_at.is_(None))
        .order_by(PartnerOrganisation.created_at, PartnerOrganisation.id)))


def partner_accounts(partner_id: int) -> list[User]:
    """A partner's staff and manager accounts: managers first, then by name."""
    manager_first = sa.case((User.role == Role.partner_manager, 0), else_=1)
    return list(db.session.scalars(
        sa.select(User).where(User.partner_id == partner_id, User.role.in_(PARTNER_ROLES))
        .order_by(manager_first, User.name, User.id)))


def partner_for_review(partner_id: int) -> PartnerOrganisation | None:
    """A partner with its service points, their rooms and its services: what community staff look at."""
    return db.session.scalar(
        sa.select(PartnerOrganisation).where(PartnerOrganisation.id == partner_id)
        .options(selectinload(PartnerOrganisation.service_points).selectinload(ServicePoint.rooms),
                 selectinload(PartnerOrganisation.services)))


def service_point_rooms(service_point_id: int) -> list[Room]:
    return list(db.session.scalars(sa.select(Room).where(Room.service_point_id == service_point_id)
                                   .order_by(Room.name, Room.id)))
