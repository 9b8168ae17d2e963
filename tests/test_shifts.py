"""Shift rules: who may plan them, clashes, the most and fewest people, past shifts, and the audit trail."""
from __future__ import annotations

from datetime import time, timedelta

import pytest
import sqlalchemy as sa

from careapp.accounts.models import Role
from careapp.core.audit import AuditEntry
from careapp.core.db import db, write_transaction
from careapp.core.errors import BadInput, Conflict, Forbidden, RuleRefused
from careapp.partners import roster_queries, shifts
from careapp.partners.models import Shift, ShiftAssignment, ShiftRole, Volunteer
from tests.factories import make_user
from tests.rosters_factories import TOMORROW, scene  # noqa: F401  (a fixture)


def actions() -> list[str]:
    return list(db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))


def test_a_manager_plans_a_shift_and_it_is_audited(scene):
    shift = scene.shift(title="早班保育", min_people=2, max_people=3)
    stored = db.session.get(Shift, shift.id)
    assert (stored.day, stored.start_time, stored.end_time, stored.role, stored.service_id) == (
        TOMORROW, time(8), time(12), ShiftRole.staff, scene.toddlers.id)
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "shift.created")).one()
    assert entry.actor_id == scene.nursery_manager.id and entry.after["title"] == "早班保育"


@pytest.mark.parametrize("who", ["staff", "other_manager", "community_staff"])
def test_only_that_partners_manager_or_an_admin_plans_shifts(scene, who):
    user = {"staff": scene.staff[0], "other_manager": scene.care_centre_manager,
            "community_staff": scene.community_staff}[who]
    with pytest.raises(Forbidden):
        shifts.create_shift(point_id=scene.point.id, day=TOMORROW, start_time=time(8), end_time=time(12),
                            role=ShiftRole.staff, title="早班", by=user, now=scene.now)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Shift)) == 0
    shifts.create_shift(point_id=scene.point.id, day=TOMORROW, start_time=time(8), end_time=time(12),
                        role=ShiftRole.staff, title="早班", by=scene.admin, now=scene.now)


def test_the_same_person_on_two_overlapping_shifts_is_refused_naming_the_other_shift(scene):
    morning = scene.shift(title="早班保育", start=time(8), end=time(12))
    scene.roster(morning, scene.staff[0])
    # At the partner's other site, overlapping by an hour.
    lunch = scene.shift(title="午间看护", start=time(11), end=time(14), service=None, point=scene.second_point)
    with pytest.raises(RuleRefused) as refused:
        scene.roster(lunch, scene.staff[0])
    assert refused.value.code == "shift_clash"
    assert '"早班保育" 08:00-12:00 at 艺涵托育园服务点' in refused.value.message
    assert scene.staff[0].name in refused.value.message
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ShiftAssignment)) == 1


def test_a_shift_starting_when_another_ends_is_not_a_clash(scene):
    morning = scene.shift(start=time(8), end=time(12))
    afternoon = scene.shift(title="午后保育", start=time(12), end=time(17))
    scene.roster(morning, scene.staff[0])
    scene.roster(afternoon, scene.staff[0])
    other_day = scene.shift(day=TOMORROW + timedelta(days=1), start=time(8), end=time(12))
    scene.roster(other_day, scene.staff[0])  # the same hours on another day
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ShiftAssignment)) == 3


def test_volunteers_cannot_be_on_clashing_shifts_either(scene):
    first = scene.shift(role=ShiftRole.volunteer, service=None, title="接送协助")
    second = scene.shift(role=ShiftRole.volunteer, service=None, title="午餐协助", start=time(9), end=time(10))
    scene.roster(first, scene.volunteer)
    with pytest.raises(RuleRefused) as refused:
        scene.roster(second, scene.volunteer)
    assert refused.value.code == "shift_clash" and "接送协助" in refused.value.message


def test_no_more_people_than_max_people(scene):
    shift = scene.shift(max_people=2)
    scene.roster(shift, scene.staff[0], scene.staff[1])
    with pytest.raises(RuleRefused) as refused:
        scene.roster(shift, scene.staff[2])
    assert refused.value.code == "shift_full"
    assert len(db.session.get(Shift, shift.id).assignments) == 2


def test_one_person_once_per_shift(scene):
    shift = scene.shift()
    scene.roster(shift, scene.staff[0])
    with pytest.raises(Conflict) as refused:
        scene.roster(shift, scene.staff[0])
    assert refused.value.code == "already_on_shift"


def test_a_shift_below_its_minimum_is_flagged_until_enough_people_are_on_it(scene):
    shift = scene.shift(min_people=2, max_people=3)
    [view] = roster_queries.point_shifts(scene.point.id, TOMORROW, TOMORROW)
    assert view.below_minimum and view.short_by == 2
    scene.roster(shift, scene.staff[0])
    assert [v.shift.id for v in roster_queries.shifts_below_minimum(scene.partner_id, now=scene.now)] == [shift.id]
    scene.roster(shift, scene.staff[1])
    [view] = roster_queries.point_shifts(scene.point.id, TOMORROW, TOMORROW)
    assert not view.below_minimum
    assert roster_queries.shifts_below_minimum(scene.partner_id, now=scene.now) == []


def test_only_the_partners_own_active_people_and_of_the_shifts_kind(scene):
    staff_shift = scene.shift()
    volunteer_shift = scene.shift(role=ShiftRole.volunteer, service=None, title="志愿服务")
    with pytest.raises(RuleRefused) as refused:
        scene.roster(staff_shift, scene.care_centre_staff)
    assert refused.value.code == "not_this_partner"
    with pytest.raises(RuleRefused) as refused:
        scene.roster(staff_shift, scene.community_staff)  # not a partner account at all
    assert refused.value.code == "not_this_partner"
    with pytest.raises(BadInput) as refused:
        scene.roster(staff_shift, scene.volunteer)
    assert refused.value.fields == {"user_id": "required"}
    with pytest.raises(BadInput):
        scene.roster(volunteer_shift, scene.staff[0])
    with write_transaction():
        other = Volunteer(partner_id=scene.care_centre_staff.partner_id, name="别家志愿者", active=True)
        db.session.add(other)
    with pytest.raises(RuleRefused) as refused:
        scene.roster(volunteer_shift, other)
    assert refused.value.code == "not_this_partner"
    gone = make_user(Role.partner_staff, scene.now, partner_id=scene.partner_id, name="离职老师")
    with write_transaction():
        db.session.get(type(gone), gone.id).active = False
    with pytest.raises(RuleRefused) as refused:
        scene.roster(staff_shift, gone)
    assert refused.value.code == "person_inactive"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ShiftAssignment)) == 0


def test_the_manager_may_work_a_staff_shift(scene):
    shift = scene.shift()
    scene.roster(shift, scene.nursery_manager)
    assert [a.user_id for a in db.session.get(Shift, shift.id).assignments] == [scene.nursery_manager.id]


def test_shifts_in_the_past_are_refused_and_ended_ones_do_not_change(scene, clock):
    today = scene.now.date()
    with pytest.raises(RuleRefused) as refused:
        scene.shift(day=today - timedelta(days=1))
    assert refused.value.code == "shift_in_past"
    with pytest.raises(RuleRefused):
        scene.shift(day=today, start=time(7), end=time(9))  # today, but it ended at 09:00, which is now
    running = scene.shift(day=today, start=time(8), end=time(12))  # already started: still today's work
    scene.roster(running, scene.staff[0])
    clock.set(scene.now + timedelta(hours=4))
    later = clock.now()
    with pytest.raises(RuleRefused) as refused:
        shifts.assign(running.id, user_id=scene.staff[1].id, by=scene.nursery_manager, now=later)
    assert refused.value.code == "shift_over"
    with pytest.raises(RuleRefused):
        shifts.delete_shift(running.id, by=scene.nursery_manager, now=later)
    with pytest.raises(RuleRefused):
        shifts.update_shift(running.id, title="改名", by=scene.nursery_manager, now=later)
    assignment = db.session.get(Shift, running.id).assignments[0]
    with pytest.raises(RuleRefused):
        shifts.unassign(running.id, assignment.id, by=scene.nursery_manager, now=later)


@pytest.mark.parametrize("changes, field", [
    ({"start_time": time(12), "end_time": time(8)}, "end_time"),
    ({"min_people": 3, "max_people": 2}, "max_people"),
    ({"max_people": 0}, "max_people"),
    ({"min_people": -1}, "min_people"),
    ({"title": "  "}, "title"),
    ({"role": "boss"}, "role"),
    ({"day": TOMORROW + timedelta(days=400)}, "day"),
])
def test_bad_shift_input_names_the_field(scene, changes, field):
    values = dict(point_id=scene.point.id, day=TOMORROW, start_time=time(8), end_time=time(12),
                  role=ShiftRole.staff, title="早班", min_people=1, max_people=2)
    with pytest.raises(BadInput) as refused:
        shifts.create_shift(**{**values, **changes}, by=scene.nursery_manager, now=scene.now)
    assert field in refused.value.fields


def test_a_shift_staffs_a_service_of_its_own_point_only(scene):
    with pytest.raises(BadInput) as refused:
        scene.shift(service=scene.daycare)
    assert refused.value.fields == {"service_id": "not at this point"}
    with pytest.raises(BadInput):
        scene.shift(service=scene.toddlers, point=scene.second_point)


def test_changing_a_shift_keeps_its_people_fitting(scene):
    morning = scene.shift(title="早班", start=time(8), end=time(12), max_people=3)
    afternoon = scene.shift(title="午班", start=time(13), end=time(17))
    scene.roster(morning, scene.staff[0], scene.staff[1])
    scene.roster(afternoon, scene.staff[0])
    with pytest.raises(RuleRefused) as refused:
        shifts.update_shift(morning.id, max_people=1, by=scene.nursery_manager, now=scene.now)
    assert refused.value.code == "shift_full"
    with pytest.raises(RuleRefused) as refused:
        shifts.update_shift(morning.id, end_time=time(14), by=scene.nursery_manager, now=scene.now)
    assert refused.value.code == "shift_clash" and '"午班" 13:00-17:00' in refused.value.message
    with pytest.raises(RuleRefused) as refused:
        shifts.update_shift(morning.id, role=ShiftRole.volunteer, by=scene.nursery_manager, now=scene.now)
    assert refused.value.code == "shift_has_people"
    assert db.session.get(Shift, morning.id).end_time == time(12)  # nothing half-changed
    shifts.update_shift(morning.id, end_time=time(13), title="早班(延长)", by=scene.nursery_manager, now=scene.now)
    stored = db.session.get(Shift, morning.id)
    assert (stored.end_time, stored.title) == (time(13), "早班(延长)")
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "shift.changed")).one()
    assert (entry.before["end_time"], entry.after["end_time"]) == ("12:00", "13:00")


def test_assigning_unassigning_and_deleting_are_audited(scene):
    shift = scene.shift()
    scene.roster(shift, scene.staff[0], scene.staff[1])
    first = db.session.get(Shift, shift.id).assignments[0]
    shifts.unassign(shift.id, first.id, by=scene.nursery_manager, now=scene.now)
    shifts.delete_shift(shift.id, by=scene.nursery_manager, now=scene.now)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Shift)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ShiftAssignment)) == 0
    assert [a for a in actions() if a.startswith("shift.")] == [
        "shift.created", "shift.assigned", "shift.assigned", "shift.unassigned", "shift.deleted"]
    deleted = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "shift.deleted")).one()
    assert deleted.before["people"] == [scene.staff[1].name]


def test_someone_on_another_shift_cannot_be_taken_off_through_this_one(scene):
    first, second = scene.shift(), scene.shift(title="午班", start=time(13), end=time(17))
    scene.roster(first, scene.staff[0])
    assignment = db.session.get(Shift, first.id).assignments[0]
    from careapp.core.errors import NotFound

    with pytest.raises(NotFound):
        shifts.unassign(second.id, assignment.id, by=scene.nursery_manager, now=scene.now)


@pytest.mark.parametrize("phone, ok", [("13911112222", True), ("0553-1234567", True), (None, True),
                                       ("call me", False), ("1" * 30, False)])
def test_volunteers_are_added_by_the_manager_with_an_optional_phone(scene, phone, ok):
    if ok:
        volunteer = shifts.add_volunteer(partner_id=scene.partner_id, name=" 小孙 ", phone=phone,
                                         by=scene.nursery_manager, now=scene.now)
        assert (volunteer.name, volunteer.phone, volunteer.active) == ("小孙", phone, True)
        assert "volunteer.added" in actions()
    else:
        with pytest.raises(BadInput) as refused:
            shifts.add_volunteer(partner_id=scene.partner_id, name="小孙", phone=phone, by=scene.nursery_manager,
                                 now=scene.now)
        assert refused.value.fields == {"phone": "digits"}


def test_staff_cannot_add_volunteers(scene):
    with pytest.raises(Forbidden):
        shifts.add_volunteer(partner_id=scene.partner_id, name="小孙", by=scene.staff[0], now=scene.now)
