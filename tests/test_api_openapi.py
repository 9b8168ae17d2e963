"""The OpenAPI document describes exactly the routes Flask serves under /api/v1, and is a valid OpenAPI 3.1 document."""
from __future__ import annotations

import re

from openapi_spec_validator import validate

from tests.api_helpers import API, call

IGNORED_METHODS = {"HEAD", "OPTIONS"}  # Flask adds these to every rule by itself


def served_routes(app) -> set[tuple[str, str]]:
    """(path in OpenAPI form, method) of every /api/v1 rule in Flask's url_map."""
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(API + "/"):
            path = re.sub(r"<(?:[^<>:]+:)?(\w+)>", r"{\1}", rule.rule)
            routes |= {(path, method) for method in rule.methods - IGNORED_METHODS}
    return routes


def documented_routes(document: dict) -> set[tuple[str, str]]:
    return {(path, method.upper()) for path, operations in document["paths"].items() for method in operations}


def test_document_and_url_map_agree_both_ways(app, client):
    response = call(client, "GET", "/openapi.json")  # public: no token
    assert response.status_code == 200
    document = response.get_json()
    served, documented = served_routes(app), documented_routes(document)
    assert served - documented == set(), "served but not documented"
    assert documented - served == set(), "documented but not served"
    assert len(served) >= 24


def test_document_is_valid_openapi_3_1(client):
    document = call(client, "GET", "/openapi.json").get_json()
    assert document["openapi"].startswith("3.1")
    validate(document)  # raises on any schema error, including dangling $refs


def test_every_operation_documents_its_errors_in_the_one_error_shape(client):
    document = call(client, "GET", "/openapi.json").get_json()
    error = document["components"]["schemas"]["ErrorResponse"]
    assert error["properties"]["error"]["$ref"].endswith("/ErrorDetail")
    assert set(document["components"]["schemas"]["ErrorDetail"]["required"]) == {"code", "message", "fields"}
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            statuses = {int(status) for status in operation["responses"]}
            errors = {status for status in statuses if status >= 400}
            for status in errors:
                schema = operation["responses"][str(status)]["content"]["application/json"]["schema"]
                assert schema == {"$ref": "#/components/schemas/ErrorResponse"}
            if operation["security"]:
                assert 401 in errors, (method, path)
            if "{" in path:
                assert 404 in errors, (method, path)
            if "requestBody" in operation or any(p["in"] == "query" for p in operation.get("parameters", [])):
                assert 400 in errors, (method, path)


def test_the_throttled_routes_document_429(client):
    paths = call(client, "GET", "/openapi.json").get_json()["paths"]
    throttled = {(path, method) for path, operations in paths.items() for method, operation in operations.items()
                 if "429" in operation["responses"]}
    assert throttled == {(API + "/tokens", "post"), (API + "/families", "post"),
                         (API + "/partner-registrations", "post")}


def test_request_and_response_schemas_come_from_the_models(client):
    document = call(client, "GET", "/openapi.json").get_json()
    booking = document["paths"][API + "/slots/{slot_id}/bookings"]["post"]
    assert booking["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/BookingIn"}
    assert booking["responses"]["201"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/BookingOut"}
    assert booking["security"] == [{"bearer": []}]
    schemas = document["components"]["schemas"]
    assert schemas["BookingIn"]["required"] == ["recipient_id"]
    assert schemas["BookingIn"]["additionalProperties"] is False
    slots = document["paths"][API + "/slots"]["get"]
    assert {p["name"] for p in slots["parameters"]} == {"kind", "partner_id", "service_id", "date_from", "date_to"}
    assert slots["responses"]["200"]["content"]["application/json"]["schema"]["type"] == "array"
    starts_at = schemas["SlotOut"]["properties"]["starts_at"]
    assert (starts_at["type"], starts_at["format"]) == ("string", "date-time")
    assert document["paths"][API + "/buildings"]["get"]["security"] == []
