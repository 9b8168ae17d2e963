"""API fuzzing: schemathesis generates requests for every operation of /api/v1/openapi.json (through the WSGI
app, no server) and sends each as a user of every role; no answer may be a 500, and every answer must match
the document (status code, content type, headers, body schema).

Bounded for CI: a few examples per operation (derandomized, so every run sends the same requests); each
operation starts from a fresh small district (tests/factories.World) on the real test database."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_headers_conformance,
                                               response_schema_conformance, status_code_conformance)

from careapp.accounts.services import issue_token
from careapp.core.db import db
from tests.factories import World

# Known gaps between the app and its document, reported to the lead (fix the route's ``errors=`` and drop the
# entry): any other failure fails the test.
# Mismatches between the API and its document that are known and accepted (none today; the first run found
# POST /api/v1/tokens answering 401 undocumented, and the route now documents it).
KNOWN: dict[str, str] = {}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]


@pytest.fixture
def role_headers(app, clock):
    """Bearer headers of a user of each role, in a fresh district."""
    world = World.build(clock.now())
    users = {"family": world.family.user, "partner_staff": world.care_centre.staff,
             "partner_manager": world.care_centre.manager, "community_staff": world.community_staff,
             "admin": world.admin}
    headers = {}
    for role, user in users.items():
        token, _ = issue_token(user, now=clock.now())
        headers[role] = {"Authorization": f"Bearer {token}"}
    db.session.rollback()
    return headers


def test_every_operation_answers_by_the_document_for_every_role(app, role_headers):
    # (schemathesis's own pytest plugin, schema.parametrize, does not run under pytest 9: each operation is
    # driven here with its Hypothesis strategy instead.)
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 50

    failures, calls = {}, []
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=3, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def answers_by_the_document(case):
            for headers in role_headers.values():
                db.session.rollback()
                calls.append(case.call_and_validate(headers=headers, checks=CHECKS).status_code)

        try:
            answers_by_the_document()
        except (AssertionError, BaseExceptionGroup) as failure:  # every operation is tried; all reported together
            first = [line.strip() for line in str(failure).splitlines() if line.strip()][:6]
            failures[f"{operation.method.upper()} {operation.path}"] = " | ".join(first)
    assert len(calls) > 500, len(calls)
    assert 500 not in calls
    unexpected = {name: text for name, text in failures.items() if name not in KNOWN}
    assert not unexpected, "\n".join(f"{name}: {text}" for name, text in unexpected.items())
    print(f"\n{len(calls)} requests over {len(operations)} operations; known gaps: {sorted(failures)}")
