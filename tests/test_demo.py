"""`careapp load-demo`: the demo district from the article, built through the rules, loaded once."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from careapp import demo
from careapp.accounts.models import Role, User
from careapp.accounts.services import authenticate
from careapp.booking import engine
from careapp.booking.models import Booking, BookingStatus, Enrolment
from careapp.core.timefmt import local_date
from careapp.meals.models import Dish, MealMode, MealOrder, MenuItem
from careapp.core.audit import AuditEntry
from careapp.core.db import db
from careapp.district.models import Building, Community, Grid
from careapp.households.models import AuthorisedAdult, CareRecipient, Household, RecipientKind
from careapp.partners.models import (ChildClass, PartnerKind, PartnerOrganisation, Room, Service, ServiceKind,
                                     ServicePoint, Shift, Slot, SlotPattern, Volunteer)
from tests.factories import make_user

# Jinghu district, Wuhu: the demo's buildings and service points lie within a few km of here.
WUHU_JINGHU = (31.33, 118.37)
NEAR = 0.05  # degrees, about 5 km


def load(app):
    return app.test_cli_runner().invoke(args=["load-demo"])


@pytest.fixture
def loaded(app):
    result = load(app)
    assert result.exit_code == 0, result.output
    return result


def rows(model) -> list:
    return db.session.scalars(sa.select(model)).all()


def row_counts() -> dict[str, int]:
    return {table.name: db.session.scalar(sa.select(sa.func.count()).select_from(table))
            for table in db.metadata.sorted_tables}


def test_load_demo_builds_the_district_of_the_article(loaded):
    communities = {c.name: c for c in rows(Community)}
    assert "旭日天都社区" in communities and len(communities) >= 3
    assert all(community.grids for community in communities.values())
    buildings = rows(Building)
    assert len(buildings) >= 10
    for place in buildings + rows(ServicePoint):
        assert abs(place.latitude - WUHU_JINGHU[0]) < NEAR and abs(place.longitude - WUHU_JINGHU[1]) < NEAR
        assert place.address.startswith("芜湖市镜湖区")
    assert "Loaded the demo district 赭麓街道" in loaded.output


def test_one_approved_partner_of_each_kind_with_a_service_point(loaded):
    partners = {p.kind: p for p in rows(PartnerOrganisation) if p.approved}
    assert set(partners) == set(PartnerKind)
    assert partners[PartnerKind.elderly_care_centre].name == "普康养老服务中心"
    assert partners[PartnerKind.social_organisation].name == "新希望社会组织"
    assert partners[PartnerKind.academy].name == "麓枫书院"
    assert partners[PartnerKind.nursery].name == "艺涵托育园"
    assert all(p.approved and p.service_points for p in partners.values())


def test_services_of_every_kind_with_the_domain_rules(loaded):
    services = {s.name: s for s in rows(Service)}
    assert {s.kind for s in services.values()} == set(ServiceKind)
    daycare = [s for s in services.values() if s.kind == ServiceKind.daycare]
    assert len(daycare) == 2 and all(s.accepted_ability_levels == {0, 1, 2} for s in daycare)
    assert {"午餐", "晚餐"} <= set(services)
    # Nursery classes by the national standard's month bands, within its class sizes.
    classes = {name: (services[name].child_class, services[name].default_capacity)
               for name in ("乳儿班", "托小班", "托大班")}
    assert classes == {"乳儿班": (ChildClass.infant, 10), "托小班": (ChildClass.toddler, 15),
                       "托大班": (ChildClass.preschool, 20)}
    assert any(s.kind == ServiceKind.activity and "阅览" in s.name for s in services.values())


def test_two_weeks_of_slots_all_from_weekly_patterns(loaded, clock):
    slots = rows(Slot)
    assert slots and all(slot.pattern_id is not None for slot in slots)
    now = clock.now()
    assert all(now < slot.starts_at <= now + timedelta(days=15) for slot in slots)
    assert {slot.service_id for slot in slots} == {service.id for service in rows(Service)}
    assert len(rows(SlotPattern)) >= len(rows(Service))


def test_households_with_elders_children_and_an_authorised_adult(loaded):
    members = rows(CareRecipient)
    assert {m.kind for m in members} == {RecipientKind.elder, RecipientKind.child}
    assert len(rows(Household)) >= 3
    assert rows(AuthorisedAdult)
    assert all(adult.child.kind == RecipientKind.child for adult in rows(AuthorisedAdult))


def test_bookings_obey_the_engine_including_a_waitlist_and_booking_on_behalf(loaded):
    bookings = rows(Booking)
    assert {b.status for b in bookings} == {BookingStatus.confirmed, BookingStatus.waitlisted}
    for booking in bookings:
        assert engine.places_held(booking.slot_id) <= booking.slot.places
    waitlisted = [b for b in bookings if b.status == BookingStatus.waitlisted]
    assert [engine.waitlist_position(b) for b in waitlisted] == [1]
    # 代办: the grid worker booked for an elder of a household that is not theirs.
    # (Bookings the scheduler made for standing enrolments have no booker.)
    assert any(b.booked_by is not None and b.booked_by.role == Role.community_staff for b in bookings)


def test_a_week_of_menus_from_dishes_with_diet_tags(loaded, clock):
    today = local_date(clock.now())
    lunch, dinner = (db.session.scalar(sa.select(Service).where(Service.name == name)) for name in ("午餐", "晚餐"))
    for service in (lunch, dinner):
        days = set(db.session.scalars(sa.select(MenuItem.day).where(MenuItem.service_id == service.id)))
        assert days == {today + timedelta(days=n) for n in range(demo.MENU_DAYS)}
    assert all(dish.diet_tag_list for dish in rows(Dish))


def test_meal_orders_carry_mode_price_and_subsidy(loaded):
    orders = rows(MealOrder)
    assert {order.mode for order in orders} == set(MealMode)
    # 李德明 is 86 and 失能: the 80+ tier and the special group's extra.
    delivered = [o for o in orders if o.mode == MealMode.delivery]
    assert delivered and all(o.subsidy_tier == "80" and o.special_group == "shineng" for o in delivered)


def test_standing_enrolments_booked_their_weekdays(loaded):
    enrolments = rows(Enrolment)
    assert len(enrolments) == len(demo.ENROLMENTS)
    for enrolment in enrolments:
        booked = db.session.scalars(sa.select(Booking).where(Booking.enrolment_id == enrolment.id)).all()
        assert booked, enrolment.service.name
        assert {local_date(b.slot.starts_at).weekday() for b in booked} <= set(enrolment.weekday_list)


def test_nursery_places_follow_the_rostered_carers(loaded):
    """Two carers per class: 乳儿班 2 x 3 = 6 places, 托小班 2 x 5 = 10, 托大班 2 x 7 = 14."""
    for name, places in (("乳儿班", 6), ("托小班", 10), ("托大班", 14)):
        service = db.session.scalar(sa.select(Service).where(Service.name == name))
        slots = db.session.scalars(sa.select(Slot).where(Slot.service_id == service.id)).all()
        assert slots and {slot.places for slot in slots} == {places}


def test_a_partner_waits_for_approval(loaded):
    pending = [p for p in rows(PartnerOrganisation) if not p.approved]
    assert [p.name for p in pending] == [demo.PENDING_PARTNER["name"]]


@pytest.mark.parametrize("model", [Community, Grid, Building, PartnerOrganisation, ServicePoint, Service,
                                   SlotPattern, Slot, Household, CareRecipient, AuthorisedAdult, Booking,
                                   Enrolment, Dish, Shift, Volunteer, Room])
def test_every_demo_row_was_made_by_a_rule_that_wrote_its_audit_entry(loaded, model):
    audited = set(db.session.scalars(sa.select(AuditEntry.object_id)
                                     .where(AuditEntry.object_type == model.__tablename__)))
    ids = set(db.session.scalars(sa.select(model.id)))
    assert ids and ids <= audited


def test_load_demo_twice_changes_nothing(app, loaded):
    before = row_counts()
    result = load(app)
    assert result.exit_code == 0, result.output
    assert "already loaded" in result.output
    db.session.expire_all()
    assert row_counts() == before


def test_every_role_has_a_demo_login_that_authenticates(loaded):
    logins = demo.logins()
    assert {login.role for login in logins} == set(Role)
    for login in logins:
        assert authenticate(login.login, login.password).role == login.role
        assert login.login in loaded.output and login.password in loaded.output


def test_demo_partner_accounts_belong_to_their_partner(loaded):
    for user in rows(User):
        if user.role in (Role.partner_staff, Role.partner_manager):
            assert user.partner is not None
        if user.role == Role.family:
            assert user.household is not None


def test_load_demo_refuses_a_database_holding_other_data(app, clock):
    make_user(Role.admin, clock.now(), login="13900000001")
    result = load(app)
    assert result.exit_code == 1 and isinstance(result.exception, SystemExit)
    assert "already holds data" in result.output and "Traceback" not in result.output
    assert rows(Community) == [] and len(rows(User)) == 1


def test_a_cancellation_in_the_full_day_group_tells_the_waiting_family_in_its_inbox(client, other_client, loaded):
    """The demo's full-day group is full and 王秀英 (王家) waits: 赵家 cancels, and 王家's inbox says she
    has the place, straight away (the notice is written with the change, not by a later job)."""
    from tests.page_helpers import login

    def booking_of(name: str) -> Booking:
        db.session.rollback()
        return db.session.scalar(sa.select(Booking).join(CareRecipient).join(Slot).join(Service).where(
            CareRecipient.name == name, Service.name == "全日日托(含午餐、接送)",
            Booking.status != BookingStatus.cancelled).order_by(Slot.starts_at))

    waiting = booking_of("王秀英")
    assert waiting.status == BookingStatus.waitlisted
    zhao = db.session.scalar(sa.select(User).where(User.login == "zhao@zhelu.example"))
    wang = db.session.scalar(sa.select(User).where(User.login == "family@zhelu.example"))
    login(client, zhao, demo.DEMO_PASSWORD)
    assert client.post(f"/booking/bookings/{booking_of('赵长林').id}/cancel").status_code == 302
    assert booking_of("王秀英").status in (BookingStatus.confirmed, BookingStatus.offered)
    login(other_client, wang, demo.DEMO_PASSWORD)
    assert "Messages (1 new)" in other_client.get("/family/").get_data(as_text=True)
    inbox = other_client.get("/notifications/").get_data(as_text=True)
    assert "王秀英" in inbox and "全日日托(含午餐、接送)" in inbox and ("候补成功" in inbox or "有空位了" in inbox)
