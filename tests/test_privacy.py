"""Privacy (PIPL): phones masked except to those who need them whole, a household's copy of its data, deletion
that anonymises but keeps the statistics, the administrator's audit log, and the audit retention purge."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from careapp.accounts.models import ApiToken, User
from careapp.accounts.services import issue_token
from careapp.booking import engine
from careapp.booking.models import Booking, BookingStatus, Enrolment, EnrolmentStatus
from careapp.core import audit
from careapp.core.audit import AuditEntry
from careapp.core.db import db, write_transaction
from careapp.core.errors import Conflict, Forbidden
from careapp.core.privacy import mask_phone, phone_for, sees_whole_phone
from careapp.core.timefmt import local_date
from careapp.enrolments.services import enrol
from careapp.family.calendar import make_feed_link
from careapp.family.models import CalendarFeed
from careapp.households.erasure import erase_household
from careapp.households.export import export_filename, household_data
from careapp.households.models import AuthorisedAdult, CareRecipient, Household
from careapp.households.services import add_authorised_adult
from careapp.notifications import outbox
from careapp.notifications.models import Notification, Topic
from tests.api_helpers import bearer, call, error_of  # noqa: F401 -- bearer is a fixture
from tests.factories import make_slot
from tests.meals_factories import meals, menu  # noqa: F401 -- fixtures
from tests.page_helpers import follow, login, text

PHONE, EMERGENCY, ADULT_PHONE = "13812345678", "13900001111", "13700002222"


@pytest.fixture
def people(world, clock):
    """The family's elder (own phone, emergency contact) and child (an adult who may collect), booked with the
    care centre and the nursery."""
    now = clock.now()
    elder = world.family.add_elder(now)
    with write_transaction():
        member = db.session.get(CareRecipient, elder.id)
        member.phone, member.emergency_contact_name, member.emergency_contact_phone = PHONE, "王磊", EMERGENCY
    child = world.family.add_child(now)
    adult = add_authorised_adult(child_id=child.id, by=world.family.user, now=now, name="赵阿姨", relation="姨",
                                 phone=ADULT_PHONE)
    return db.session.get(CareRecipient, elder.id), child, db.session.get(AuthorisedAdult, adult.id)


# --- 1. phones: one rule, per role ---

def test_the_phone_rule_per_role(world, people):
    elder, _child, adult = people
    centre = world.care_centre.partner.id
    whole = {"own family": (world.family.user, True), "other family": (world.other_family.user, False),
             "serving partner's staff": (world.care_centre.staff, True),
             "serving partner's manager": (world.care_centre.manager, True),
             "another partner's staff": (world.nursery.staff, False),
             "community staff": (world.community_staff, False), "admin": (world.admin, False), "nobody": (None, False)}
    for who, (viewer, sees) in whole.items():
        assert sees_whole_phone(viewer, household_id=elder.household_id, partner_id=centre) is sees, who
        shown = phone_for(viewer, elder, partner_id=centre)
        assert shown == (PHONE if sees else "138****5678"), who
        assert phone_for(viewer, adult, partner_id=centre) == (ADULT_PHONE if sees else mask_phone(ADULT_PHONE)), who
    # Without a partner serving the person where it is shown, partner staff see it masked too.
    assert phone_for(world.care_centre.staff, elder) == "138****5678"
    assert phone_for(world.family.user, elder, EMERGENCY) == EMERGENCY
    assert phone_for(world.community_staff, elder, "") == ""


def test_household_page_shows_the_emergency_phone_whole_to_the_family_masked_to_staff(client, world, people):
    household = world.family.household.id
    login(client, world.family.user)
    page = text(client.get(f"/family/households/{household}"))
    assert EMERGENCY in page
    client.post("/logout")
    login(client, world.community_staff)
    page = text(client.get(f"/family/households/{household}"))
    assert EMERGENCY not in page and mask_phone(EMERGENCY) in page


def test_roster_shows_the_collecting_adults_phone_whole_to_the_partners_own_staff(client, world, people, clock):
    _elder, child, _adult = people
    slot = make_slot(world.nursery.services["托小班"], world.nursery.manager, clock.now(), capacity=5)
    engine.book(slot.id, child.id, by=world.family.user, now=clock.now())
    login(client, world.nursery.staff)
    assert ADULT_PHONE in text(client.get(f"/partners/slots/{slot.id}"))


def test_api_members_phones_whole_for_the_household_masked_for_staff_acting_for_it(client, world, people, bearer):
    household = world.family.household.id
    own = call(client, "GET", "/recipients", bearer(world.family.user)).get_json()
    assert {member["phone"] for member in own} == {PHONE, None}
    assert EMERGENCY in {member["needs"]["emergency_contact_phone"] for member in own}
    staff = call(client, "GET", f"/recipients?household_id={household}", bearer(world.community_staff)).get_json()
    assert {member["phone"] for member in staff} == {"138****5678", None}
    assert mask_phone(EMERGENCY) in {member["needs"]["emergency_contact_phone"] for member in staff}
    child = people[1].id
    adults = call(client, "GET", f"/recipients/{child}/authorised-adults", bearer(world.community_staff)).get_json()
    assert [adult["phone"] for adult in adults] == [mask_phone(ADULT_PHONE)]
    adults = call(client, "GET", f"/recipients/{child}/authorised-adults", bearer(world.family.user)).get_json()
    assert [adult["phone"] for adult in adults] == [ADULT_PHONE]


def test_transport_list_phones_whole_for_the_partners_staff_only(client, world, people, clock, bearer):
    elder = people[0]
    with write_transaction():
        db.session.get(type(world.daycare), world.daycare.id).transport = True
    slot = make_slot(world.daycare, world.care_centre.manager, clock.now(), capacity=5)
    engine.book(slot.id, elder.id, by=world.family.user, now=clock.now(), options={"needs_transport": True})
    point, day = world.daycare.service_point_id, local_date(slot.starts_at).isoformat()
    path = f"/service-points/{point}/transport?day={day}"
    assert call(client, "GET", path, bearer(world.care_centre.staff)).get_json()[0]["phone"] == PHONE
    assert call(client, "GET", path, bearer(world.community_staff)).get_json()[0]["phone"] == "138****5678"


# --- 2. the household's copy of its data ---

@pytest.fixture
def full_household(world, people, clock, meals, menu):
    """Something of every kind for the family, and the same kinds for the other family (which must not show)."""
    now = clock.now()
    elder, child, _adult = people
    fish, _chicken = menu
    slot = make_slot(world.daycare, world.care_centre.manager, now, capacity=1)
    booking = engine.book(slot.id, elder.id, by=world.family.user, now=now).booking
    other_elder = world.other_family.add_elder(now, name="张爷爷")
    other_booking = engine.book(slot.id, other_elder.id, by=world.other_family.user, now=now).booking
    engine.book(meals.lunch_slot.id, elder.id, by=world.family.user, now=now,
                options={"mode": "delivery", "dish_ids": [fish.id]})
    enrol(elder.id, world.daycare.id, [6], starts_on=local_date(now), by=world.family.user, now=now)
    with write_transaction():
        outbox.add_once(outbox.booking_notification(db.session.get(Booking, booking.id), Topic.reminder,
                                                    "reminder:60m", now=now))
        outbox.add_once(outbox.booking_notification(db.session.get(Booking, other_booking.id), Topic.reminder,
                                                    "reminder:60m", now=now))
    token = make_feed_link(world.family.household.id, by=world.family.user, now=now)
    api_token, _row = issue_token(world.family.user, now=now)
    make_feed_link(world.other_family.household.id, by=world.other_family.user, now=now)
    return {"slot": slot, "booking": booking, "other_booking": other_booking, "feed_token": token,
            "api_token": api_token, "other_elder": other_elder}


KINDS = ("household", "addresses", "members", "authorised_adults", "accounts", "api_tokens", "bookings",
         "enrolments", "meal_orders", "notifications", "calendar_feeds", "audit_entries")


def test_the_export_holds_every_kind_and_nothing_of_another_household(world, full_household, clock):
    data = household_data(world.family.household.id, now=clock.now())
    household = world.family.household.id
    for kind in KINDS:
        assert data[kind], kind
    assert data["household"]["id"] == household and data["household"]["name"] == "李家"
    assert data["addresses"][0]["address"] == "旭日天都1栋"
    assert {member["name"] for member in data["members"]} == {"王奶奶", "小明"}
    assert {member["phone"] for member in data["members"]} == {PHONE, None}
    assert data["authorised_adults"][0]["phone"] == ADULT_PHONE
    booking = next(b for b in data["bookings"] if b["id"] == full_household["booking"].id)
    assert booking["status"] == "confirmed" and booking["status_history"][0]["to"] == "confirmed"
    assert data["meal_orders"][0]["mode"] == "delivery" and data["meal_orders"][0]["dish_ids"]
    assert data["notifications"][0]["household_id"] == household
    assert {entry["action"] for entry in data["audit_entries"]} >= {"household.registered", "recipient.added",
                                                                      "booking.confirmed", "calendar_feed.made"}
    document = json.dumps(data, ensure_ascii=False)
    # No secret, not even hashed.
    assert full_household["feed_token"] not in document and full_household["api_token"] not in document
    assert "token_hash" not in document and "password_hash" not in document
    # Nothing of the other household: its name, its member, its booking, its notification, its feed.
    assert "张家" not in document and "张爷爷" not in document
    other = full_household["other_booking"].id
    assert other not in {b["id"] for b in data["bookings"]}
    assert all(entry["object_id"] != other for entry in data["audit_entries"] if entry["object_type"] == "booking")
    assert all(n["household_id"] == household for n in data["notifications"])
    assert {f["household_id"] for f in data["calendar_feeds"]} == {household}
    assert world.other_family.household.id not in {entry["object_id"] for entry in data["audit_entries"]
                                                    if entry["object_type"] == "household"}


def test_the_family_downloads_its_data_as_a_json_attachment(client, world, full_household):
    household = world.family.household.id
    login(client, world.family.user)
    assert "Download our data (JSON)" in text(client.get("/family/"))
    response = client.get(f"/family/households/{household}/data.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{export_filename(household)}"'
    assert export_filename(household) == f"careapp-household-{household}.json"
    data = json.loads(response.get_data(as_text=True))
    assert set(KINDS) <= set(data) and data["household"]["id"] == household
    # Another household's data is refused.
    assert client.get(f"/family/households/{world.other_family.household.id}/data.json").status_code == 403


def test_the_api_gives_the_same_document(client, world, full_household, bearer):
    household = world.family.household.id
    response = call(client, "GET", f"/households/{household}/export", bearer(world.family.user))
    assert response.status_code == 200
    assert {member["name"] for member in response.get_json()["members"]} == {"王奶奶", "小明"}
    error_of(call(client, "GET", f"/households/{household}/export", bearer(world.other_family.user)), 403)
    error_of(call(client, "GET", f"/households/{household}/export", bearer(world.community_staff)), 403)
    error_of(call(client, "GET", "/households/999999/export", bearer(world.admin)), 404)


# --- 3. deletion: anonymised, statistics kept ---

def test_erasure_anonymises_cancels_through_the_engine_and_closes_the_accounts(world, full_household, clock):
    now = clock.now()
    household_id = world.family.household.id
    user_id, login_name = world.family.user.id, world.family.user.login
    result = erase_household(household_id, by=world.family.user, now=now)
    assert (result.bookings_cancelled, result.bookings_kept, result.enrolments_ended, result.accounts_closed) == \
        (2, 0, 1, 1)
    db.session.expire_all()
    household = db.session.get(Household, household_id)
    assert household.anonymised_at == now and household.name == f"#{household_id}" and household.unit is None
    assert household.building_id == world.building.id  # the statistics' building, grid and community
    for member in db.session.scalars(sa.select(CareRecipient).where(CareRecipient.household_id == household_id)):
        assert member.name == f"#{member.id}" and member.birth_date.day == 1
        assert (member.phone, member.emergency_contact_phone, member.emergency_contact_name, member.diet,
                member.allergies, member.medication_notes, member.ability_level) == (None,) * 7
    adult = db.session.scalar(sa.select(AuthorisedAdult))
    assert (adult.name, adult.phone, adult.active) == (f"#{adult.id}", None, False)
    # The freed place went to the other household waiting for it (the engine's cancel, then its waitlist).
    assert db.session.get(Booking, full_household["booking"].id).status == BookingStatus.cancelled
    assert db.session.get(Booking, full_household["other_booking"].id).status == BookingStatus.confirmed
    assert db.session.scalar(sa.select(Enrolment.status)) == EnrolmentStatus.ended
    user = db.session.get(User, user_id)
    assert not user.active and user.login == f"erased-{user_id}" and user.phone is None and user.email is None
    assert all(token.revoked_at == now for token in db.session.scalars(sa.select(ApiToken)
                                                                        .where(ApiToken.user_id == user_id)))
    assert all(feed.revoked_at is not None for feed in db.session.scalars(
        sa.select(CalendarFeed).where(CalendarFeed.household_id == household_id)))
    assert all(n.params.get("member") == "#" for n in db.session.scalars(
        sa.select(Notification).where(Notification.household_id == household_id)))
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "household.anonymised"))
    assert entry.actor_id == user_id and entry.object_id == household_id and entry.after["bookings_cancelled"] == 2
    # No trace of the names, phones or login in what careapp still holds about the household.
    left = json.dumps(household_data(household_id, now=now), ensure_ascii=False)
    for gone in ("李家", "王奶奶", "小明", "赵阿姨", PHONE, EMERGENCY, ADULT_PHONE, login_name):
        assert gone not in left, gone
    # The other household is untouched.
    assert db.session.get(Household, world.other_family.household.id).name == "张家"
    with pytest.raises(Conflict):
        erase_household(household_id, by=world.admin, now=now)


def test_a_booking_past_its_cancellation_cutoff_is_kept_anonymised(world, people, clock):
    elder = people[0]
    with write_transaction():
        db.session.get(type(world.daycare), world.daycare.id).cancel_cutoff_minutes = 120
    slot = make_slot(world.daycare, world.care_centre.manager, clock.now(), capacity=2)
    booking = engine.book(slot.id, elder.id, by=world.family.user, now=clock.now()).booking
    late = slot.starts_at - timedelta(minutes=60)  # cancelling closed an hour ago; the slot has not started
    result = erase_household(world.family.household.id, by=world.family.user, now=late)
    assert (result.bookings_cancelled, result.bookings_kept) == (0, 1)
    assert db.session.get(Booking, booking.id).status == BookingStatus.confirmed


def test_only_the_household_or_an_administrator_may_erase(world, people, clock):
    for user in (world.other_family.user, world.community_staff, world.care_centre.manager):
        with pytest.raises(Forbidden):
            erase_household(world.family.household.id, by=user, now=clock.now())
    assert erase_household(world.family.household.id, by=world.admin, now=clock.now()).accounts_closed == 1


def test_the_family_confirms_then_is_logged_out_and_cannot_log_in(client, world, full_household):
    household = world.family.household.id
    login(client, world.family.user)
    page = text(client.get(f"/family/households/{household}/delete"))
    assert "Delete all of 李家's data?" in page and "Yes, delete our data" in page
    response = client.post(f"/family/households/{household}/delete")
    assert response.headers["Location"] == "/login"
    assert "The household's data is deleted: 2 bookings cancelled" in follow(client, response)
    assert client.get("/family/").status_code == 302  # logged out
    response = client.post("/login", data={"login": world.family.user.login, "password": "irrelevant"})
    assert response.status_code != 302


def test_api_erase(client, world, full_household, bearer):
    household = world.family.household.id
    headers = bearer(world.family.user)
    error_of(call(client, "POST", f"/households/{household}/erase", bearer(world.other_family.user)), 403)
    response = call(client, "POST", f"/households/{household}/erase", headers)
    assert response.status_code == 200 and response.get_json()["accounts_closed"] == 1
    # The token that asked is revoked with the account.
    error_of(call(client, "GET", "/recipients", headers), 401)
    error_of(call(client, "POST", f"/households/{household}/erase", bearer(world.admin)), 409, "wrong_state")


def test_the_monthly_report_is_the_same_after_households_are_erased(app, clock):
    from careapp.core.months import Month
    from careapp.coverage.monthly import monthly_statistics
    from careapp.core.timefmt import zone
    from tests.test_monthly_report import build_november

    scene = build_november(clock)
    month = Month.parse("2026-11")

    def figures():
        stats = monthly_statistics(month, zone=zone(), now=clock.now())
        return dict(stats.served), dict(stats.served_any), dict(stats.enrolments), dict(stats.waiting), \
            dict(stats.waiting_any)

    before = figures()
    assert sum(people for people, _count in before[0].values()) > 0
    erase_household(scene.world.family.household.id, by=scene.world.family.user, now=clock.now())
    erase_household(scene.world.other_family.household.id, by=scene.world.admin, now=clock.now())
    db.session.expire_all()
    assert figures() == before


# --- 4. the audit log page ---

def test_only_administrators_read_the_audit_log(client, world):
    for user in (world.community_staff, world.family.user, world.care_centre.manager):
        login(client, user)
        assert client.get("/admin/audit").status_code == 403
        client.post("/logout")
    login(client, world.admin)
    response = client.get("/admin/audit")
    assert response.status_code == 200 and "household.registered" in text(response)


def test_the_audit_log_filters_and_pages(client, world, people, clock):
    login(client, world.admin)
    household = world.family.household.id
    page = text(client.get(f"/admin/audit?object_type=household&object_id={household}"))
    assert page.count('<tr id="audit-') == 1 and "household.registered" in page
    page = text(client.get(f"/admin/audit?action=recipient.&actor={world.family.user.login}"))
    assert page.count('<tr id="audit-') == 2 and "household.registered" not in page
    system = text(client.get("/admin/audit?actor=system"))  # the test world's accounts were made by no one
    assert system.count('<tr id="audit-') == system.count("the system") > 0
    today = local_date(clock.now())
    assert text(client.get(f"/admin/audit?date_from={today}&date_to={today}")).count('<tr id="audit-') > 0
    assert "No entries match." in text(client.get(f"/admin/audit?date_to={today - timedelta(days=1)}"))
    assert client.get("/admin/audit?object_type=no_such_table").status_code == 400
    # Paging: 50 to a page, newest first.
    with write_transaction():
        for number in range(60):
            db.session.add(AuditEntry(at=clock.now() + timedelta(seconds=number), actor_id=None, action="test.entry",
                                      object_type="household", object_id=household))
    first = text(client.get("/admin/audit?action=test."))
    assert first.count('<tr id="audit-') == 50 and "Older entries" in first and "Newer entries" not in first
    second = text(client.get("/admin/audit?action=test.&page=2"))
    assert second.count('<tr id="audit-') == 10 and "Newer entries" in second and "Older entries" not in second


# --- 5. retention ---

def test_purge_deletes_old_entries_in_batches_and_keeps_the_waiting_list_history(world, people, clock):
    now = clock.now()
    old = now - timedelta(days=400)
    with write_transaction():
        for number in range(25):
            db.session.add(AuditEntry(at=old, actor_id=None, action="test.old", object_type="household",
                                      object_id=number))
        db.session.add(AuditEntry(at=old, actor_id=None, action="booking.confirmed_from_waitlist",
                                  object_type="booking", object_id=1, before={"status": "waitlisted"},
                                  after={"status": "confirmed"}))
    recent = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(AuditEntry.at >= now - timedelta(days=1)))
    assert audit.purge_expired(now=now, retention_days=365, batch_size=10) == 25
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(AuditEntry.action == "test.old")) == 0
    kept = db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.at < now - timedelta(days=365))).all()
    assert kept == ["booking.confirmed_from_waitlist"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                             .where(AuditEntry.at >= now - timedelta(days=1))) == recent
    assert audit.purge_expired(now=now, retention_days=365) == 0


def test_the_scheduler_runs_the_purge_with_the_configured_retention(app, clock):
    from careapp.scheduler.jobs import DEFAULT_INTERVALS, JOBS

    now = clock.now()
    assert app.config["AUDIT_RETENTION_DAYS"] == 1095 and DEFAULT_INTERVALS["audit_retention"] == 86400
    with write_transaction():
        db.session.add(AuditEntry(at=now - timedelta(days=1096), actor_id=None, action="test.old",
                                  object_type="household", object_id=1))
        db.session.add(AuditEntry(at=now - timedelta(days=1094), actor_id=None, action="test.kept",
                                  object_type="household", object_id=1))
    assert JOBS["audit_retention"](now) == 1
    assert db.session.scalars(sa.select(AuditEntry.action)).all() == ["test.kept"]


def test_the_retention_setting(tmp_path):
    from careapp.config import from_environment

    assert from_environment(str(tmp_path), {})["AUDIT_RETENTION_DAYS"] == 1095
    assert from_environment(str(tmp_path), {"CAREAPP_AUDIT_RETENTION_DAYS": "365"})["AUDIT_RETENTION_DAYS"] == 365
    with pytest.raises(SystemExit, match="CAREAPP_AUDIT_RETENTION_DAYS must be at least 180"):
        from_environment(str(tmp_path), {"CAREAPP_AUDIT_RETENTION_DAYS": "30"})
