"""Bad input on every route answers 400 (or 404 for an impossible id), in the one error shape, never 500.

The routes come from the registry, so a new route is swept as soon as it exists; VALID_BODIES
must name a valid body for every route that takes one (a test checks that too).
"""
from __future__ import annotations

import re

import pytest

from careapp.accounts.models import Role
from careapp.api import api
from careapp.api.registry import Endpoint
from tests.api_helpers import bad_fields, bearer, call, error_of  # noqa: F401  (bearer: a fixture)
from tests.factories import make_user

VALID_BODIES = {
    "create_token": {"login": "13800000000", "password": "correct-horse-9"},
    "choose_language": {"language": "en"},
    "register": {"login": "13912345678", "password": "correct-horse-9", "name": "陈家", "building_id": 1},
    "create_recipient": {"name": "王爷爷", "kind": "elder", "birth_date": "1948-05-01"},
    "add_partner": {"name": "某机构", "kind": "canteen"},
    "add_point": {"name": "服务点", "address": "赭麓街道", "latitude": 31.3, "longitude": 118.3},
    "add_service": {"kind": "daycare", "name": "日托", "capacity": 5, "service_point_id": 1},
    "add_slot": {"starts_at": "2026-12-02T08:30:00+08:00", "ends_at": "2026-12-02T11:30:00+08:00"},
    "change_capacity": {"capacity": 3},
    "book": {"recipient_id": 1},
    "enrol_member": {"recipient_id": 1, "service_id": 1, "weekdays": [0], "starts_on": "2026-12-01"},
    "pause_enrolment": {"resumes_on": "2026-12-09"},
    "end_enrolment": {"ends_on": "2026-12-01"},
    "add_shift": {"day": "2026-12-02", "start_time": "08:00", "end_time": "12:00", "role": "staff", "title": "早班"},
    "change_shift": {"title": "早班"},
    "add_assignment": {"user_id": 1},
    "add_volunteer": {"name": "志愿者"},
    "change_meal_needs": {"diet_tags": ["low_salt"]},
    "add_dish": {"name": "清蒸鱼"},
    "change_dish": {"name": "清蒸鱼"},
    "replace_menu": {"day": "2026-12-02", "dish_ids": [1]},
    "order_meal": {"recipient_id": 1},
    "change_meal_order": {"mode": "pick_up"},
    "check_in": {"temperature": 36.6, "health_notes": "精神好"},
    "check_out": {"collected_by": 1},
    "add_adult": {"name": "张伟", "relation": "父亲"},
}
VALID_BODIES.update({
    "registration": {"name": "某机构", "kind": "canteen", "phone": "0553-1234567", "manager_name": "周主任",
                     "login": "13955550001", "password": "correct-horse-9"},
    "decline_registration": {"reason": "请补充材料"},
    "change_partner_profile": {"name": "某机构"},
    "create_service_point_room": {"name": "餐厅", "seats": 40},
    "change_service_point_room": {"name": "餐厅"},
    "save_message_template": {"service_kind": "daycare", "topic": "reminder", "language": "en",
                              "subject": "Reminder: {service}", "body": "{member} is booked on {date}."},
    "reset_message_template": {"service_kind": "daycare", "topic": "reminder", "language": "en"},
})
WITH_BODY = [e for e in api.endpoints if e.body is not None]
WITH_QUERY = [e for e in api.endpoints if e.query is not None]
WITH_IDS = [e for e in api.endpoints if e.path_parameters]


def label(endpoint: Endpoint) -> str:
    return f"{endpoint.method} {endpoint.path}"


# Valid values for required query parameters, by name, so a test reaches the part it is about.
QUERY_EXAMPLES = {"day": "2026-12-02", "month": "2026-11"}


def required_query(endpoint: Endpoint) -> list[str]:
    if endpoint.query is None:
        return []
    return [f"{name}={QUERY_EXAMPLES[name]}" for name, field in endpoint.query.model_fields.items()
            if field.is_required()]


def path_with(endpoint: Endpoint, ident: str, *query: str) -> str:
    path = re.sub(r"{\w+}", ident, endpoint.path)
    parameters = required_query(endpoint) + list(query)
    return path + ("?" + "&".join(parameters) if parameters else "")


@pytest.fixture
def headers(app, clock, bearer):
    """An admin's token: every check but the input's passes (these tests need no district, so they build none)."""
    return bearer(make_user(Role.admin, clock.now()))


def test_every_route_with_a_body_has_a_valid_example_here():
    assert {e.name for e in WITH_BODY} == set(VALID_BODIES)


@pytest.mark.parametrize("endpoint", WITH_BODY, ids=label)
@pytest.mark.parametrize("raw", [
    b"", b"not json", b"{\"recipient_id\": ", b"[]", b"[1, 2]", b"\"text\"", b"42", b"null", b"true",
    b"\xff\xfe\x00", b"{\"a\": \"\\ud800\"}", b"[" * 5000 + b"]" * 5000,
], ids=["empty", "text", "truncated", "empty-array", "array", "string", "number", "null", "true", "binary",
        "lone-surrogate", "deeply-nested"])
def test_a_body_that_is_not_a_json_object_is_400_naming_the_body(client, headers, endpoint, raw):
    response = call(client, endpoint.method, path_with(endpoint, "1"), headers, data=raw,
                    content_type="application/json")
    if raw == b"" and not endpoint.body_required:
        # No body at all is the body's defaults; booking 1 does not exist in this empty database.
        error_of(response, 404, "not_found")
        return
    assert list(bad_fields(response)) == ["body"]


@pytest.mark.parametrize("endpoint", WITH_BODY, ids=label)
def test_a_json_body_is_read_whatever_the_content_type_says(client, headers, endpoint):
    """Clients that forget the header get the same answers, never a 415 or a 500."""
    response = call(client, endpoint.method, path_with(endpoint, "1"), headers, data=b"{}",
                    content_type="text/plain")
    required = {name for name in endpoint.body.model_fields if endpoint.body.model_fields[name].is_required()}
    if not endpoint.body_required:
        # An optional body: {} is its defaults, and the route goes on to look for its object.
        error_of(response, 404, "not_found")
        return
    fields = bad_fields(response)
    assert set(fields) == required
    assert all(message == "Field required" for message in fields.values())


@pytest.mark.parametrize("endpoint", WITH_BODY, ids=label)
def test_unknown_fields_are_named(client, headers, endpoint):
    body = {**VALID_BODIES[endpoint.name], "surprise": 1}
    response = call(client, endpoint.method, path_with(endpoint, "1"), headers, json=body)
    assert bad_fields(response) == {"surprise": "Extra inputs are not permitted"}


@pytest.mark.parametrize("endpoint", WITH_BODY, ids=label)
def test_every_field_of_the_wrong_type_is_named(client, headers, endpoint):
    """Each field given as an object (no field accepts one), so each must be named."""
    body = {name: {"nested": True} for name in VALID_BODIES[endpoint.name]}
    fields = bad_fields(call(client, endpoint.method, path_with(endpoint, "1"), headers, json=body))
    assert set(VALID_BODIES[endpoint.name]) <= {name.split(".")[0] for name in fields}


@pytest.mark.parametrize("endpoint", WITH_QUERY, ids=label)
@pytest.mark.parametrize("query", ["surprise=1", "surprise="])
def test_unknown_query_parameters_are_named_unless_empty(client, headers, endpoint, query):
    # A path id (none exists in this empty database) is only reached once the query has been read.
    response = call(client, endpoint.method, path_with(endpoint, "1", query), headers)
    if query.endswith("="):
        assert response.status_code in (200, 400, 404) and "surprise" not in response.get_data(as_text=True)
    else:
        assert bad_fields(response) == {"surprise": "Extra inputs are not permitted"}


@pytest.mark.parametrize("endpoint", WITH_IDS, ids=label)
@pytest.mark.parametrize("ident", ["0", "-1", "abc", "1.5", "2147483648", "9" * 40])
def test_an_impossible_id_in_the_path_is_404_without_touching_the_database(client, headers, endpoint, ident):
    response = call(client, endpoint.method, path_with(endpoint, ident), headers,
                    json=VALID_BODIES.get(endpoint.name))
    error_of(response, 404, "not_found")


@pytest.mark.parametrize("endpoint", WITH_IDS, ids=label)
def test_an_unknown_id_is_404(client, headers, endpoint):
    response = call(client, endpoint.method, path_with(endpoint, "2147483647"), headers,
                    json=VALID_BODIES.get(endpoint.name))
    error_of(response, 404, "not_found")


def test_a_wrong_method_is_405_in_the_error_shape_with_allow(client):
    response = call(client, "PUT", "/slots/1")
    error_of(response, 405, "method_not_allowed")
    assert "PATCH" in response.headers["Allow"]


def test_an_unknown_api_path_is_a_json_404(client):
    error_of(call(client, "GET", "/nothing-here"), 404, "not_found")


def test_a_body_over_the_size_limit_is_413_in_the_error_shape(client, headers):
    huge = b"{\"name\": \"" + b"x" * (5 * 1024 * 1024) + b"\"}"
    error_of(call(client, "POST", "/partners", headers, data=huge, content_type="application/json"), 413)
