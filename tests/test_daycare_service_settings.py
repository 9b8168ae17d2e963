"""Each kind of care's own service settings: which kinds they fit, their bounds, the room, and how the
partner's service page and the API take them."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from careapp.core.db import db, write_transaction
from careapp.core.errors import BadInput
from careapp.partners.models import (
    ChildClass,
    MealTime,
    Room,
    Service,
    ServiceKind,
    ServicePoint,
    SessionLength,
)
from careapp.partners.services import add_service_point, create_service
from tests.api_helpers import bad_fields, bearer, call  # noqa: F401 (bearer is a fixture)
from tests.page_helpers import count, follow, login, text


def create(world, kind: ServiceKind, **settings) -> Service:
    setup = world.care_centre
    return create_service(partner_id=setup.partner.id, kind=kind, name=f"{kind.value} 服务", capacity=10,
                          service_point_id=world.daycare.service_point_id, by=setup.manager, now=world.now,
                          **settings)


def add_room(point_id: int, name: str = "活动区") -> Room:
    with write_transaction():
        room = Room(service_point_id=point_id, name=name, purpose="activity", seats=20)
        db.session.add(room)
    return room


@pytest.mark.parametrize("kind, settings", [
    (ServiceKind.daycare, {"session_length": SessionLength.half_day, "lunch_included": True, "transport": True}),
    (ServiceKind.daycare, {"session_length": SessionLength.full_day}),
    (ServiceKind.meal, {"meal": MealTime.dinner, "price_fen": 1200, "delivery_radius_m": 800}),
    (ServiceKind.childcare, {"session_length": SessionLength.occasional, "child_class": ChildClass.toddler,
                             "class_size": 12, "children_per_staff": 4}),
    (ServiceKind.childcare, {"session_length": SessionLength.after_school, "child_class": ChildClass.after_school}),
    (ServiceKind.activity, {}),
])
def test_each_kind_keeps_its_own_settings(world, kind, settings):
    service = create(world, kind, **settings)
    stored = db.session.get(Service, service.id).as_dict()
    for name, value in settings.items():
        assert stored[name] == (value.value if hasattr(value, "value") else value)


@pytest.mark.parametrize("kind, settings, field", [
    (ServiceKind.meal, {"meal": MealTime.lunch, "transport": True}, "transport"),
    (ServiceKind.childcare, {"lunch_included": True}, "lunch_included"),
    (ServiceKind.daycare, {"meal": MealTime.lunch}, "meal"),
    (ServiceKind.daycare, {"price_fen": 0}, "price_fen"),
    (ServiceKind.activity, {"delivery_radius_m": 500}, "delivery_radius_m"),
    (ServiceKind.daycare, {"child_class": ChildClass.infant}, "child_class"),
    (ServiceKind.meal, {"meal": MealTime.lunch, "class_size": 10}, "class_size"),
    (ServiceKind.daycare, {"children_per_staff": 3}, "children_per_staff"),
    (ServiceKind.activity, {"session_length": SessionLength.half_day}, "session_length"),
])
def test_a_setting_of_another_kind_is_refused(world, kind, settings, field):
    with pytest.raises(BadInput) as refused:
        create(world, kind, **settings)
    assert refused.value.fields == {field: "not for this kind"}
    assert db.session.scalar(sa.select(Service.id).where(Service.kind == kind, Service.name.like("% 服务"))) is None


def test_meal_help_must_say_which_meal(world):
    with pytest.raises(BadInput) as refused:
        create(world, ServiceKind.meal)
    assert "meal" in refused.value.fields


@pytest.mark.parametrize("session", [SessionLength.occasional, SessionLength.after_school])
def test_day_care_sessions_are_half_or_full_days(world, session):
    with pytest.raises(BadInput) as refused:
        create(world, ServiceKind.daycare, session_length=session)
    assert "session_length" in refused.value.fields


@pytest.mark.parametrize("kind, settings, field", [
    (ServiceKind.meal, {"meal": MealTime.lunch, "price_fen": -1}, "price_fen"),
    (ServiceKind.meal, {"meal": MealTime.lunch, "price_fen": 100_001}, "price_fen"),
    (ServiceKind.meal, {"meal": MealTime.lunch, "delivery_radius_m": 10_001}, "delivery_radius_m"),
    (ServiceKind.childcare, {"class_size": 0}, "class_size"),
    (ServiceKind.childcare, {"class_size": 61}, "class_size"),
    (ServiceKind.childcare, {"children_per_staff": 0}, "children_per_staff"),
    (ServiceKind.childcare, {"children_per_staff": 31}, "children_per_staff"),
])
def test_settings_stay_within_bounds(world, kind, settings, field):
    with pytest.raises(BadInput) as refused:
        create(world, kind, **settings)
    assert field in refused.value.fields


def test_the_room_must_be_one_of_the_service_points(world):
    own = add_room(world.daycare.service_point_id)
    service = create(world, ServiceKind.daycare, room_id=own.id)
    assert service.room_id == own.id
    other_point = add_service_point(partner_id=world.care_centre.partner.id, name="二号点", address="赭麓街道2号",
                                    latitude=31.33, longitude=118.37, by=world.admin, now=world.now)
    elsewhere = add_room(other_point.id, "餐厅")
    for room_id in (elsewhere.id, 999_999):
        with pytest.raises(BadInput) as refused:
            create(world, ServiceKind.daycare, room_id=room_id)
        assert "room_id" in refused.value.fields


# --- the partner's service page ---

def form(world, **changes) -> dict:
    point = world.care_centre.partner.service_points[0]
    return {"kind": "daycare", "name": "全日日托(接送)", "capacity": "12", "service_point_id": str(point.id),
            "fill_policy": "auto", "offer_hours": "24", "session_length": "full_day", "lunch_included": "y",
            "transport": "y", **changes}


@pytest.fixture
def manager(client, world):
    login(client, world.care_centre.manager)


def new_service_url(world) -> str:
    return f"/partners/{world.care_centre.partner.id}/services/new"


def test_the_page_groups_each_kinds_settings(client, world, manager):
    add_room(world.daycare.service_point_id)
    page = text(client.get(new_service_url(world)))
    for legend in ("Day care", "Meal help", "Childcare", "Sessions (day care and childcare)"):
        assert f"<legend>{legend}</legend>" in page
    assert 'class="kind-part for-childcare for-daycare"' in page
    # The kind shows only its own part: a style sheet of the page's own (no inline style, see docs/security.md).
    assert "/static/pages/service-form.css" in page
    assert 'option[value="meal"]:checked' in text(client.get("/static/pages/service-form.css"))
    assert "活动区 (普康养老服务中心服务点)" in page


def test_the_page_creates_a_day_care_service_with_lunch_and_transport(client, world, manager):
    response = client.post(new_service_url(world), data=form(world, meal="lunch", price="12.00"))
    assert "The service 全日日托(接送) is created." in follow(client, response)
    service = db.session.scalar(sa.select(Service).where(Service.name == "全日日托(接送)"))
    # The meal part was hidden for day care: what was typed there is not taken.
    assert (service.session_length, service.lunch_included, service.transport, service.meal, service.price_fen) == \
        (SessionLength.full_day, True, True, None, None)


def test_the_page_creates_a_meal_service_with_its_price_in_yuan(client, world, manager):
    response = client.post(new_service_url(world), data=form(world, kind="meal", name="午餐2", meal="lunch",
                                                              price="15.50", delivery_radius_m="800"))
    assert response.status_code == 302
    service = db.session.scalar(sa.select(Service).where(Service.name == "午餐2"))
    assert (service.meal, service.price_fen, service.delivery_radius_m, service.transport) == \
        (MealTime.lunch, 1550, 800, False)


@pytest.mark.parametrize("changes, field, message", [
    ({"kind": "meal"}, "meal", "Say which meal this is: lunch or dinner."),
    ({"kind": "meal", "meal": "lunch", "price": "nan"}, "price", "Give the price in yuan"),
    ({"kind": "meal", "meal": "lunch", "price": "1.234"}, "price", "Give the price in yuan"),
    ({"kind": "meal", "meal": "brunch"}, "meal", "Please choose one from the list."),
    ({"session_length": "after_school"}, "session_length", "Day care sessions are half_day, full_day."),
    ({"kind": "childcare", "class_size": "0"}, "class_size", "A whole number from 1 to 60."),
])
def test_bad_settings_are_shown_by_their_field_and_nothing_is_written(client, world, manager, changes, field,
                                                                      message):
    before = count(Service)
    response = client.post(new_service_url(world), data=form(world, **changes))
    assert response.status_code in (400, 422)
    page = text(response)
    assert f'id="{field}-error">' in page and message in page.split(f'id="{field}-error">')[1][:200]
    assert count(Service) == before


# --- the API ---

def test_the_api_takes_and_shows_the_settings(client, world, bearer):
    room = add_room(world.daycare.service_point_id)
    headers = bearer(world.care_centre.manager)
    response = call(client, "POST", f"/partners/{world.care_centre.partner.id}/services", headers,
                    json={"kind": "childcare", "name": "托小班2", "capacity": 12,
                          "service_point_id": world.daycare.service_point_id, "session_length": "full_day",
                          "child_class": "toddler", "class_size": 15, "children_per_staff": 5, "room_id": room.id})
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    assert (answer["child_class"], answer["class_size"], answer["children_per_staff"], answer["room_id"],
            answer["session_length"], answer["transport"], answer["meal"]) == \
        ("toddler", 15, 5, room.id, "full_day", False, None)
    fields = bad_fields(call(client, "POST", f"/partners/{world.care_centre.partner.id}/services", headers,
                             json={"kind": "meal", "name": "早餐", "capacity": 12, "transport": True, "meal": "lunch",
                                   "service_point_id": world.daycare.service_point_id}))
    assert fields == {"transport": "not for this kind"}
    fields = bad_fields(call(client, "POST", f"/partners/{world.care_centre.partner.id}/services", headers,
                             json={"kind": "meal", "name": "早餐", "capacity": 12, "meal": "breakfast",
                                   "service_point_id": world.daycare.service_point_id}))
    assert "meal" in fields
    listed = call(client, "GET", "/partners", headers).get_json()
    lunch = next(s for p in listed for s in p["services"] if s["name"] == "午餐")
    assert lunch["meal"] == "lunch"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ServicePoint)) >= 1


def test_a_meal_service_refuses_cutoff_minutes_it_would_ignore(world, clock):
    """Meal orders close at the sub-district's meal cutoffs; minutes before the meal would be silently ignored."""
    point_id = world.care_centre.partner.service_points[0].id
    for name in ("booking_cutoff_minutes", "cancel_cutoff_minutes"):
        with pytest.raises(BadInput) as refused:
            create_service(partner_id=world.care_centre.partner.id, kind=ServiceKind.meal, name=f"晚餐{name}",
                           capacity=10, service_point_id=point_id, by=world.care_centre.manager, now=clock.now(),
                           meal=MealTime.dinner, **{name: 60})
        assert refused.value.fields == {name: "not for meal help"}
