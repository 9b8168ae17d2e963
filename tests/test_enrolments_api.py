"""The enrolment routes of the JSON API: list, enrol, read, pause, resume, end."""
from __future__ import annotations

from datetime import time

import pytest

from careapp.booking.models import Enrolment, EnrolmentStatus
from careapp.core.db import db
from tests.api_helpers import bad_fields, bearer, call, error_of  # noqa: F401 (bearer is a fixture)
from tests.enrolments_factories import FRI, MON, WED, live_bookings_of, weekly
from tests.page_helpers import count


@pytest.fixture
def mwf(world, clock):
    weekly(world.daycare, world.care_centre, clock.now(), [MON, WED, FRI])
    return world.daycare


def body(elder, service, **changes) -> dict:
    return {"recipient_id": elder.id, "service_id": service.id, "weekdays": [MON, WED, FRI],
            "starts_on": "2026-12-01", **changes}


def test_enrol_then_list_read_pause_resume_and_end(client, world, clock, bearer, mwf):
    elder = world.family.add_elder(clock.now())
    headers = bearer(world.family.user)
    response = call(client, "POST", "/enrolments", headers, json=body(elder, mwf, start_time="08:30:00"))
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    enrolment = answer["enrolment"]
    assert (enrolment["weekdays"], enrolment["status"], enrolment["start_time"], enrolment["recipient_name"]) == \
        ([0, 2, 4], "active", "08:30:00", "王奶奶")
    assert [b["status"] for b in answer["booked"]] == ["confirmed"] * 6 and answer["skipped"] == []

    listed = call(client, "GET", "/enrolments", headers).get_json()
    assert [row["id"] for row in listed] == [enrolment["id"]]
    assert call(client, "GET", f"/enrolments/{enrolment['id']}", headers).get_json()["service_name"] == "日间照料"

    paused = call(client, "POST", f"/enrolments/{enrolment['id']}/pause", headers, json={"resumes_on": "2026-12-09"})
    assert paused.status_code == 200
    assert (paused.get_json()["enrolment"]["status"], paused.get_json()["enrolment"]["resumes_on"],
            paused.get_json()["cancelled"]) == ("paused", "2026-12-09", 3)

    resumed = call(client, "POST", f"/enrolments/{enrolment['id']}/resume", headers).get_json()
    assert resumed["enrolment"]["status"] == "active" and len(resumed["booked"]) == 3

    ended = call(client, "POST", f"/enrolments/{enrolment['id']}/end", headers,
                 json={"ends_on": "2026-12-01"}).get_json()
    assert (ended["enrolment"]["status"], ended["cancelled"]) == ("ended", 6)
    assert live_bookings_of(elder) == []


def test_meal_mode_and_transport_options(client, world, clock, bearer):
    lunch = world.care_centre.services["午餐"]
    weekly(lunch, world.care_centre, clock.now(), [MON], start=time(11, 0), end=time(12, 30), capacity=20)
    elder = world.family.add_elder(clock.now())
    headers = bearer(world.family.user)
    answer = call(client, "POST", "/enrolments", headers,
                  json=body(elder, lunch, weekdays=[MON], meal_mode="delivery")).get_json()
    assert answer["enrolment"]["meal_mode"] == "delivery" and len(answer["booked"]) == 2
    error = error_of(call(client, "POST", "/enrolments", headers,
                          json=body(elder, world.daycare, weekdays=[MON], needs_transport=True)), 422, "no_transport")
    assert error["fields"] == {"needs_transport": "not offered"}


def test_refusals_use_the_error_format(client, world, clock, bearer, mwf):
    young = world.family.add_elder(clock.now(), name="年轻人", age=59)
    headers = bearer(world.family.user)
    error = error_of(call(client, "POST", "/enrolments", headers, json=body(young, mwf)), 422, "ineligible")
    assert error["fields"] == {"rule": "min_age"}
    assert "weekdays" in bad_fields(call(client, "POST", "/enrolments", headers, json=body(young, mwf, weekdays=[])))
    assert "weekdays.0" in bad_fields(call(client, "POST", "/enrolments", headers, json=body(young, mwf,
                                                                                            weekdays=[9])))
    assert "starts_on" in bad_fields(call(client, "POST", "/enrolments", headers,
                                          json=body(young, mwf, starts_on="2026-11-30")))
    assert "meal_mode" in bad_fields(call(client, "POST", "/enrolments", headers,
                                          json=body(young, mwf, meal_mode="by_drone")))
    error_of(call(client, "POST", "/enrolments", headers, json=body(young, mwf, service_id=999999)), 404)
    assert count(Enrolment) == 0


def test_clash_is_409(client, world, clock, bearer, mwf):
    elder = world.family.add_elder(clock.now())
    headers = bearer(world.family.user)
    call(client, "POST", "/enrolments", headers, json=body(elder, mwf))
    error_of(call(client, "POST", "/enrolments", headers, json=body(elder, mwf, weekdays=[WED])), 409,
             "enrolment_clash")


def test_who_sees_and_changes_which_enrolments(client, world, clock, bearer, mwf):
    elder = world.family.add_elder(clock.now())
    created = call(client, "POST", "/enrolments", bearer(world.community_staff),
                   json=body(elder, mwf)).get_json()["enrolment"]
    assert created["household_id"] == world.family.household.id
    other = bearer(world.other_family.user)
    assert call(client, "GET", "/enrolments", other).get_json() == []
    error_of(call(client, "GET", f"/enrolments/{created['id']}", other), 403)
    error_of(call(client, "POST", f"/enrolments/{created['id']}/end", other, json={"ends_on": "2026-12-01"}), 403)
    error_of(call(client, "GET", f"/enrolments?household_id={world.family.household.id}", other), 403)
    staff = bearer(world.community_staff)
    assert "household_id" in bad_fields(call(client, "GET", "/enrolments", staff))
    assert len(call(client, "GET", f"/enrolments?household_id={world.family.household.id}", staff).get_json()) == 1
    error_of(call(client, "GET", "/enrolments", bearer(world.care_centre.staff)), 403)
    error_of(call(client, "GET", "/enrolments/999999", staff), 404)
    # A household that does not exist is 404 for staff (as its members are), not an empty list; a family is
    # refused before anything is looked up, so it cannot tell which households exist.
    error_of(call(client, "GET", "/enrolments?household_id=999999", staff), 404)
    error_of(call(client, "GET", "/enrolments?household_id=999999", other), 403)
    assert db.session.get(Enrolment, created["id"]).status == EnrolmentStatus.active


def test_pause_and_end_refusals(client, world, clock, bearer, mwf):
    elder = world.family.add_elder(clock.now())
    headers = bearer(world.family.user)
    created = call(client, "POST", "/enrolments", headers, json=body(elder, mwf)).get_json()["enrolment"]
    assert "resumes_on" in bad_fields(call(client, "POST", f"/enrolments/{created['id']}/pause", headers,
                                           json={"resumes_on": "2026-12-01"}))
    assert "resumes_on" in bad_fields(call(client, "POST", f"/enrolments/{created['id']}/pause", headers, json={}))
    error_of(call(client, "POST", f"/enrolments/{created['id']}/resume", headers), 409, "wrong_state")
    assert "ends_on" in bad_fields(call(client, "POST", f"/enrolments/{created['id']}/end", headers,
                                        json={"ends_on": "2026-11-01"}))
    limited = call(client, "POST", f"/enrolments/{created['id']}/end", headers, json={"ends_on": "2026-12-07"})
    assert limited.get_json()["enrolment"]["ends_on"] == "2026-12-07"
    assert limited.get_json()["enrolment"]["status"] == "active"
