"""The enrolment pages: a family enrols an elder in weekday lunch delivery in a few clicks, and pauses,
starts again and ends from its household page; district staff do the same for a household."""
from __future__ import annotations

from datetime import date, time

import pytest
import sqlalchemy as sa

from careapp.booking.models import Booking, Enrolment, EnrolmentStatus
from careapp.core.db import db
from careapp.enrolments.services import enrol
from tests.enrolments_factories import FRI, MON, THU, TUE, WED, live_bookings_of, weekly
from tests.page_helpers import count, follow, login, text

TODAY = date(2026, 12, 1)
WEEKDAYS = [MON, TUE, WED, THU, FRI]


@pytest.fixture
def lunch(world, clock):
    service = world.care_centre.services["午餐"]
    weekly(service, world.care_centre, clock.now(), WEEKDAYS, start=time(11, 0), end=time(12, 30), capacity=20)
    return service


def test_family_enrols_an_elder_in_weekday_lunch_delivery_in_a_few_clicks(client, world, clock, lunch):
    elder = world.family.add_elder(clock.now())
    login(client, world.family.user)
    household = world.family.household
    home = text(client.get("/family/"))
    assert "Booked every week" in home
    new = f"/enrolments/households/{household.id}/new"
    assert f'href="{new}"' in home

    choose = text(client.get(new))  # 1. who and which service
    assert f'<option value="{elder.id}">' in choose and f'<option value="{lunch.id}">' in choose
    assert f'<option value="{world.nursery.services["托小班"].id}">' not in choose  # no child in this household

    page = text(client.get(f"{new}?member={elder.id}&service={lunch.id}"))  # 2. the days and how it comes
    for day in WEEKDAYS:
        assert f'<input checked id="weekdays-{day}" name="weekdays" type="checkbox" value="{day}">' in page
    assert 'value="delivery"' in page and "Delivered home" in page
    assert "needs_transport" not in page  # not a day-care service

    response = client.post(new, data={"member": elder.id, "service": lunch.id, "weekdays": WEEKDAYS,
                                      "starts_on": "2026-12-01", "meal_mode": "delivery"})  # 3. enrol
    assert response.headers["Location"] == "/family/"
    home = follow(client, response)
    assert "王奶奶 is enrolled in 午餐: every weekday (Monday to Friday). Booked 10 coming day(s)." in home
    enrolment = db.session.scalars(sa.select(Enrolment)).one()
    assert (enrolment.weekdays, enrolment.meal_mode, enrolment.created_by_id) == \
        ("01234", "delivery", world.family.user.id)
    assert len(live_bookings_of(elder)) == 10
    assert "Every weekday (Monday to Friday)" in home and "Delivered home" in home
    assert f"/enrolments/{enrolment.id}/pause" in home and f"/enrolments/{enrolment.id}/end" in home


def test_community_staff_enrol_for_a_household(client, world, clock):
    weekly(world.daycare, world.care_centre, clock.now(), [MON, WED, FRI])
    elder = world.family.add_elder(clock.now())
    login(client, world.community_staff)
    household = world.family.household
    assert "Book every week" in text(client.get(f"/family/households/{household.id}"))
    page = text(client.get(f"/enrolments/households/{household.id}/new?member={elder.id}&service={world.daycare.id}"))
    assert "Wednesday" in page and "Tuesday" not in page  # only the days the service runs
    response = client.post(f"/enrolments/households/{household.id}/new",
                           data={"member": elder.id, "service": world.daycare.id, "weekdays": [MON, WED],
                                 "starts_on": "2026-12-01"})
    assert response.headers["Location"] == f"/family/households/{household.id}"
    enrolment = db.session.scalars(sa.select(Enrolment)).one()
    assert (enrolment.weekdays, enrolment.created_by_id) == ("02", world.community_staff.id)


@pytest.mark.parametrize("user", ["other_family", "staff"])
def test_other_households_and_partner_staff_are_refused(client, world, clock, user):
    world.family.add_elder(clock.now())
    login(client, world.other_family.user if user == "other_family" else world.care_centre.staff)
    assert client.get(f"/enrolments/households/{world.family.household.id}/new").status_code == 403


def test_bad_input_is_shown_by_the_field_and_nothing_is_written(client, world, clock, lunch):
    elder = world.family.add_elder(clock.now())
    login(client, world.family.user)
    new = f"/enrolments/households/{world.family.household.id}/new"
    response = client.post(new, data={"member": elder.id, "service": lunch.id, "starts_on": "2026-12-01"})
    assert response.status_code == 400
    page = text(response)
    assert 'id="weekdays-error">Please tick at least one day.' in page
    assert 'id="meal_mode-error">Please choose how the meal comes.' in page
    response = client.post(new, data={"member": elder.id, "service": lunch.id, "weekdays": [MON],
                                      "starts_on": "2026-11-30", "meal_mode": "pick_up"})
    assert 'id="starts_on-error">The first day cannot be in the past.' in text(response)
    assert count(Enrolment) == 0 and count(Booking) == 0


def test_a_rule_refusal_names_the_rule_and_writes_nothing(client, world, clock):
    young = world.family.add_elder(clock.now(), name="年轻人", age=59)
    login(client, world.family.user)
    response = client.post(f"/enrolments/households/{world.family.household.id}/new",
                           data={"member": young.id, "service": world.daycare.id, "weekdays": [MON],
                                 "starts_on": "2026-12-01"})
    assert response.status_code == 422
    assert "is for people aged 60 or more; 年轻人 will be 59 on that day." in text(response)
    assert count(Enrolment) == 0


def test_a_choice_that_is_not_on_the_list_goes_back_to_choosing(client, world, clock):
    world.family.add_elder(clock.now())
    login(client, world.family.user)
    new = f"/enrolments/households/{world.family.household.id}/new"
    response = client.get(f"{new}?member=abc&service=999")
    assert response.status_code == 400
    assert "Please choose one from the list." in text(response)
    response = client.post(new, data={"member": "", "weekdays": [MON]})
    assert "Please choose the person and the service first." in follow(client, response)
    assert count(Enrolment) == 0


@pytest.fixture
def enrolled(world, clock):
    weekly(world.daycare, world.care_centre, clock.now(), [MON, WED, FRI])
    elder = world.family.add_elder(clock.now())
    return enrol(elder.id, world.daycare.id, [MON, WED, FRI], starts_on=TODAY, by=world.family.user,
                 now=clock.now()).enrolment


def test_pause_start_again_and_end_from_the_household_page(client, world, clock, enrolled):
    login(client, world.family.user)
    home = follow(client, client.post(f"/enrolments/{enrolled.id}/pause", data={"resumes_on": "2026-12-09"}))
    assert "王奶奶, 日间照料: paused, back on 2026-12-09. 3 booking(s) cancelled." in home
    assert "Paused</strong>, back on 2026-12-09" in home
    assert db.session.get(Enrolment, enrolled.id).status == EnrolmentStatus.paused

    home = follow(client, client.post(f"/enrolments/{enrolled.id}/resume"))
    assert "started again. Booked 3 coming day(s) again." in home

    confirm = text(client.get(f"/enrolments/{enrolled.id}/end"))
    assert "End 日间照料 for 王奶奶?" in confirm and "Yes, end it" in confirm and "No, keep it" in confirm
    home = follow(client, client.post(f"/enrolments/{enrolled.id}/end"))
    assert "王奶奶, 日间照料: ended. 6 booking(s) cancelled." in home
    assert db.session.get(Enrolment, enrolled.id).status == EnrolmentStatus.ended
    assert f"/enrolments/{enrolled.id}/pause" not in home  # ended ones leave the page


def test_a_bad_restart_day_changes_nothing(client, world, clock, enrolled):
    login(client, world.family.user)
    home = follow(client, client.post(f"/enrolments/{enrolled.id}/pause", data={"resumes_on": "2026-12-01"}))
    assert "The restart day must be after today." in home
    home = follow(client, client.post(f"/enrolments/{enrolled.id}/pause", data={"resumes_on": "soon"}))
    assert "Not a valid date value." in home
    assert db.session.get(Enrolment, enrolled.id).status == EnrolmentStatus.active


def test_another_family_cannot_touch_the_enrolment(client, world, clock, enrolled):
    login(client, world.other_family.user)
    assert client.post(f"/enrolments/{enrolled.id}/end").status_code == 403
    assert client.get(f"/enrolments/{enrolled.id}/end").status_code == 403
    assert client.post(f"/enrolments/{enrolled.id}/pause", data={"resumes_on": "2026-12-09"}).status_code == 403
    assert db.session.get(Enrolment, enrolled.id).status == EnrolmentStatus.active


def test_unknown_enrolment_is_404(client, world, clock):
    login(client, world.family.user)
    assert client.get("/enrolments/999999/end").status_code == 404
    assert client.post("/enrolments/999999/resume").status_code == 404
