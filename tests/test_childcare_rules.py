"""Childcare rules: the class's age band on the slot's local date, the health check at check-in, and check-out
only to one of the child's active authorised adults (a refusal is logged)."""
from __future__ import annotations

from datetime import date, time, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from careapp.booking import engine
from careapp.booking.models import Booking, BookingStatus
from careapp.core.audit import AuditEntry
from careapp.core.db import db, write_transaction
from careapp.core.errors import BadInput, RuleRefused
from careapp.households.models import AuthorisedAdult, RecipientKind
from careapp.households.services import add_recipient
from careapp.partners.models import ChildClass, ServiceKind
from careapp.partners.services import create_service
from tests.rosters_factories import TOMORROW, scene  # noqa: F401  (a fixture)


def staffed_slot(scene, service=None, staff=None, **kwargs):
    """A slot of the class tomorrow morning with staff rostered 07:00-12:00 (all three unless given)."""
    service = service or scene.toddlers
    shift = scene.shift(service=service, title=f"{service.name}早班", start=time(7), end=time(12))
    scene.roster(shift, *(staff or scene.staff))
    return scene.slot(service, **kwargs)


def born(day: date, months: int, days_after: int = 0) -> date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(year, month + 1, day.day) + timedelta(days=days_after)


def child_born(scene, name: str, birth_date: date):
    return add_recipient(household_id=scene.family.household.id, by=scene.family.user, now=scene.now,
                         kind=RecipientKind.child, name=name, birth_date=birth_date)


# --- eligibility by class band, on the slot's local date ---

def test_a_child_turning_12_months_on_the_slots_day_moves_from_infants_to_toddlers(scene):
    turning = child_born(scene, "小满", born(TOMORROW, 12))  # 11 months today, 12 tomorrow
    infants = staffed_slot(scene, scene.infants, staff=scene.staff[:1])
    toddlers = staffed_slot(scene, staff=scene.staff[1:])
    with pytest.raises(RuleRefused) as refused:
        engine.book(infants.id, turning.id, by=scene.family.user, now=scene.now)
    assert refused.value.code == "ineligible" and refused.value.fields == {"rule": "max_age"}
    assert "under 12 months" in refused.value.message and "12 months old on 2026-12-02" in refused.value.message
    assert engine.book(toddlers.id, turning.id, by=scene.family.user, now=scene.now).booking.status == \
        BookingStatus.confirmed


def test_the_slots_local_date_counts_not_the_utc_one(scene):
    """An 07:30 Shanghai slot starts the evening before in UTC; the age is that of the local day."""
    turning = child_born(scene, "小满", born(TOMORROW, 12))
    early = staffed_slot(scene, start=time(7, 30), end=time(10))
    assert early.starts_at.date() == TOMORROW - timedelta(days=1)  # UTC
    assert engine.book(early.id, turning.id, by=scene.family.user, now=scene.now).booking.status == \
        BookingStatus.confirmed


@pytest.mark.parametrize("months, rule", [(5, "min_age"), (24, "max_age")])
def test_a_child_outside_the_class_band_is_refused_naming_the_rule(scene, months, rule):
    slot = staffed_slot(scene, scene.infants if rule == "min_age" else scene.toddlers)
    with pytest.raises(RuleRefused) as refused:
        engine.book(slot.id, scene.child("小明", months).id, by=scene.families[-1].user, now=scene.now)
    assert refused.value.fields == {"rule": rule}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Booking)) == 0


def test_the_services_own_age_limits_replace_the_class_band(scene):
    older = create_service(partner_id=scene.partner_id, kind=ServiceKind.childcare, name="托大班(延长)",
                           capacity=20, service_point_id=scene.point.id, by=scene.nursery_manager, now=scene.now,
                           child_class=ChildClass.preschool, max_age_months=40)
    slot = staffed_slot(scene, older)
    child = scene.child("大宝", 38)
    assert engine.book(slot.id, child.id, by=scene.families[-1].user, now=scene.now).booking.status == \
        BookingStatus.confirmed
    with pytest.raises(RuleRefused) as refused:  # the class's lower bound (24 months) still applies
        engine.book(slot.id, scene.child("小宝", 20).id, by=scene.families[-1].user, now=scene.now)
    assert refused.value.fields == {"rule": "min_age"}


def test_elders_are_not_booked_into_childcare(scene):
    slot = staffed_slot(scene)
    elder = scene.family.add_elder(scene.now)
    with pytest.raises(RuleRefused) as refused:
        engine.book(slot.id, elder.id, by=scene.family.user, now=scene.now)
    assert refused.value.fields == {"rule": "recipient_kind"}


# --- attendance ---

@pytest.fixture
def arrived(scene, clock):
    """小明 booked into tomorrow's toddler class and checked in at 08:25, with two adults listed."""
    slot = staffed_slot(scene)
    child = scene.family.add_child(scene.now, name="小明", months=20)
    booking = engine.book(slot.id, child.id, by=scene.family.user, now=scene.now).booking
    grandma = scene.adult(child, "李奶奶", "grandmother")
    uncle = scene.adult(child, "李叔叔", "uncle")
    clock.set(slot.starts_at - timedelta(minutes=5))
    engine.check_in(booking.id, by=scene.staff[0], now=clock.now(), temperature="36.5", health_notes="有点流鼻涕")
    clock.set(slot.ends_at)
    return booking, child, grandma, uncle


def refusals() -> list[AuditEntry]:
    return list(db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "booking.collection_refused")))


def test_the_morning_health_check_is_stored(scene, arrived):
    booking, *_ = arrived
    stored = db.session.get(Booking, booking.id)
    assert (stored.status, stored.health_temperature, stored.health_notes) == (
        BookingStatus.checked_in, Decimal("36.5"), "有点流鼻涕")


def test_a_child_leaves_with_an_authorised_adult_and_who_is_recorded(scene, arrived, clock):
    booking, _, grandma, _ = arrived
    engine.check_out(booking.id, by=scene.staff[1], now=clock.now(), collected_by_id=grandma.id)
    stored = db.session.get(Booking, booking.id)
    assert (stored.status, stored.collected_by_id, stored.checked_out_by_id) == (
        BookingStatus.checked_out, grandma.id, scene.staff[1].id)
    assert refusals() == []


def test_check_out_without_naming_the_collector_is_refused_for_a_child(scene, arrived, clock):
    booking, *_ = arrived
    with pytest.raises(BadInput) as refused:
        engine.check_out(booking.id, by=scene.staff[0], now=clock.now())
    assert refused.value.fields == {"collected_by": "required"}
    assert db.session.get(Booking, booking.id).status == BookingStatus.checked_in


def test_check_out_to_someone_elses_adult_is_refused_and_logged(scene, arrived, clock):
    booking, child, *_ = arrived
    stranger = scene.adult(scene.child("小红", 20), "陌生人", "neighbour")
    with pytest.raises(RuleRefused) as refused:
        engine.check_out(booking.id, by=scene.staff[0], now=clock.now(), collected_by_id=stranger.id)
    assert refused.value.code == "not_authorised_collector"
    assert refused.value.message.startswith("陌生人 is not on 小明's list of adults who may collect them")
    assert db.session.get(Booking, booking.id).status == BookingStatus.checked_in
    [entry] = refusals()
    assert (entry.object_id, entry.actor_id, entry.after["collected_by_id"]) == (booking.id, scene.staff[0].id,
                                                                                 stranger.id)
    assert entry.at == clock.now()


def test_check_out_to_a_deactivated_adult_is_refused_and_logged(scene, arrived, clock):
    booking, _, _, uncle = arrived
    with write_transaction():
        db.session.get(AuthorisedAdult, uncle.id).active = False
    with pytest.raises(RuleRefused) as refused:
        engine.check_out(booking.id, by=scene.staff[0], now=clock.now(), collected_by_id=uncle.id)
    assert refused.value.code == "not_authorised_collector" and "李叔叔 is not on 小明's list" in refused.value.message
    assert len(refusals()) == 1
    assert db.session.get(Booking, booking.id).collected_by_id is None


def test_check_out_to_an_unknown_adult_is_refused_and_logged(scene, arrived, clock):
    booking, *_ = arrived
    with pytest.raises(RuleRefused) as refused:
        engine.check_out(booking.id, by=scene.staff[0], now=clock.now(), collected_by_id=999999)
    assert "Adult no. 999999 is not on 小明's list" in refused.value.message
    assert len(refusals()) == 1


def test_occasional_care_is_booked_slot_by_slot(scene):
    """临时托: the infant class is occasional care here; a family books the one session it needs."""
    slot = staffed_slot(scene, scene.infants)
    baby = scene.child("小宝", 8)
    booking = engine.book(slot.id, baby.id, by=scene.families[-1].user, now=scene.now).booking
    assert booking.status == BookingStatus.confirmed and booking.enrolment_id is None
