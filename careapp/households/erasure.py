"""A household asks for its data to be deleted (PIPL art. 47): careapp anonymises it, at once, in one transaction.

Gone: the names of the household, its members, its accounts and the adults who may collect its children; every
phone number, e-mail address, flat number, care and health note (diet, allergies, mobility, medication, emergency
contact, ability level, subsidy group, check-in health checks), the birth day (the birth year and month stay),
the login (the accounts are switched off, their API tokens revoked, their calendar links stopped), the member's
name in the notifications sent to it and the addresses they went to, and the same values in the audit entries
about it.

Kept, because the district's statistics count it: the household's building (so its grid and community), each
member's kind and birth year and month (so the age band every report uses on a month's last day is unchanged),
and the bookings, enrolments and meal orders with their statuses and prices (the subsidy claims and monthly
reports of past months stay the same).

Live bookings still to come are cancelled through the booking engine, so the freed places go to the waiting list;
one already past its cancellation cutoff stays (the partner sees it under the member's number, not a name).
Standing enrolments are ended. One audit entry, ``household.anonymised``, records who asked and when.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa

from careapp.accounts.models import ApiToken, Role, User
from careapp.accounts.services import hash_password
from careapp.booking import engine
from careapp.booking.models import Booking, BookingStatus, Enrolment, EnrolmentStatus
from careapp.booking.policies import policy_for
from careapp.core import audit
from careapp.core.db import db, lock_for_update, write_transaction
from careapp.core.errors import Conflict, Forbidden, NotFound, RuleRefused
from careapp.core.i18n import gettext as _
from careapp.core.timefmt import local_date
from careapp.enrolments import services as enrolments
from careapp.family.models import CalendarFeed
from careapp.households.export import audit_entries_about
from careapp.households.models import AuthorisedAdult, CareRecipient, Household
from careapp.notifications.models import Delivery, DeliveryStatus, Notification
from careapp.partners.models import Slot

# The values an audit entry's before/after may hold that say who someone is or how they are; blanked on erasure.
PERSONAL_KEYS = frozenset({
    "name", "birth_date", "phone", "login", "email", "unit", "relation", "diet", "diet_tags", "allergies",
    "mobility", "medication_notes", "emergency_contact_name", "emergency_contact_phone", "ability_level",
    "special_group", "health_notes", "health_temperature", "address", "member"})
NEED_COLUMNS = ("diet", "diet_tags", "allergies", "mobility", "medication_notes", "emergency_contact_name",
                "emergency_contact_phone", "ability_level", "special_group", "phone")


@dataclass(frozen=True)
class Erasure:
    household_id: int
    bookings_cancelled: int
    bookings_kept: int         # past their cancellation cutoff: they stay, anonymised
    enrolments_ended: int
    accounts_closed: int


def may_erase(user: User, household_id: int) -> bool:
    """The household itself asks; an administrator may do it for a resident who asks in person (no smartphone)."""
    return user.role == Role.admin or (user.role == Role.family and user.household_id == household_id)


def placeholder(obj: Any) -> str:
    """What stands in for a name: the row's number, in no language (e.g. #42)."""
    return f"#{obj.id}"


def erase_household(household_id: int, *, by: User, now: datetime) -> Erasure:
    """Anonymise the household now (see the module's note). Refused if ``by`` may not, or it is already done."""
    if not may_erase(by, household_id):
        raise Forbidden(_("Only the household itself may ask for its data to be deleted."))
    with write_transaction():
        household = lock_for_update(Household, household_id)
        if household is None:
            raise NotFound(_("No such household."))
        if household.anonymised_at is not None:
            raise Conflict(_("This household's data has already been deleted."), code="wrong_state")
        members = list(db.session.scalars(sa.select(CareRecipient).where(CareRecipient.household_id == household.id)
                                          .order_by(CareRecipient.id)))
        member_ids = [member.id for member in members]
        ended = _end_enrolments(member_ids, by=by, now=now)
        cancelled, kept = _cancel_live_bookings(member_ids, by=by, now=now)
        db.session.flush()
        users = list(db.session.scalars(sa.select(User).where(User.household_id == household.id)))
        adults = _anonymise_people(household, members, now=now)
        _close_accounts(users, now=now)
        feeds = _stop_calendar_links(household.id, now=now)
        _scrub_notifications(household.id, [user.id for user in users])
        _scrub_audit({"household": [household.id], "care_recipient": member_ids,
                      "authorised_adult": [adult.id for adult in adults], "user": [user.id for user in users],
                      "calendar_feed": feeds, "booking": _booking_ids(member_ids)})
        result = Erasure(household.id, cancelled, kept, ended, len(users))
        audit.record("household.anonymised", household, actor=by, now=now,
                     after={"bookings_cancelled": cancelled, "bookings_kept": kept, "enrolments_ended": ended,
                            "accounts_closed": len(users), "members": len(members)})
        return result


def _end_enrolments(member_ids: list[int], *, by: User, now: datetime) -> int:
    """End every standing enrolment through its rule (which cancels the bookings it made that are still to come)."""
    if not member_ids:
        return 0
    today = local_date(now)
    live = list(db.session.scalars(sa.select(Enrolment).where(Enrolment.recipient_id.in_(member_ids),
                                                               Enrolment.status != EnrolmentStatus.ended)
                                   .order_by(Enrolment.id)))
    for enrolment in live:
        if enrolment.ends_on is not None and enrolment.ends_on < today:
            before = enrolment.snapshot()  # over already, only its status word lags
            enrolment.status, enrolment.resumes_on, enrolment.updated_at = EnrolmentStatus.ended, None, now
            audit.record("enrolment.ended", enrolment, actor=by, now=now, before=before, after=enrolment.snapshot())
        else:
            enrolments.end(enrolment.id, by=by, now=now)
    return len(live)


def _cancel_live_bookings(member_ids: list[int], *, by: User, now: datetime) -> tuple[int, int]:
    """Cancel the members' bookings still to come with engine.cancel (freed places go to the waiting list), in
    slot order (the engine's lock order). A confirmed one past its cancellation cutoff is kept."""
    if not member_ids:
        return 0, 0
    live = list(db.session.scalars(
        sa.select(Booking).join(Slot, Slot.id == Booking.slot_id)
        .where(Booking.recipient_id.in_(member_ids), Booking.status.in_(engine.PENDING), Slot.starts_at > now)
        .order_by(Booking.slot_id, Booking.id)))
    cancelled = kept = 0
    for booking in live:
        if booking.status == BookingStatus.confirmed:
            try:  # asked first: engine.cancel refusing inside this transaction would undo the whole erasure
                policy_for(booking.slot.service.kind).check_cancellation_open(booking.slot, now)
            except RuleRefused:
                kept += 1
                continue
        engine.cancel(booking.id, by=by, now=now)
        cancelled += 1
    return cancelled, kept


def _booking_ids(member_ids: list[int]) -> list[int]:
    if not member_ids:
        return []
    return list(db.session.scalars(sa.select(Booking.id).where(Booking.recipient_id.in_(member_ids))))


def _anonymise_people(household: Household, members: list[CareRecipient], *, now: datetime) -> list[AuthorisedAdult]:
    household.name, household.unit, household.anonymised_at = placeholder(household), None, now
    for member in members:
        member.name = placeholder(member)
        member.birth_date = date(member.birth_date.year, member.birth_date.month, 1)
        for column in NEED_COLUMNS:
            setattr(member, column, None)
    member_ids = [member.id for member in members]
    if not member_ids:
        return []
    adults = list(db.session.scalars(sa.select(AuthorisedAdult).where(AuthorisedAdult.child_id.in_(member_ids))))
    for adult in adults:
        adult.name, adult.relation, adult.phone, adult.active = placeholder(adult), "", None, False
    db.session.execute(sa.update(Booking).where(Booking.recipient_id.in_(member_ids))
                       .values(health_notes=None, health_temperature=None)
                       .execution_options(synchronize_session=False))
    return adults


def _close_accounts(users: list[User], *, now: datetime) -> None:
    for user in users:
        user.login, user.name, user.email, user.phone = f"erased-{user.id}", placeholder(user), None, None
        user.password_hash = hash_password(secrets.token_urlsafe(32))  # no one knows it: no way back in
        user.active = False
    if users:
        db.session.execute(sa.update(ApiToken).where(ApiToken.user_id.in_([user.id for user in users]),
                                                     ApiToken.revoked_at.is_(None))
                           .values(revoked_at=now).execution_options(synchronize_session=False))


def _stop_calendar_links(household_id: int, *, now: datetime) -> list[int]:
    feeds = list(db.session.scalars(sa.select(CalendarFeed).where(CalendarFeed.household_id == household_id)))
    for feed in feeds:
        if feed.revoked_at is None:
            feed.revoked_at = now
    return [feed.id for feed in feeds]


def _scrub_notifications(household_id: int, user_ids: list[int]) -> None:
    """The member's name leaves the household's notifications; their deliveries lose the address and any still
    waiting is not sent."""
    for notification in db.session.scalars(sa.select(Notification).where(Notification.household_id == household_id)):
        if "member" in (notification.params or {}):
            notification.params = {**notification.params, "member": "#"}
    if user_ids:
        db.session.execute(sa.update(Delivery).where(Delivery.user_id.in_(user_ids),
                                                     Delivery.status == DeliveryStatus.pending)
                           .values(status=DeliveryStatus.skipped).execution_options(synchronize_session=False))
        db.session.execute(sa.update(Delivery).where(Delivery.user_id.in_(user_ids)).values(address="")
                           .execution_options(synchronize_session=False))


def _scrub_audit(objects: dict[str, list[int]]) -> None:
    """Personal values leave the audit entries about the household's rows; actions, times and statuses stay (the
    monthly report reads booking statuses from them)."""
    for entry in audit_entries_about(objects, actor_ids=[]):
        for side in ("before", "after"):
            values = getattr(entry, side)
            if values and PERSONAL_KEYS & set(values):
                setattr(entry, side, {key: (None if key in PERSONAL_KEYS else value) for key, value in values.items()})
