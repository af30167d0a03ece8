"""Fuzzing the API from its own OpenAPI schema: no input makes it fail, every answer is as documented.

schemathesis reads `/api/v1/schema/`, generates requests for every operation (valid and
not), and checks each response: never a 5xx (`not_a_server_error`), and a body that fits
the schema documented for its status (`response_schema_conformance`). The number of
examples per operation is bounded so the whole run takes a few minutes at most.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from connectors.api_tokens import ApiToken
from osmosproject.wsgi import application

EXAMPLES_PER_OPERATION = 15

schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application)


@pytest.fixture
def staff_token(alice) -> str:
    return ApiToken.issue(alice)[1]


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    # Django closes the connection after each request, which would close the test's
    # transaction; its test client disconnects the same handler for the same reason.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.mark.slow
@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_it_never_fails_and_answers_as_documented(case, staff_token):
    case.call_and_validate(
        headers={"Authorization": f"Token {staff_token}"},
        checks=[not_a_server_error, response_schema_conformance],
    )
