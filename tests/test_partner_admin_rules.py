"""Partner administration rules: registration, approval, profile, rooms and staff accounts (real database)."""
from __future__ import annotations


import pytest
import sqlalchemy as sa

from careapp.accounts.models import ApiToken, Role, User
from careapp.accounts.services import authenticate, issue_token, token_for
from careapp.core.audit import AuditEntry
from careapp.core.db import db
from careapp.core.errors import BadInput, Conflict, Forbidden, NotAuthenticated, NotFound, RuleRefused
from careapp.partners.admin_queries import partner_accounts, pending_partners
from careapp.partners.admin_services import (add_room, approve_partner, decline_partner, register_partner,
                                             remove_room, set_account_active, update_profile, update_room)
from careapp.partners.models import PartnerKind, PartnerOrganisation, Room, ServiceKind
from careapp.partners.queries import visible_partners
from careapp.partners.services import add_service_point, create_service
from tests.factories import PASSWORD, make_slot
from tests.page_helpers import count


def register(now, name="新希望助餐点", login="13955550001", **changes):
    fields = dict(name=name, kind=PartnerKind.canteen, manager_name="周主任", login=login, password=PASSWORD,
                  phone="0553-1234567", description="午餐和晚餐", now=now)
    fields.update(changes)
    return register_partner(**fields)


def actions() -> list[str]:
    return list(db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id)))


# --- registration ---


def test_registration_creates_an_unapproved_partner_and_its_manager_in_one_go(world, clock):
    manager = register(clock.now())
    partner = manager.partner
    assert (partner.name, partner.kind, partner.approved, partner.phone, partner.description) == \
        ("新希望助餐点", PartnerKind.canteen, False, "0553-1234567", "午餐和晚餐")
    assert (manager.role, manager.name, manager.login, manager.phone) == \
        (Role.partner_manager, "周主任", "13955550001", "13955550001")
    assert authenticate("13955550001", PASSWORD).id == manager.id
    assert actions()[-2:] == ["partner.registered", "user.created"]
    assert [p.id for p in pending_partners()] == [partner.id]


@pytest.mark.parametrize("changes, field", [
    ({"login": "not-a-login"}, "login"),
    ({"password": "short"}, "password"),
    ({"name": "   "}, "name"),
    ({"manager_name": ""}, "manager_name"),
    ({"name": "长" * 121}, "name"),
    ({"description": "x" * 2001}, "description"),
])
def test_bad_registration_input_names_the_field_and_writes_nothing(world, clock, changes, field):
    before = count(PartnerOrganisation), count(User), count(AuditEntry)
    with pytest.raises(BadInput) as refused:
        register(clock.now(), **changes)
    assert field in refused.value.fields
    assert (count(PartnerOrganisation), count(User), count(AuditEntry)) == before


@pytest.mark.parametrize("name", ["麓枫书院", " 麓枫书院 ", "Sunrise Canteen"])
def test_a_taken_organisation_name_is_refused_clearly(world, clock, name):
    register(clock.now(), name="sunrise canteen", login="13955550009")
    before = count(PartnerOrganisation), count(User)
    with pytest.raises(Conflict) as refused:
        register(clock.now(), name=name)
    assert (refused.value.code, refused.value.fields) == ("duplicate_name", {"name": "taken"})
    assert "already registered" in refused.value.message
    assert (count(PartnerOrganisation), count(User)) == before


def test_a_taken_login_leaves_no_partner_behind(world, clock):
    before = count(PartnerOrganisation)
    with pytest.raises(Conflict) as refused:
        register(clock.now(), login=world.family.user.login)
    assert refused.value.code == "login_taken"
    assert count(PartnerOrganisation) == before


def test_an_unapproved_partner_sets_up_but_cannot_publish_and_families_do_not_see_it(world, clock):
    now = clock.now()
    manager = register(now)
    point = add_service_point(partner_id=manager.partner_id, name="助餐点", address="赭麓街道8号", latitude=31.33,
                              longitude=118.37, by=manager, now=now)
    add_room(point.id, name="餐厅", purpose="dining area", seats=40, by=manager, now=now)
    service = create_service(partner_id=manager.partner_id, kind=ServiceKind.activity, name="读书会", capacity=30,
                             service_point_id=point.id, by=manager, now=now)
    with pytest.raises(RuleRefused) as refused:
        make_slot(service, manager, now)
    assert refused.value.code == "partner_not_approved"
    assert manager.partner_id not in {p.id for p in visible_partners(world.family.user)}

    approve_partner(manager.partner_id, by=world.community_staff, now=now)
    slot = make_slot(service, manager, now)
    assert slot.service_id == service.id
    assert manager.partner_id in {p.id for p in visible_partners(world.family.user)}


# --- approval ---


@pytest.mark.parametrize("who", ["community_staff", "admin"])
def test_district_staff_approve_and_it_is_recorded(world, clock, who):
    manager = register(clock.now())
    clock.advance(hours=3)
    approver = getattr(world, who)
    partner = approve_partner(manager.partner_id, by=approver, now=clock.now())
    assert (partner.approved, partner.approved_at, partner.approved_by_id) == (True, clock.now(), approver.id)
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "partner.approved"))
    assert (entry.actor_id, entry.object_id, entry.before["approved"], entry.after["approved"]) == \
        (approver.id, partner.id, False, True)
    assert pending_partners() == []


@pytest.mark.parametrize("who", ["family", "staff", "manager", "own_manager"])
def test_only_district_staff_approve(world, clock, who):
    manager = register(clock.now())
    user = {"family": world.family.user, "staff": world.care_centre.staff, "manager": world.care_centre.manager,
            "own_manager": manager}[who]
    with pytest.raises(Forbidden):
        approve_partner(manager.partner_id, by=user, now=clock.now())
    with pytest.raises(Forbidden):
        decline_partner(manager.partner_id, reason="no", by=user, now=clock.now())
    assert db.session.get(PartnerOrganisation, manager.partner_id).approved is False


def test_approving_twice_or_an_unknown_partner_is_refused(world, clock):
    with pytest.raises(Conflict):
        approve_partner(world.academy.partner.id, by=world.admin, now=clock.now())
    with pytest.raises(NotFound):
        approve_partner(999_999, by=world.admin, now=clock.now())


def test_a_declined_registration_keeps_its_reason_and_leaves_the_pending_list(world, clock):
    manager = register(clock.now())
    with pytest.raises(BadInput):
        decline_partner(manager.partner_id, reason="  ", by=world.community_staff, now=clock.now())
    partner = decline_partner(manager.partner_id, reason="请提供营业执照", by=world.community_staff, now=clock.now())
    assert (partner.approved, partner.declined_at, partner.decline_reason) == (False, clock.now(), "请提供营业执照")
    assert pending_partners() == []
    # Put right, it can still be approved; the decline is cleared.
    partner = approve_partner(partner.id, by=world.community_staff, now=clock.now())
    assert (partner.approved, partner.declined_at, partner.decline_reason) == (True, None, None)
    with pytest.raises(Conflict):
        decline_partner(partner.id, reason="too late", by=world.community_staff, now=clock.now())


# --- profile ---


@pytest.mark.parametrize("who", ["manager", "community_staff", "admin"])
def test_the_manager_or_district_staff_edit_the_profile_audited(world, clock, who):
    user = world.care_centre.manager if who == "manager" else getattr(world, who)
    partner = update_profile(world.care_centre.partner.id, by=user, now=clock.now(), name="普康养老服务中心(赭麓)",
                             phone=" 0553-7654321 ", description="")
    assert (partner.name, partner.phone, partner.description) == ("普康养老服务中心(赭麓)", "0553-7654321", None)
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "partner.profile_changed"))
    assert (entry.before["name"], entry.after["name"], entry.actor_id) == \
        ("普康养老服务中心", "普康养老服务中心(赭麓)", user.id)


@pytest.mark.parametrize("who", ["staff", "other_manager", "family"])
def test_others_cannot_edit_the_profile(world, clock, who):
    user = {"staff": world.care_centre.staff, "other_manager": world.nursery.manager,
            "family": world.family.user}[who]
    with pytest.raises(Forbidden):
        update_profile(world.care_centre.partner.id, by=user, now=clock.now(), name="改名")
    assert db.session.get(PartnerOrganisation, world.care_centre.partner.id).name == "普康养老服务中心"


def test_a_profile_cannot_take_another_partners_name_but_keeps_its_own(world, clock):
    with pytest.raises(Conflict):
        update_profile(world.care_centre.partner.id, by=world.admin, now=clock.now(), name="艺涵托育园")
    partner = update_profile(world.care_centre.partner.id, by=world.admin, now=clock.now(), name="普康养老服务中心",
                             phone="123")
    assert partner.phone == "123"
    with pytest.raises(BadInput):
        update_profile(world.care_centre.partner.id, by=world.admin, now=clock.now(), approved=True)


# --- rooms ---


def point_of(setup):
    return setup.partner.service_points[0]


def test_rooms_are_added_changed_and_removed_by_the_manager(world, clock):
    manager, point = world.care_centre.manager, point_of(world.care_centre)
    room = add_room(point.id, name="阅览室", purpose="reading area", seats=12, by=manager, now=clock.now())
    assert (room.name, room.purpose, room.seats) == ("阅览室", "reading area", 12)
    room = update_room(room.id, seats=16, by=manager, now=clock.now())
    assert (room.name, room.purpose, room.seats) == ("阅览室", "reading area", 16)
    remove_room(room.id, by=manager, now=clock.now())
    assert count(Room) == 0
    assert actions()[-3:] == ["room.created", "room.changed", "room.removed"]


def test_room_names_are_unique_within_a_service_point_only(world, clock):
    manager, point = world.care_centre.manager, point_of(world.care_centre)
    add_room(point.id, name="餐厅", by=manager, now=clock.now())
    with pytest.raises(Conflict):
        add_room(point.id, name="餐厅", by=manager, now=clock.now())
    other = add_service_point(partner_id=world.care_centre.partner.id, name="二号点", address="x", latitude=31.3,
                              longitude=118.3, by=manager, now=clock.now())
    renamed = add_room(other.id, name="活动室", by=manager, now=clock.now())
    add_room(other.id, name="餐厅", by=manager, now=clock.now())
    with pytest.raises(Conflict):
        update_room(renamed.id, name="餐厅", by=manager, now=clock.now())


@pytest.mark.parametrize("seats", [-1, 10_001])
def test_seats_out_of_range_are_refused(world, clock, seats):
    with pytest.raises(BadInput) as refused:
        add_room(point_of(world.care_centre).id, name="餐厅", seats=seats, by=world.care_centre.manager,
                 now=clock.now())
    assert "seats" in refused.value.fields


def test_a_room_a_service_uses_cannot_be_removed(world, clock):
    manager, point = world.care_centre.manager, point_of(world.care_centre)
    room = add_room(point.id, name="日托室", by=manager, now=clock.now())
    create_service(partner_id=world.care_centre.partner.id, kind=ServiceKind.daycare, name="全日日托", capacity=8,
                   service_point_id=point.id, by=manager, now=clock.now(), room_id=room.id)
    with pytest.raises(RuleRefused) as refused:
        remove_room(room.id, by=manager, now=clock.now())
    assert refused.value.code == "room_in_use" and "全日日托" in refused.value.message
    assert count(Room) == 1


@pytest.mark.parametrize("who", ["staff", "other_manager", "family"])
def test_others_cannot_change_a_partners_rooms(world, clock, who):
    point = point_of(world.care_centre)
    room = add_room(point.id, name="餐厅", by=world.care_centre.manager, now=clock.now())
    user = {"staff": world.care_centre.staff, "other_manager": world.nursery.manager,
            "family": world.family.user}[who]
    with pytest.raises(Forbidden):
        add_room(point.id, name="活动室", by=user, now=clock.now())
    with pytest.raises(Forbidden):
        update_room(room.id, name="活动室", by=user, now=clock.now())
    with pytest.raises(Forbidden):
        remove_room(room.id, by=user, now=clock.now())
    assert [r.name for r in db.session.scalars(sa.select(Room))] == ["餐厅"]


# --- staff accounts ---


def test_a_switched_off_account_cannot_log_in_and_its_tokens_end(world, clock):
    staff = world.care_centre.staff
    token, _ = issue_token(staff, now=clock.now())
    set_account_active(staff.id, False, by=world.care_centre.manager, now=clock.now())
    with pytest.raises(NotAuthenticated):
        authenticate(staff.login, PASSWORD)
    with pytest.raises(NotAuthenticated):
        token_for(token, now=clock.now())
    assert db.session.scalar(sa.select(ApiToken.revoked_at).where(ApiToken.user_id == staff.id)) == clock.now()
    clock.advance(minutes=5)
    set_account_active(staff.id, True, by=world.care_centre.manager, now=clock.now())
    assert authenticate(staff.login, PASSWORD).id == staff.id
    with pytest.raises(NotAuthenticated):  # a revoked token stays revoked
        token_for(token, now=clock.now())
    assert actions()[-2:] == ["user.deactivated", "user.activated"]


def test_the_manager_cannot_switch_off_their_own_account(world, clock):
    manager = world.care_centre.manager
    with pytest.raises(RuleRefused) as refused:
        set_account_active(manager.id, False, by=manager, now=clock.now())
    assert refused.value.code == "own_account"
    assert db.session.get(User, manager.id).active


@pytest.mark.parametrize("who, target", [
    ("other_manager", "staff"), ("staff", "staff"), ("family", "staff"), ("manager", "family"),
    ("manager", "community_staff"), ("community_staff", "admin"),
])
def test_accounts_of_another_partner_or_not_of_a_partner_are_refused(world, clock, who, target):
    people = {"other_manager": world.nursery.manager, "staff": world.care_centre.staff,
              "family": world.family.user, "manager": world.care_centre.manager,
              "community_staff": world.community_staff, "admin": world.admin}
    account = people[target]
    with pytest.raises(Forbidden):
        set_account_active(account.id, False, by=people[who], now=clock.now())
    assert db.session.get(User, account.id).active


@pytest.mark.parametrize("who", ["community_staff", "admin"])
def test_district_staff_switch_partner_accounts_too(world, clock, who):
    account = set_account_active(world.nursery.manager.id, False, by=getattr(world, who), now=clock.now())
    assert account.active is False
    with pytest.raises(Conflict):
        set_account_active(account.id, False, by=getattr(world, who), now=clock.now())


def test_the_staff_list_shows_managers_first(world, clock):
    accounts = partner_accounts(world.care_centre.partner.id)
    assert [(a.role, a.name) for a in accounts] == [(Role.partner_manager, "普康养老服务中心主任"),
                                                     (Role.partner_staff, "普康养老服务中心护理员")]


def test_a_registered_partner_waits_in_order_of_registration(world, clock):
    first = register(clock.now(), name="甲", login="13955550011")
    clock.advance(minutes=1)
    second = register(clock.now(), name="乙", login="13955550012")
    assert [p.id for p in pending_partners()] == [first.partner_id, second.partner_id]
