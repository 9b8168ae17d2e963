"""Roster pages: the day roster (print and CSV), the shifts page, the slot roster's attendance forms, and the
dashboard's links and flags. Needs are shown to the partner's own staff only."""
from __future__ import annotations

import csv
import io
from datetime import time, timedelta

import sqlalchemy as sa

from careapp.booking import engine
from careapp.booking.models import Booking, BookingStatus
from careapp.core.audit import AuditEntry
from careapp.core.db import db
from careapp.households.models import RecipientKind
from careapp.households.services import add_recipient
from careapp.partners.models import Shift, ShiftAssignment, Volunteer
from tests.page_helpers import count, follow, login, text
from tests.rosters_factories import TOMORROW, scene  # noqa: F401  (a fixture)


def coming_and_working(scene):
    """Tomorrow at the nursery: a toddler slot with 小明 (peanut allergy) booked, and two shifts, one short."""
    shift = scene.shift(title="早班保育", min_people=1, max_people=2, start=time(7), end=time(12))
    scene.roster(shift, scene.staff[0])
    scene.shift(title="午餐协助", min_people=2, max_people=3, role="volunteer", service=None, start=time(11),
                end=time(13))
    slot = scene.slot()
    child = add_recipient(household_id=scene.family.household.id, by=scene.family.user, now=scene.now,
                          kind=RecipientKind.child, name="小明", birth_date=TOMORROW.replace(year=2025),
                          needs={"allergies": "=HYPERLINK(peanuts)", "emergency_contact_phone": "13900001111"})
    scene.adult(child, "李奶奶", "grandmother")
    booking = engine.book(slot.id, child.id, by=scene.family.user, now=scene.now).booking
    return slot, child, booking


def day_url(scene, day=TOMORROW, suffix="") -> str:
    return f"/partners/points/{scene.point.id}/day{suffix}?day={day.isoformat()}"


def test_the_day_roster_shows_who_is_coming_with_needs_and_who_is_working(client, scene):
    coming_and_working(scene)
    login(client, scene.staff[1])
    page = text(client.get(day_url(scene)))
    assert "day roster for 2026-12-02 (Wednesday)" in page
    assert "托小班" in page and "08:30–11:30" in page and "Full day" in page
    assert "小明" in page and "12 months" in page
    assert "=HYPERLINK(peanuts)" in page and "13900001111" in page
    assert "李奶奶 (grandmother, 13900003333)" in page
    assert "早班保育" in page and scene.staff[0].name in page
    assert "午餐协助" in page and "Below minimum: 2 more needed" in page
    # The print rules (A4) are a static file: the Content-Security-Policy allows no inline style.
    assert "/static/pages/rosters-print.css" in page
    assert "Print this roster" in page


def test_community_staff_see_the_day_roster_without_needs(client, scene):
    coming_and_working(scene)
    login(client, scene.community_staff)
    page = text(client.get(day_url(scene)))
    assert "小明" in page
    assert "HYPERLINK" not in page and "13900001111" not in page and "13900003333" not in page
    assert "shown to 艺涵托育园's own staff only" in page


def test_another_partners_staff_cannot_see_the_day_roster(client, scene):
    login(client, scene.care_centre_staff)
    assert client.get(day_url(scene)).status_code == 403
    assert client.get(day_url(scene, suffix=".csv")).status_code == 403


def test_a_bad_day_is_answered_with_a_message_not_an_error(client, scene):
    login(client, scene.staff[0])
    response = client.get(f"/partners/points/{scene.point.id}/day?day=2026-02-30")
    assert response.status_code == 400 and "Not a valid date value." in text(response)
    assert client.get(f"/partners/points/{scene.point.id}/day").status_code == 200  # today by default


def test_the_day_roster_csv_opens_in_excel_and_neutralises_formulas(client, scene):
    coming_and_working(scene)
    login(client, scene.staff[0])
    response = client.get(day_url(scene, suffix=".csv"))
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert 'filename="roster-' in response.headers["Content-Disposition"]
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(body[1:])))
    assert rows[0][:6] == ["Part", "Time", "Service or shift", "Name", "Age", "Status"] and "Allergies" in rows[0]
    coming = [row for row in rows if row[0] == "Coming"]
    assert coming[0][2:4] == ["托小班", "小明"]
    assert "'=HYPERLINK(peanuts)" in coming[0]
    working = [row for row in rows if row[0] == "Working"]
    assert [row[2] for row in working] == ["早班保育", "午餐协助"]
    assert working[1][3] == "(nobody yet)" and working[1][6] == "BELOW MINIMUM: needs 2"


def test_the_csv_for_community_staff_has_no_needs_columns(client, scene):
    coming_and_working(scene)
    login(client, scene.community_staff)
    body = client.get(day_url(scene, suffix=".csv")).get_data(as_text=True)
    assert "Allergies" not in body and "HYPERLINK" not in body and "小明" in body


def test_from_the_dashboard_to_tomorrows_printable_roster(client, scene):
    coming_and_working(scene)
    login(client, scene.nursery_manager)
    dashboard = text(client.get(f"/partners/{scene.partner_id}"))
    link = f'href="/partners/points/{scene.point.id}/day?day=2026-12-02">Print tomorrow\'s roster'
    assert link in dashboard
    assert "fewer people than they need" in dashboard and "below minimum, 2 more needed" in dashboard
    page = text(client.get(day_url(scene)))
    assert "小明" in page and "Print this roster" in page


def test_the_dashboard_flags_understaffed_childcare_slots(client, scene):
    slot, child, booking = coming_and_working(scene)
    [shift] = [s for s in db.session.scalars(sa.select(Shift)) if s.title == "早班保育"]
    login(client, scene.nursery_manager)
    assignment = shift.assignments[0]
    page = follow(client, client.post(f"/partners/shifts/{shift.id}/people/{assignment.id}/remove"))
    assert f"{scene.staff[0].name} is off the shift 早班保育." in page
    dashboard = text(client.get(f"/partners/{scene.partner_id}"))
    assert "Understaffed: 1 childcare slot(s)" in dashboard
    roster = text(client.get(f"/partners/slots/{slot.id}"))
    assert "Understaffed: 1 booked, but the staff on the roster allow 0." in roster
    assert db.session.get(Booking, booking.id).status == BookingStatus.confirmed
    staffing = text(client.get(f"/childcare/{scene.partner_id}/staffing"))
    assert "Understaffed: roster more staff for this class." in staffing and "Full day" in staffing


def test_the_manager_plans_a_shift_and_puts_people_on_it(client, scene):
    login(client, scene.nursery_manager)
    url = f"/partners/points/{scene.point.id}/shifts?week=2026-12-02"
    page = text(client.get(url))
    assert "shifts, 2026-11-30 to 2026-12-06" in page and "Plan a shift" in page
    data = {"day": "2026-12-02", "start_time": "08:00", "end_time": "12:00", "role": "staff", "title": "早班",
            "min_people": "2", "max_people": "2", "service_id": str(scene.toddlers.id)}
    page = follow(client, client.post(url, data=data))
    assert "The shift 早班 on 2026-12-02 is planned." in page
    assert "Below minimum: 2 more people needed." in page
    shift = db.session.scalars(sa.select(Shift)).one()
    for person in scene.staff[:2]:
        page = follow(client, client.post(f"/partners/shifts/{shift.id}/assign", data={"person": f"user:{person.id}"}))
        assert f"{person.name} is on the shift 早班." in page
    assert "Below minimum" not in page and "This shift has its most people." in page
    page = follow(client, client.post(f"/partners/shifts/{shift.id}/assign",
                                      data={"person": f"user:{scene.staff[2].id}"}))
    assert "Not a valid choice" not in page and "This shift already has its most people (2)." in page


def test_a_clash_is_explained_on_the_shifts_page(client, scene):
    other = scene.shift(title="早班A", point=scene.second_point, service=None)
    scene.roster(other, scene.staff[0])
    shift = scene.shift(title="早班B")
    login(client, scene.nursery_manager)
    page = follow(client, client.post(f"/partners/shifts/{shift.id}/assign",
                                      data={"person": f"user:{scene.staff[0].id}"}))
    assert f'{scene.staff[0].name} is already on the shift "早班A" 08:00-12:00 at 艺涵托育园二部' in page
    assert count(ShiftAssignment) == 1


def test_bad_shift_input_is_shown_beside_the_field(client, scene):
    login(client, scene.nursery_manager)
    url = f"/partners/points/{scene.point.id}/shifts"
    data = {"day": "2026-11-30", "start_time": "08:00", "end_time": "12:00", "role": "staff", "title": "早班",
            "min_people": "1", "max_people": "1"}
    response = client.post(url, data=data)
    assert response.status_code == 422
    assert "That shift would be over already" in text(response)
    response = client.post(url, data={**data, "day": "2026-12-02", "max_people": "0"})
    assert response.status_code == 400 and "From 1 to 100." in text(response)
    assert count(Shift) == 0


def test_staff_see_the_shifts_but_cannot_plan_them(client, scene):
    shift = scene.shift()
    login(client, scene.staff[0])
    page = text(client.get(f"/partners/points/{scene.point.id}/shifts?week=2026-12-02"))
    assert "早班保育" in page and "Plan a shift" not in page
    url = f"/partners/points/{scene.point.id}/shifts"
    assert client.post(url, data={"day": "2026-12-02", "title": "x"}).status_code == 403
    assert client.post(f"/partners/shifts/{shift.id}/assign", data={"person": f"user:{scene.staff[0].id}"}) \
        .status_code == 403
    assert client.post(f"/partners/shifts/{shift.id}/delete").status_code == 403
    assert client.get(f"/partners/shifts/{shift.id}/delete").status_code == 403
    assert client.get(f"/partners/shifts/{shift.id}/edit").status_code == 403
    assert client.get(f"/partners/{scene.partner_id}/volunteers").status_code == 403
    assert count(ShiftAssignment) == 0 and count(Shift) == 1


def test_the_manager_edits_and_deletes_a_shift_after_saying_yes(client, scene):
    shift = scene.shift()
    scene.roster(shift, scene.staff[0], scene.staff[1])
    login(client, scene.nursery_manager)
    page = text(client.get(f"/partners/shifts/{shift.id}/edit"))
    assert 'value="早班保育"' in page and 'value="08:00"' in page
    data = {"day": "2026-12-02", "start_time": "08:00", "end_time": "13:00", "role": "staff", "title": "早班(长)",
            "min_people": "1", "max_people": "3", "service_id": str(scene.toddlers.id)}
    page = follow(client, client.post(f"/partners/shifts/{shift.id}/edit", data=data))
    assert "The shift 早班(长) is changed." in page and "08:00–13:00" in page

    edit = text(client.get(f"/partners/shifts/{shift.id}/edit"))
    assert f'<a class="button danger" href="/partners/shifts/{shift.id}/delete">Delete the shift 早班(长)</a>' in edit
    assert f'action="/partners/shifts/{shift.id}/delete"' not in edit  # no longer a one-click button
    page = text(client.get(f"/partners/shifts/{shift.id}/delete"))
    assert "<h1>Delete the shift 早班(长)?</h1>" in page
    assert "2026-12-02 08:00–13:00" in page and scene.point.name in page
    assert f"{scene.staff[0].name}, {scene.staff[1].name}" in page and "This cannot be undone." in page
    assert f'action="/partners/shifts/{shift.id}/delete"' in page and "Yes, delete it" in page
    assert f'<a class="button secondary" href="/partners/shifts/{shift.id}/edit">No, keep it</a>' in page
    assert count(Shift) == 1 and count(ShiftAssignment) == 2  # asking changes nothing

    page = follow(client, client.post(f"/partners/shifts/{shift.id}/delete"))
    assert "The shift 早班(长) is deleted." in page
    assert count(Shift) == 0 and count(ShiftAssignment) == 0


def test_another_partners_manager_cannot_open_the_shift_deletion_page(client, scene):
    shift = scene.shift()
    login(client, scene.care_centre_manager)
    assert client.get(f"/partners/shifts/{shift.id}/delete").status_code == 403
    assert count(Shift) == 1


def test_the_manager_adds_a_volunteer(client, scene):
    login(client, scene.nursery_manager)
    url = f"/partners/{scene.partner_id}/volunteers"
    assert "志愿者小赵" in text(client.get(url))
    page = follow(client, client.post(url, data={"name": "小孙", "phone": "13922223333"}))
    assert "小孙 is added" in page
    response = client.post(url, data={"name": "", "phone": "abc"})
    assert response.status_code == 400
    assert count(Volunteer) == 2


# --- the slot roster: attendance ---

def test_check_in_with_a_health_check_and_check_out_to_an_authorised_adult(client, scene, clock):
    slot, child, booking = coming_and_working(scene)
    login(client, scene.staff[0])
    clock.set(slot.starts_at - timedelta(minutes=5))
    page = text(client.get(f"/partners/slots/{slot.id}"))
    assert 'name="temperature"' in page and "Check in 小明" in page
    page = follow(client, client.post(f"/partners/bookings/{booking.id}/check-in",
                                      data={"temperature": "39.9", "health_notes": "发烧, 已通知家长"}))
    assert "小明 is checked in." in page and "Health check:" in page and "39.9 °C" in page
    assert 'name="collected_by"' in page and "李奶奶 (grandmother)" in page
    page = follow(client, client.post(f"/partners/bookings/{booking.id}/check-out", data={"collected_by": ""}))
    assert "Choose who is collecting 小明" in page
    adult_id = db.session.get(Booking, booking.id).recipient.authorised_adults[0].id
    page = follow(client, client.post(f"/partners/bookings/{booking.id}/check-out",
                                      data={"collected_by": str(adult_id)}))
    assert "小明 is checked out." in page and "collected by 李奶奶 (grandmother)" in page


def test_a_refused_collection_is_shown_on_the_page_and_logged(client, scene, clock):
    slot, child, booking = coming_and_working(scene)
    stranger = scene.adult(scene.child("小红", 14), "陌生人", "neighbour")
    clock.set(slot.starts_at)
    engine.check_in(booking.id, by=scene.staff[0], now=clock.now())
    login(client, scene.staff[0])
    page = follow(client, client.post(f"/partners/bookings/{booking.id}/check-out",
                                      data={"collected_by": str(stranger.id)}))
    assert "陌生人 is not on 小明's list of adults who may collect them." in page
    assert db.session.get(Booking, booking.id).status == BookingStatus.checked_in
    assert count(AuditEntry) and db.session.scalar(
        sa.select(sa.func.count()).select_from(AuditEntry)
        .where(AuditEntry.action == "booking.collection_refused")) == 1


def test_a_bad_temperature_is_explained(client, scene, clock):
    slot, child, booking = coming_and_working(scene)
    clock.set(slot.starts_at)
    login(client, scene.staff[0])
    page = follow(client, client.post(f"/partners/bookings/{booking.id}/check-in", data={"temperature": "hot"}))
    assert "Give the temperature in °C, 34.0 to 43.0" in page
    assert db.session.get(Booking, booking.id).status == BookingStatus.confirmed


def test_no_show_is_offered_from_the_start_of_the_slot_and_asks_first(client, scene, clock):
    slot, child, booking = coming_and_working(scene)
    login(client, scene.staff[0])
    assert "did not come" not in text(client.get(f"/partners/slots/{slot.id}"))
    response = client.get(f"/partners/bookings/{booking.id}/no-show")  # too early: back, with the rule's words
    assert response.headers["Location"] == f"/partners/slots/{slot.id}#main"
    assert "A no-show can be recorded from 2026-12-02 08:30" in follow(client, response)

    clock.set(slot.starts_at + timedelta(minutes=20))
    roster = text(client.get(f"/partners/slots/{slot.id}"))
    assert f'href="/partners/bookings/{booking.id}/no-show"' in roster and "小明 did not come" in roster
    assert f'action="/partners/bookings/{booking.id}/no-show"' not in roster  # no longer a one-click button
    page = text(client.get(f"/partners/bookings/{booking.id}/no-show"))
    assert "<h1>Record that 小明 did not come?</h1>" in page
    assert "托小班" in page and "2026-12-02 08:30</time>–11:30" in page
    assert "This cannot be undone in careapp." in page
    assert f'action="/partners/bookings/{booking.id}/no-show"' in page and "Yes, 小明 did not come" in page
    assert f'href="/partners/slots/{slot.id}#booking-{booking.id}">No, keep the booking</a>' in page
    assert db.session.get(Booking, booking.id).status == BookingStatus.confirmed  # asking changes nothing

    page = follow(client, client.post(f"/partners/bookings/{booking.id}/no-show"))
    assert "小明 is recorded as not coming." in page
    assert db.session.get(Booking, booking.id).status == BookingStatus.no_show
    response = client.get(f"/partners/bookings/{booking.id}/no-show")  # nothing left to ask
    assert "Only a confirmed booking can be a no-show; this one is no_show." in follow(client, response)


def test_no_show_is_not_asked_for_someone_checked_in(client, scene, clock):
    slot, child, booking = coming_and_working(scene)
    clock.set(slot.starts_at)
    engine.check_in(booking.id, by=scene.staff[0], now=clock.now())
    login(client, scene.staff[0])
    response = client.get(f"/partners/bookings/{booking.id}/no-show")
    assert response.headers["Location"] == f"/partners/slots/{slot.id}#main"
    assert "Only a confirmed booking can be a no-show; this one is checked_in." in follow(client, response)
    assert db.session.get(Booking, booking.id).status == BookingStatus.checked_in


def test_another_partners_staff_cannot_open_the_no_show_page(client, scene, clock):
    slot, child, booking = coming_and_working(scene)
    clock.set(slot.starts_at)
    login(client, scene.care_centre_staff)
    assert client.get(f"/partners/bookings/{booking.id}/no-show").status_code == 403
    assert db.session.get(Booking, booking.id).status == BookingStatus.confirmed


def test_community_staff_see_the_slot_roster_without_needs_or_collectors(client, scene):
    slot, child, booking = coming_and_working(scene)
    login(client, scene.community_staff)
    page = text(client.get(f"/partners/slots/{slot.id}"))
    assert "小明" in page
    assert "HYPERLINK" not in page and "13900001111" not in page and "李奶奶" not in page
    assert "Check in" not in page


def test_a_collector_is_refused_for_day_care(client, scene, clock):
    from careapp.core.timefmt import from_local
    from careapp.partners.services import create_slot

    slot = create_slot(service_id=scene.daycare.id, starts_at=from_local(TOMORROW, time(8, 30)),
                       ends_at=from_local(TOMORROW, time(11, 30)), by=scene.care_centre_manager, now=scene.now)
    elder = scene.family.add_elder(scene.now)
    booking = engine.book(slot.id, elder.id, by=scene.family.user, now=scene.now).booking
    clock.set(slot.starts_at)
    engine.check_in(booking.id, by=scene.care_centre_staff, now=clock.now())
    login(client, scene.care_centre_staff)
    page = follow(client, client.post(f"/partners/bookings/{booking.id}/check-out", data={"collected_by": "1"}))
    assert "Only a check-out from childcare names the adult who collects." in page
    page = follow(client, client.post(f"/partners/bookings/{booking.id}/check-out"))
    assert "王奶奶 is checked out." in page


def test_the_day_roster_reads_a_fixed_number_of_statements_whatever_the_numbers(scene):
    from careapp.partners.roster_queries import day_roster
    from tests.statements import count_statements

    def statements() -> int:
        db.session.expire_all()
        with count_statements() as seen:
            roster = day_roster(scene.point, TOMORROW)
            for item in roster.slots:
                [(view.booking.recipient.name, view.booking.slot.service.name) for view in item.people]
            [view.names for view in roster.shifts]
        return len(seen)

    slot, child, booking = coming_and_working(scene)
    few = statements()
    for i in range(4):
        scene.book(slot, scene.child(f"孩子{i}", 14))
    extra = scene.shift(title="午班", start=time(13), end=time(17), max_people=3)
    scene.roster(extra, scene.staff[1], scene.staff[2])
    scene.slot(start=time(13, 30), end=time(16, 30))
    assert statements() == few
