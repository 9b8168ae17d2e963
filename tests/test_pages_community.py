"""Community staff: the overview of every partner, adding partners and accounts, booking on behalf of residents."""
from __future__ import annotations


import pytest
import sqlalchemy as sa

from careapp.accounts.models import Role, User
from careapp.booking import engine
from careapp.booking.models import Booking, BookingStatus
from careapp.community.queries import partner_overview
from careapp.core.db import db
from careapp.partners.models import PartnerKind, PartnerOrganisation
from careapp.partners.services import create_partner
from tests.factories import make_family, make_slot
from tests.page_helpers import count, follow, login, text
from tests.statements import count_statements


@pytest.fixture
def staff(client, world):
    login(client, world.community_staff)
    return world.community_staff




def full_daycare_slot(world, clock, waiting: int = 1):
    now = clock.now()
    slot = make_slot(world.daycare, world.care_centre.manager, now, capacity=2)
    for i in range(2 + waiting):
        family = make_family(world.building, now, f"家{i}")
        engine.book(slot.id, family.add_elder(now, name=f"老人{i}").id, by=family.user, now=now)
    return slot


def test_overview_shows_each_partners_services_with_places_and_waiting(client, world, clock, staff):
    full_daycare_slot(world, clock)
    make_slot(world.daycare, world.care_centre.manager, clock.now(), days_ahead=2, capacity=3)
    page = text(client.get("/community/"))
    assert "普康养老服务中心" in page and "艺涵托育园" in page and "麓枫书院" in page
    assert "日间照料</strong> (Day care):\n      2 slots coming up, 2 booked, 3 of 5 places free, 1 waiting" in page
    assert "午餐</strong> (Meal help):\n      0 slots coming up, 0 booked, 0 of 0 places free, 0 waiting" in page


def test_overview_is_one_statement_however_many_partners(world, clock):
    db.session.expire_all()
    with count_statements(selects_only=True) as few:
        partner_overview(now=clock.now())
    for i in range(3):
        create_partner(name=f"新伙伴{i}", kind=PartnerKind.canteen, by=world.admin, now=clock.now())
    full_daycare_slot(world, clock, waiting=2)
    db.session.expire_all()
    with count_statements(selects_only=True) as many:
        loads = partner_overview(now=clock.now())
    assert len(few) == len(many) == 1
    assert len(loads) == 6


def test_a_partners_slots(client, world, clock, staff):
    slot = full_daycare_slot(world, clock)
    page = text(client.get(f"/community/partners/{world.care_centre.partner.id}"))
    assert f'href="/partners/slots/{slot.id}"' in page and "1 on the waiting list" in page
    assert "Sorry" not in text(client.get(f"/partners/slots/{slot.id}"))  # community staff read rosters


def test_add_a_partner(client, world, staff):
    response = client.post("/community/partners/new", data={"name": "新希望社会组织", "kind": "social_organisation",
                                                            "phone": ""})
    partner = db.session.scalar(sa.select(PartnerOrganisation).where(PartnerOrganisation.name == "新希望社会组织"))
    assert response.headers["Location"] == f"/partners/{partner.id}"
    assert "新希望社会组织 is added." in follow(client, response)
    assert partner.approved


def test_a_partner_name_that_exists_is_refused_next_to_the_name(client, world, staff):
    before = count(PartnerOrganisation)
    response = client.post("/community/partners/new", data={"name": "麓枫书院", "kind": "academy"})
    assert response.status_code == 409
    assert 'id="name-error">A partner of that name exists already.' in text(response)
    assert count(PartnerOrganisation) == before


def test_create_a_partner_manager_account_that_can_log_in(client, other_client, world, staff):
    partner = world.academy.partner
    response = client.post(f"/partners/{partner.id}/accounts/new",
                           data={"role": "partner_manager", "name": "周主任", "login": "13955556666",
                                 "password": "first-pass-1", "email": "", "phone": ""})
    assert "周主任 can now log in with 13955556666." in follow(client, response)
    user = db.session.scalar(sa.select(User).where(User.login == "13955556666"))
    assert (user.role, user.partner_id) == (Role.partner_manager, partner.id)
    login(other_client, user, password="first-pass-1")
    assert other_client.get(f"/partners/{partner.id}/services/new").status_code == 200


@pytest.mark.parametrize("changes, field, message", [
    ({"login": "not a login"}, "login", "Log in with a mobile number"),
    ({"password": "short"}, "password", "The password needs at least 8 characters."),
    ({"role": "admin"}, "role", "Not a valid choice."),
    ({"name": ""}, "name", "Please give the person's name."),
])
def test_bad_account_input_is_shown_by_the_field_and_nothing_is_written(client, world, staff, changes, field,
                                                                        message):
    before = count(User)
    data = {"role": "partner_staff", "name": "周", "login": "13955556666", "password": "first-pass-1", **changes}
    response = client.post(f"/partners/{world.academy.partner.id}/accounts/new", data=data)
    assert response.status_code == 400
    assert f'id="{field}-error">{message}' in text(response)
    assert count(User) == before


def test_a_taken_login_is_refused(client, world, staff):
    data = {"role": "partner_staff", "name": "周", "login": world.family.user.login, "password": "first-pass-1"}
    response = client.post(f"/partners/{world.academy.partner.id}/accounts/new", data=data)
    assert response.status_code == 409
    assert 'id="login-error">That login is already registered.' in text(response)


@pytest.mark.parametrize("query, found, not_found", [("1栋", "李家", "张家"), ("张", "张家", "李家"),
                                                     ("%", None, "李家")])
def test_search_residents_by_name_or_building(client, world, clock, staff, query, found, not_found):
    world.family.add_elder(clock.now())
    page = text(client.get("/community/residents", query_string={"q": query}))
    if found:
        assert f">{found}</a></h3>" in page
    else:
        assert "No household found." in page
    assert f">{not_found}</a></h3>" not in page


def test_book_on_behalf_of_a_resident(client, world, clock, staff):
    now = clock.now()
    daycare = make_slot(world.daycare, world.care_centre.manager, now)
    nursery = make_slot(world.nursery.services["托小班"], world.nursery.manager, now)
    elder = world.other_family.add_elder(now, name="独居老人")
    page = text(client.get("/community/residents?q=张"))
    assert f'href="/community/residents/members/{elder.id}">Book for 独居老人</a>' in page
    page = text(client.get(f"/community/residents/members/{elder.id}"))
    assert f'action="/booking/slots/{daycare.id}/book"' in page
    assert f'action="/booking/slots/{nursery.id}/book"' not in page  # childcare does not serve elders
    response = client.post(f"/booking/slots/{daycare.id}/book",
                           data={"recipient_id": elder.id, "next": f"/community/residents/members/{elder.id}"})
    assert response.headers["Location"] == f"/family/households/{world.other_family.household.id}"
    page = follow(client, response)
    assert "独居老人, 日间照料 at 普康养老服务中心, 2026-12-02 08:30: confirmed." in page
    booking = db.session.scalars(sa.select(Booking)).one()
    assert (booking.status, booking.booked_by_id) == (BookingStatus.confirmed, world.community_staff.id)


def test_a_refused_booking_on_behalf_goes_back_to_the_resident(client, world, clock, staff):
    slot = make_slot(world.daycare, world.care_centre.manager, clock.now())
    elder = world.other_family.add_elder(clock.now(), name="年轻人", age=50)
    back = f"/community/residents/members/{elder.id}"
    response = client.post(f"/booking/slots/{slot.id}/book", data={"recipient_id": elder.id, "next": back})
    assert response.headers["Location"] == back
    assert "日间照料 is for people aged 60 or more" in follow(client, response)
    assert count(Booking) == 0


def test_slot_page_lets_staff_pick_a_household_or_search(client, world, clock, staff):
    slot = make_slot(world.daycare, world.care_centre.manager, clock.now())
    mine = world.family.add_elder(clock.now())
    theirs = world.other_family.add_elder(clock.now(), name="张爷爷")
    page = text(client.get(f"/booking/slots/{slot.id}"))
    assert "Search for the resident you book for." in page
    page = text(client.get(f"/booking/slots/{slot.id}?q=张"))
    assert f'<option value="{theirs.id}">张爷爷 - 张家, 2栋</option>' in page and "王奶奶" not in page
    page = text(client.get(f"/booking/slots/{slot.id}?household={world.family.household.id}"))
    assert f'<option value="{mine.id}">王奶奶 - 李家, 1栋</option>' in page
    page = follow(client, client.post(f"/booking/slots/{slot.id}/book", data={"recipient_id": theirs.id}))
    assert "张爷爷, 日间照料 at 普康养老服务中心, 2026-12-02 08:30: confirmed." in page
    assert "Cancel this booking" in page  # staff may cancel on the household's behalf too


def test_family_links_lead_staff_to_their_own_start_page(client, world, staff):
    """The error page's "back to the start" link is the family home; staff land on their own start page."""
    assert client.get("/family/").headers["Location"] == "/"
    assert client.get("/").headers["Location"] == "/community/"
