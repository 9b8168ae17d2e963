"""The shift, volunteer, day-roster, childcare-staffing and attendance routes of the JSON API."""
from __future__ import annotations

from datetime import time, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from careapp.booking import engine
from careapp.booking.models import Booking, BookingStatus
from careapp.core.audit import AuditEntry
from careapp.core.db import db, write_transaction
from careapp.households.models import CareRecipient
from careapp.partners.models import Shift, ShiftAssignment, Slot
from tests.api_helpers import bad_fields, bearer, call, error_of  # noqa: F401  (bearer: a fixture)
from tests.rosters_factories import TOMORROW, scene  # noqa: F401  (a fixture)

SHIFT = {"day": "2026-12-02", "start_time": "08:00", "end_time": "12:00", "role": "staff", "title": "早班保育",
         "min_people": 1, "max_people": 2}


def test_the_manager_plans_staffs_changes_and_deletes_a_shift(client, scene, bearer):
    manager = bearer(scene.nursery_manager)
    slot = scene.slot()
    response = call(client, "POST", f"/service-points/{scene.point.id}/shifts", manager,
                    json={**SHIFT, "service_id": scene.toddlers.id})
    assert response.status_code == 201
    shift = response.get_json()
    assert (shift["start_time"], shift["below_minimum"], shift["people"]) == ("08:00:00", True, [])
    added = call(client, "POST", f"/shifts/{shift['id']}/assignments", manager, json={"user_id": scene.staff[0].id})
    assert added.status_code == 201 and added.get_json()["name"] == scene.staff[0].name
    assert db.session.get(Slot, slot.id).staffed_places == 5
    listed = call(client, "GET", f"/service-points/{scene.point.id}/shifts?day=2026-12-02",
                  bearer(scene.staff[1])).get_json()
    assert [(s["title"], s["below_minimum"], [p["user_id"] for p in s["people"]]) for s in listed] == [
        ("早班保育", False, [scene.staff[0].id])]
    changed = call(client, "PATCH", f"/shifts/{shift['id']}", manager, json={"end_time": "12:30", "min_people": 2})
    assert changed.status_code == 200 and changed.get_json()["below_minimum"] is True
    gone = call(client, "DELETE", f"/shifts/{shift['id']}/assignments/{added.get_json()['assignment_id']}", manager)
    assert gone.status_code == 204
    assert db.session.get(Slot, slot.id).staffed_places == 0
    assert call(client, "DELETE", f"/shifts/{shift['id']}", manager).status_code == 204
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Shift)) == 0


def test_clashes_and_full_shifts_are_422_with_the_reason(client, scene, bearer):
    manager = bearer(scene.nursery_manager)
    first = scene.shift(title="早班A", max_people=1)
    scene.roster(first, scene.staff[0])
    second = scene.shift(title="早班B", start=time(11), end=time(15))
    error = error_of(call(client, "POST", f"/shifts/{second.id}/assignments", manager,
                          json={"user_id": scene.staff[0].id}), 422, "shift_clash")
    assert '"早班A" 08:00-12:00' in error["message"] and error["fields"] == {"user_id": "clash"}
    error_of(call(client, "POST", f"/shifts/{first.id}/assignments", manager, json={"user_id": scene.staff[1].id}),
             422, "shift_full")
    error_of(call(client, "POST", f"/shifts/{first.id}/assignments", manager,
                  json={"user_id": scene.staff[0].id, "volunteer_id": scene.volunteer.id}), 400, "bad_input")
    error_of(call(client, "POST", f"/shifts/{second.id}/assignments", manager,
                  json={"user_id": scene.care_centre_staff.id}), 422, "not_this_partner")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ShiftAssignment)) == 1


@pytest.mark.parametrize("body, field", [
    ({**SHIFT, "day": "2026-11-30"}, "day"),
    ({**SHIFT, "end_time": "07:00"}, "end_time"),
    ({**SHIFT, "max_people": 0}, "max_people"),
    ({**SHIFT, "role": "boss"}, "role"),
    ({**SHIFT, "start_time": "08:00+08:00"}, "start_time"),
])
def test_bad_shift_bodies_name_the_field(client, scene, bearer, body, field):
    response = call(client, "POST", f"/service-points/{scene.point.id}/shifts", bearer(scene.nursery_manager),
                    json=body)
    assert response.status_code in (400, 422)
    assert field in response.get_json()["error"]["fields"]


def test_an_empty_change_is_refused(client, scene, bearer):
    shift = scene.shift()
    error_of(call(client, "PATCH", f"/shifts/{shift.id}", bearer(scene.nursery_manager), json={}), 400, "bad_input")
    error_of(call(client, "PATCH", f"/shifts/{shift.id}", bearer(scene.nursery_manager), json={"title": None}),
             400, "bad_input")


@pytest.mark.parametrize("who, status", [("staff", 403), ("community_staff", 403), ("other_manager", 403),
                                         ("admin", 201)])
def test_who_may_plan_shifts(client, scene, bearer, who, status):
    user = {"staff": scene.staff[0], "community_staff": scene.community_staff,
            "other_manager": scene.care_centre_manager, "admin": scene.admin}[who]
    response = call(client, "POST", f"/service-points/{scene.point.id}/shifts", bearer(user), json=SHIFT)
    assert response.status_code == status


@pytest.mark.parametrize("who, status", [("staff", 200), ("community_staff", 200), ("other_staff", 403),
                                         ("family", 403)])
def test_who_may_see_shifts_and_day_rosters(client, scene, bearer, who, status):
    user = {"staff": scene.staff[0], "community_staff": scene.community_staff, "other_staff": scene.care_centre_staff,
            "family": scene.family.user}[who]
    for path in (f"/service-points/{scene.point.id}/shifts", f"/service-points/{scene.point.id}/day-roster"):
        assert call(client, "GET", path, bearer(user)).status_code == status


def test_volunteers_are_listed_and_added_by_the_manager(client, scene, bearer):
    manager = bearer(scene.nursery_manager)
    added = call(client, "POST", f"/partners/{scene.partner_id}/volunteers", manager,
                 json={"name": "小孙", "phone": "13922223333"})
    assert added.status_code == 201 and added.get_json()["active"] is True
    names = [v["name"] for v in call(client, "GET", f"/partners/{scene.partner_id}/volunteers", manager).get_json()]
    assert names == ["小孙", "志愿者小赵"]
    error_of(call(client, "GET", f"/partners/{scene.partner_id}/volunteers", bearer(scene.staff[0])), 403)
    error_of(call(client, "POST", f"/partners/{scene.partner_id}/volunteers", manager,
                  json={"name": "x", "phone": "call me"}), 400, "bad_input")


def booked_child(scene):
    shift = scene.shift(start=time(7), end=time(12))
    scene.roster(shift, scene.staff[0])
    slot = scene.slot()
    child = scene.family.add_child(scene.now, name="小明", months=20)
    adult = scene.adult(child, "李奶奶", "grandmother")
    booking = engine.book(slot.id, child.id, by=scene.family.user, now=scene.now).booking
    return slot, child, adult, booking


def test_the_day_roster_has_needs_for_the_partners_staff_only(client, scene, bearer):
    slot, child, adult, booking = booked_child(scene)
    with write_transaction():
        db.session.get(CareRecipient, child.id).allergies = "peanuts"
    own = call(client, "GET", f"/service-points/{scene.point.id}/day-roster?day=2026-12-02",
               bearer(scene.staff[1])).get_json()
    [entry] = own["slots"]
    assert entry["slot"]["staffed_places"] == 5 and entry["slot"]["child_class"] == "toddler"
    assert entry["slot"]["session_length"] == "full_day" and entry["slot"]["understaffed"] is False
    assert entry["people"][0]["recipient"]["needs"]["allergies"] == "peanuts"
    assert [s["title"] for s in own["shifts"]] == ["早班保育"]
    theirs = call(client, "GET", f"/service-points/{scene.point.id}/day-roster?day=2026-12-02",
                  bearer(scene.community_staff)).get_json()
    assert theirs["slots"][0]["people"][0]["recipient"]["needs"] is None
    roster = call(client, "GET", f"/slots/{slot.id}/roster", bearer(scene.community_staff)).get_json()
    assert roster[0]["recipient"]["needs"] is None and roster[0]["health_check"] is None
    roster = call(client, "GET", f"/slots/{slot.id}/roster", bearer(scene.staff[0])).get_json()
    assert roster[0]["recipient"]["needs"]["allergies"] == "peanuts"


def test_check_in_with_a_health_check_and_check_out_with_collected_by(client, scene, bearer, clock):
    slot, child, adult, booking = booked_child(scene)
    staff = bearer(scene.staff[0])
    clock.set(slot.starts_at - timedelta(minutes=5))
    error_of(call(client, "POST", f"/bookings/{booking.id}/check-in", staff, json={"temperature": "hot"}),
             400, "bad_input")
    error_of(call(client, "POST", f"/bookings/{booking.id}/check-in", staff, json={"temperature": 45}),
             400, "bad_input")
    arrived = call(client, "POST", f"/bookings/{booking.id}/check-in", staff,
                   json={"temperature": 36.8, "health_notes": "精神好"})
    assert arrived.status_code == 200 and arrived.get_json()["status"] == "checked_in"
    stored = db.session.get(Booking, booking.id)
    assert (stored.health_temperature, stored.health_notes) == (Decimal("36.8"), "精神好")
    roster = call(client, "GET", f"/slots/{slot.id}/roster", staff).get_json()
    assert roster[0]["health_check"] == {"temperature": 36.8, "notes": "精神好"}

    clock.set(slot.ends_at)
    error = error_of(call(client, "POST", f"/bookings/{booking.id}/check-out", staff), 400, "bad_input")
    assert error["fields"] == {"collected_by": "required"}
    stranger = scene.adult(scene.child("小红", 20), "陌生人", "neighbour")
    error = error_of(call(client, "POST", f"/bookings/{booking.id}/check-out", staff,
                          json={"collected_by": stranger.id}), 422, "not_authorised_collector")
    assert "陌生人 is not on 小明's list of adults who may collect them" in error["message"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "booking.collection_refused")) == 1
    left = call(client, "POST", f"/bookings/{booking.id}/check-out", staff, json={"collected_by": adult.id})
    assert left.status_code == 200 and left.get_json()["status"] == "checked_out"
    roster = call(client, "GET", f"/slots/{slot.id}/roster", staff).get_json()
    assert roster[0]["collected_by"] == {"id": adult.id, "name": "李奶奶", "relation": "grandmother"}


def test_a_bad_attendance_body_is_400_naming_the_field(client, scene, bearer, clock):
    slot, child, adult, booking = booked_child(scene)
    staff = bearer(scene.staff[0])
    assert bad_fields(call(client, "POST", f"/bookings/{booking.id}/check-in", staff, json={"surprise": 1})) == {
        "surprise": "Extra inputs are not permitted"}
    assert "collected_by" in bad_fields(call(client, "POST", f"/bookings/{booking.id}/check-out", staff,
                                             json={"collected_by": "1"}))
    assert list(bad_fields(call(client, "POST", f"/bookings/{booking.id}/check-in", staff, data=b"not json",
                                content_type="application/json"))) == ["body"]


def test_no_show_from_the_start_of_the_slot(client, scene, bearer, clock):
    slot, child, adult, booking = booked_child(scene)
    staff = bearer(scene.staff[0])
    error_of(call(client, "POST", f"/bookings/{booking.id}/no-show", staff), 422, "too_early")
    error_of(call(client, "POST", f"/bookings/{booking.id}/no-show", bearer(scene.community_staff)), 403)
    clock.set(slot.starts_at + timedelta(minutes=30))
    response = call(client, "POST", f"/bookings/{booking.id}/no-show", staff)
    assert response.status_code == 200 and response.get_json()["status"] == "no_show"
    assert db.session.get(Booking, booking.id).status == BookingStatus.no_show


def test_childcare_staffing_lists_understaffed_slots(client, scene, bearer):
    slot, child, adult, booking = booked_child(scene)
    [shift] = db.session.scalars(sa.select(Shift)).all()
    manager = bearer(scene.nursery_manager)
    call(client, "DELETE", f"/shifts/{shift.id}", manager)
    rows = call(client, "GET", f"/partners/{scene.partner_id}/childcare-staffing?understaffed=true",
                bearer(scene.community_staff)).get_json()
    assert [(r["id"], r["understaffed"], r["staffed_places"], r["confirmed"]) for r in rows] == [
        (slot.id, True, 0, 1)]
    error_of(call(client, "GET", f"/partners/{scene.partner_id}/childcare-staffing",
                  bearer(scene.care_centre_staff)), 403)
