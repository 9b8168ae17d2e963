"""Who may open which page: anonymous -> log in, wrong role or another household's / partner's object -> 403."""
from __future__ import annotations

from datetime import time, timedelta

import pytest

from careapp.accounts.services import issue_token
from careapp.booking import engine
from careapp.core.db import write_transaction
from careapp.core.timefmt import local_date
from careapp.notifications import outbox
from careapp.notifications.models import Topic
from careapp.partners.models import ShiftRole
from careapp.partners.shifts import create_shift
from tests.factories import make_slot
from tests.page_helpers import login

ANON, FAMILY, OTHER_FAMILY = "anonymous", "family", "other_family"
STAFF, MANAGER, OTHER_STAFF, OTHER_MANAGER = "partner_staff", "partner_manager", "other_staff", "other_manager"
COMMUNITY, ADMIN = "community_staff", "admin"
ROLES = (ANON, FAMILY, OTHER_FAMILY, STAFF, MANAGER, OTHER_STAFF, OTHER_MANAGER, COMMUNITY, ADMIN)
LOGIN = "login"  # a redirect to the log-in page
START = "start"  # a redirect to the user's own start page


def expect(default, **by_role):
    """Expected answer per role: ``default`` for every logged-in role not named, anonymous -> log in."""
    table = {role: default for role in ROLES}
    table[ANON] = LOGIN
    table.update(by_role)
    return table


FAMILY_ONLY = dict(family=200, other_family=403, community_staff=200, admin=200)
PARTNER_READERS = dict(partner_staff=200, partner_manager=200, community_staff=200, admin=200)
MANAGER_ONLY = dict(partner_manager=200, admin=200)
DISTRICT = dict(community_staff=200, admin=200)
MESSAGE = "kind=daycare&topic=reminder&language=zh_CN"  # one message text of the care centre

PAGES = {
    "start": ("/", expect(302, anonymous=302)),
    "family_home": ("/family/", expect(START, family=200, other_family=200)),
    "household": ("/family/households/{household}", expect(403, **FAMILY_ONLY)),
    "add_member": ("/family/households/{household}/members/new", expect(403, **FAMILY_ONLY)),
    "add_adult": ("/family/members/{child}/adults/new", expect(403, **FAMILY_ONLY)),
    "family_calendar": ("/family/households/{household}/calendar?month=2026-12", expect(403, **FAMILY_ONLY)),
    # The calendar feed needs no login (a phone fetches it): its private link is the only key.
    "calendar_feed": ("/calendar/no-such-link.ics", expect(404, anonymous=404)),
    "find_slots": ("/booking/slots", expect(200)),
    "slot": ("/booking/slots/{slot}", expect(200, other_staff=403, other_manager=403)),
    "confirm_cancel": ("/booking/bookings/{booking}/cancel", expect(403, **FAMILY_ONLY)),
    # The scene's booking is confirmed, not offered: an allowed role is sent back to the household with a note.
    "confirm_decline": ("/booking/bookings/{booking}/decline", expect(403, family=302, community_staff=302,
                                                                      admin=302)),
    "partner_dashboard": ("/partners/{partner}", expect(403, **PARTNER_READERS)),
    "partner_index": ("/partners/", expect(302, family=403, other_family=403)),
    "new_service": ("/partners/{partner}/services/new", expect(403, **MANAGER_ONLY)),
    "new_point": ("/partners/{partner}/points/new", expect(403, **MANAGER_ONLY, community_staff=200)),
    "new_slot": ("/partners/services/{service}/slots/new", expect(403, **MANAGER_ONLY)),
    "new_weekly": ("/partners/services/{service}/weekly/new", expect(403, **MANAGER_ONLY)),
    "roster": ("/partners/slots/{slot}", expect(403, **PARTNER_READERS)),
    "new_account": ("/partners/{partner}/accounts/new", expect(403, **MANAGER_ONLY, community_staff=200)),
    "confirm_cancel_slot": ("/partners/slots/{slot}/cancel", expect(403, **MANAGER_ONLY)),
    # The scene's slot has not started, so no one can be marked as not coming yet: this partner's staff are sent
    # back to the roster with the rule's words; everyone else is refused.
    "confirm_no_show": ("/partners/bookings/{booking}/no-show", expect(403, partner_staff=302, partner_manager=302)),
    "confirm_delete_shift": ("/partners/shifts/{shift}/delete", expect(403, **MANAGER_ONLY)),
    "community_overview": ("/community/", expect(403, **DISTRICT)),
    "community_partner_slots": ("/community/partners/{partner}", expect(403, **DISTRICT)),
    "community_new_partner": ("/community/partners/new", expect(403, **DISTRICT)),
    "community_residents": ("/community/residents?q=1栋", expect(403, **DISTRICT)),
    "community_book_for": ("/community/residents/members/{elder}", expect(403, **DISTRICT)),
    "district_import": ("/community/district/import", expect(403, **DISTRICT)),
    "district_template_xlsx": ("/community/district/template.xlsx", expect(403, **DISTRICT)),
    "district_template_csv": ("/community/district/template.csv", expect(403, **DISTRICT)),
    "coverage": ("/community/coverage/?week=2026-W49", expect(403, **DISTRICT)),
    "coverage_map": ("/community/coverage/map", expect(403, **DISTRICT)),
    "coverage_csv": ("/community/coverage/grids.csv", expect(403, **DISTRICT)),
    "coverage_xlsx": ("/community/coverage/grids.xlsx", expect(403, **DISTRICT)),
    "monthly_report": ("/community/reports/monthly?month=2026-11", expect(403, **DISTRICT)),
    "monthly_report_xlsx": ("/community/reports/monthly.xlsx", expect(403, **DISTRICT)),
    "messages": ("/partners/{partner}/messages", expect(403, **MANAGER_ONLY)),
    "edit_message": (f"/partners/{{partner}}/messages/edit?{MESSAGE}", expect(403, **MANAGER_ONLY)),
    "inbox": ("/notifications/", expect(200)),  # everyone's own (district staff: who gets messages)
    "scheduler_admin": ("/admin/scheduler", expect(403, admin=200)),
    # The audit trail holds every household's values: administrators only (docs/privacy.md).
    "audit_log": ("/admin/audit", expect(403, admin=200)),
    # A household's copy of its data and the page asking before deletion: the household itself, or an administrator
    # for a resident who asks in person.
    "export_data": ("/family/households/{household}/data.json", expect(403, family=200, admin=200)),
    "confirm_delete_data": ("/family/households/{household}/delete", expect(403, family=200, admin=200)),
    # Everyone's own API tokens (the scene's token is the family's: it is listed on the family's page only).
    "api_tokens": ("/account/tokens", expect(200)),
}

ACTIONS = {
    # The larger-text switch is everyone's, logged in or not (it only sets a cookie).
    "text_size": ("/text-size", expect(302, anonymous=302)),
    # So is the language switch (for a logged-in user it is also kept with the account).
    "language": ("/language", expect(302, anonymous=302)),
    # POST actions on another household's booking or another partner's slot.
    "cancel": ("/booking/bookings/{booking}/cancel", expect(403, family=302, community_staff=302, admin=302)),
    "accept": ("/booking/bookings/{booking}/accept", expect(403, family=302, community_staff=302, admin=302)),
    "decline": ("/booking/bookings/{booking}/decline", expect(403, family=302, community_staff=302, admin=302)),
    "book": ("/booking/slots/{slot}/book", expect(403, family=302, community_staff=302, admin=302)),
    "check_in": ("/partners/bookings/{booking}/check-in", expect(403, partner_staff=302, partner_manager=302)),
    "check_out": ("/partners/bookings/{booking}/check-out", expect(403, partner_staff=302, partner_manager=302)),
    "capacity": ("/partners/slots/{slot}/capacity", expect(403, partner_manager=302, admin=302)),
    "cancel_slot": ("/partners/slots/{slot}/cancel", expect(403, partner_manager=302, admin=302)),
    # A save without its words is refused on the form (400), once past the access check.
    "save_message": (f"/partners/{{partner}}/messages/edit?{MESSAGE}", expect(403, partner_manager=400, admin=400)),
    "reset_message": (f"/partners/{{partner}}/messages/reset?{MESSAGE}", expect(403, partner_manager=302, admin=302)),
    "mark_read": ("/notifications/{notification}/read", expect(403, family=302)),
    "make_calendar_link": ("/family/households/{household}/calendar-link",
                           expect(403, family=200, community_staff=200, admin=200)),
    "stop_calendar_link": ("/family/households/{household}/calendar-link/stop",
                           expect(403, family=302, community_staff=302, admin=302)),
    "delete_data": ("/family/households/{household}/delete", expect(403, family=302, admin=302)),
    # Another user's API token is answered as if it did not exist.
    "revoke_token": ("/account/tokens/{token}/revoke", expect(404, family=302)),
    "revoke_all_tokens": ("/account/tokens/revoke-all", expect(302)),
}


def cases(table):
    return [pytest.param(name, role, id=f"{name}-{role}") for name in table for role in ROLES]


@pytest.fixture
def scene(world, clock):
    """A day-care slot of the care centre with the family's elder booked into it, a reminder of it, and a shift."""
    now = clock.now()
    slot = make_slot(world.daycare, world.care_centre.manager, now, capacity=5)
    elder = world.family.add_elder(now)
    child = world.family.add_child(now)
    booking = engine.book(slot.id, elder.id, by=world.family.user, now=now).booking
    shift = create_shift(point_id=world.daycare.service_point_id, day=local_date(now) + timedelta(days=1),
                         start_time=time(8), end_time=time(12), role=ShiftRole.staff, title="早班", max_people=2,
                         by=world.care_centre.manager, now=now)
    with write_transaction():
        notification = outbox.add_once(outbox.booking_notification(booking, Topic.reminder, "reminder:60m", now=now))
    _, token = issue_token(world.family.user, now=now)
    users = {FAMILY: world.family.user, OTHER_FAMILY: world.other_family.user, STAFF: world.care_centre.staff,
             MANAGER: world.care_centre.manager, OTHER_STAFF: world.nursery.staff,
             OTHER_MANAGER: world.nursery.manager, COMMUNITY: world.community_staff, ADMIN: world.admin}
    ids = {"household": world.family.household.id, "child": child.id, "elder": elder.id, "slot": slot.id,
           "booking": booking.id, "partner": world.care_centre.partner.id, "service": world.daycare.id,
           "notification": notification.id, "shift": shift.id, "token": token.id}
    return users, ids


def check(response, expected) -> None:
    if expected == LOGIN:
        assert response.status_code == 302
        assert response.headers["Location"].startswith("/login")
    elif expected == START:
        assert response.status_code == 302
        assert response.headers["Location"] == "/"
    else:
        assert response.status_code == expected, response.get_data(as_text=True)[:500]
    if response.status_code == 403:
        assert "Sorry" in response.get_data(as_text=True)  # our error page, not a bare one


@pytest.mark.parametrize("page, role", cases(PAGES))
def test_who_may_open_each_page(client, scene, page, role):
    users, ids = scene
    if role != ANON:
        login(client, users[role])
    url, expected = PAGES[page]
    check(client.get(url.format(**ids)), expected[role])


@pytest.mark.parametrize("action, role", cases(ACTIONS))
def test_who_may_act_on_another_households_booking_or_partners_slot(client, scene, action, role):
    """Refused roles get 403; allowed roles get past the access check (the rule may still say no)."""
    users, ids = scene
    if role != ANON:
        login(client, users[role])
    url, expected = ACTIONS[action]
    check(client.post(url.format(**ids), data={"recipient_id": ids["elder"], "capacity": 6}), expected[role])


@pytest.mark.parametrize("url", ["/booking/bookings/999999/cancel", "/partners/bookings/999999/check-in",
                                 "/partners/slots/999999/capacity"])
def test_unknown_objects_are_404(client, scene, url):
    users, _ = scene
    login(client, users[ADMIN])
    response = client.post(url, data={"capacity": 3})
    assert response.status_code == 404
    assert "Nothing is here" in response.get_data(as_text=True)


@pytest.mark.parametrize("url", ["/family/households/999999", "/booking/slots/999999", "/partners/slots/999999",
                                 "/community/partners/999999"])
def test_unknown_pages_are_404(client, scene, url):
    users, _ = scene
    login(client, users[COMMUNITY])
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("path", ["", "/members/new", "/calendar", "/data.json", "/delete"])
def test_a_family_cannot_tell_a_missing_household_from_another(client, scene, path):
    """Access is checked before the household is loaded: 403 either way, so ids cannot be probed."""
    users, ids = scene
    login(client, users[OTHER_FAMILY])
    for household_id in (ids["household"], 999999):
        assert client.get(f"/family/households/{household_id}{path}").status_code == 403
