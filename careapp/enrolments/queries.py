"""Read models for enrolment pages and the API: a household's enrolments, the services a member may be
enrolled in, and the weekly sessions of a service to choose from."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, time

import sqlalchemy as sa
from sqlalchemy.orm import contains_eager

from careapp.booking.models import Enrolment, EnrolmentStatus
from careapp.booking.policies import policy_for
from careapp.core.db import db
from careapp.households.models import CareRecipient, RecipientKind
from careapp.partners.models import PartnerOrganisation, Service, SlotPattern

MAX_ROWS = 500


def _enrolments_select() -> sa.Select:
    """Enrolments with their member, service and partner loaded in the same statement."""
    return (sa.select(Enrolment)
            .join(Enrolment.recipient).join(Enrolment.service).join(Service.partner)
            .options(contains_eager(Enrolment.recipient),
                     contains_eager(Enrolment.service).contains_eager(Service.partner)))


def household_enrolments(household_id: int, *, include_ended: bool = False) -> list[Enrolment]:
    """A household's enrolments (active and paused; ended ones too when asked), by member then service."""
    stmt = _enrolments_select().where(CareRecipient.household_id == household_id)
    if not include_ended:
        stmt = stmt.where(Enrolment.status != EnrolmentStatus.ended)
    stmt = stmt.order_by(Enrolment.status == EnrolmentStatus.ended, CareRecipient.name, Service.name, Enrolment.id)
    return list(db.session.scalars(stmt.limit(MAX_ROWS)).unique())


def enrolment(enrolment_id: int) -> Enrolment | None:
    return db.session.scalars(_enrolments_select().where(Enrolment.id == enrolment_id)).unique().first()


def enrolable_services(kinds: set[RecipientKind]) -> list[Service]:
    """Services taking bookings whose kind of care serves at least one of these kinds of member."""
    services = db.session.scalars(
        sa.select(Service).join(Service.partner)
        .where(Service.active.is_(True), PartnerOrganisation.approved.is_(True))
        .options(contains_eager(Service.partner))
        .order_by(Service.kind, PartnerOrganisation.name, Service.name, Service.id)).unique()
    return [service for service in services if any(policy_for(service.kind).serves(kind) for kind in kinds)]


@dataclass(frozen=True)
class Sessions:
    """A service's weekly sessions: the weekdays it runs and the local start times (empty: no pattern)."""

    weekdays: frozenset[int]
    start_times: tuple[time, ...]


def weekly_sessions(service_id: int, *, on_or_after: date) -> Sessions:
    patterns = db.session.execute(
        sa.select(SlotPattern.weekday, SlotPattern.start_time).where(
            SlotPattern.service_id == service_id,
            sa.or_(SlotPattern.valid_until.is_(None), SlotPattern.valid_until >= on_or_after))).all()
    return Sessions(frozenset(weekday for weekday, _ in patterns), tuple(sorted({start for _, start in patterns})))
