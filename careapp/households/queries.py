"""Read models of households: one household with its members, searching residents, who may collect a child."""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager, selectinload

from careapp.core.db import db
from careapp.district.models import Building
from careapp.households.models import AuthorisedAdult, CareRecipient, Household

MAX_RESULTS = 50


def household_with_members(household_id: int) -> Household | None:
    """The household, its building, and its members with their authorised adults: three statements."""
    return db.session.scalar(
        sa.select(Household).where(Household.id == household_id)
        .options(selectinload(Household.building),
                 selectinload(Household.members).selectinload(CareRecipient.authorised_adults)))


def search_households(text: str, *, limit: int = MAX_RESULTS) -> list[Household]:
    """Households whose name, building or unit contains ``text`` (community staff booking on behalf)."""
    text = text.strip()
    if not text:
        return []
    return list(db.session.scalars(
        sa.select(Household).join(Household.building)
        .where(sa.or_(Household.name.contains(text, autoescape=True),
                      Building.name.contains(text, autoescape=True),
                      Building.address.contains(text, autoescape=True),
                      Household.unit.contains(text, autoescape=True)))
        .options(contains_eager(Household.building), selectinload(Household.members))
        .order_by(Building.name, Household.unit, Household.name, Household.id)
        .limit(limit)).unique())


def authorised_adults_for(recipient_ids: set[int]) -> dict[int, list[AuthorisedAdult]]:
    """child id -> the adults who may collect the child (active ones), for a whole roster at once."""
    if not recipient_ids:
        return {}
    adults: dict[int, list[AuthorisedAdult]] = {}
    for adult in db.session.scalars(
            sa.select(AuthorisedAdult)
            .where(AuthorisedAdult.child_id.in_(recipient_ids), AuthorisedAdult.active.is_(True))
            .order_by(AuthorisedAdult.id)):
        adults.setdefault(adult.child_id, []).append(adult)
    return adults
