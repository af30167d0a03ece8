"""The ingest lane answers a sender exactly as the DRF view does, and takes only what it can.

Each request is sent twice: as senders send it (`Accept` absent: the lane answers) and with an
`Accept` the lane leaves to DRF's negotiation (the whole middleware stack and `IngestView`).
Status, body and headers must match, run ids aside.
"""

from __future__ import annotations

import json
import time

import pytest
from django.test import Client

from connectors.verification import clean_verification, sign_example
from mailbox.models import MailboxRecord
from pipelines.runs.models import Run
from tests.helpers import VERIFICATION_SETTINGS, make_connector, make_pipeline

FIELDS = [
    {"name": "order_id", "type": "integer", "required": True},
    {"name": "email", "type": "string"},
]
# Negotiated by DRF to the same JSON renderer, but not one of the lane's plain Accepts.
NEGOTIATED = "application/json, */*;q=0.1"
# Set per response, not by what was sent.
VARYING_HEADERS = {"Date", "Retry-After"}


@pytest.fixture
def endpoint(db):
    source = make_connector("ingest_endpoint", "Orders", FIELDS)
    box = make_connector("mailbox", "Box", FIELDS)
    make_pipeline(source, box, [{"source": "order_id", "target": "order_id"}])
    return source


def send(connector, body, *, lane: bool, content_type="application/json", **headers):
    if not lane:
        headers["Accept"] = NEGOTIATED
    return Client().generic(
        "POST",
        f"/api/v1/ingest/{connector.slug}/",
        body if isinstance(body, bytes) else json.dumps(body).encode(),
        content_type=content_type,
        headers=headers,
    )


def answered_by_lane(response) -> bool:
    # AuthenticationMiddleware, behind the lane, gives every request it sees a user.
    return not hasattr(response.wsgi_request, "user")


def comparable(response) -> tuple:
    body = response.content
    if response.headers.get("Content-Type") == "application/json" and body:
        data = response.json()
        if isinstance(data, dict) and data.get("run") is not None:
            data["run"] = "<run>"
        body = data
    headers = {k: v for k, v in response.headers.items() if k not in VARYING_HEADERS}
    if "Content-Length" in headers:
        # Right for each answer, but two run ids may differ in their number of digits.
        assert headers["Content-Length"] == str(len(response.content))
        headers["Content-Length"] = "<length>"
    return response.status_code, body, headers


def assert_same_answer(first, second):
    assert answered_by_lane(first) and not answered_by_lane(second)
    assert comparable(first) == comparable(second)


def token_of(connector) -> dict:
    return {"Authorization": f"Bearer {connector.rotate_token()}"}


def test_accepted_records_are_answered_and_stored_alike(endpoint):
    auth = token_of(endpoint)
    by_lane = send(endpoint, {"order_id": 1, "email": "a@example.com"}, lane=True, **auth)
    by_view = send(endpoint, {"order_id": 2, "email": "b@example.com"}, lane=False, **auth)
    assert by_lane.status_code == 202
    assert_same_answer(by_lane, by_view)
    stored = MailboxRecord.objects.values_list("data", flat=True)
    assert sorted(json.loads(data)["order_id"] for data in stored) == [1, 2]
    assert Run.objects.filter(source=endpoint).count() == 2


@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        ([{"order_id": "x"}, {"email": "no id"}], "application/json", 202),
        (b'{"order_id": 1', "application/json", 400),
        (b"order_id\n1\n", "text/csv; charset=latin-1", 415),
        (b"<order/>", "application/xml", 415),
    ],
    ids=["rejected-records", "malformed-json", "unsupported-charset", "unsupported-type"],
)
def test_bad_bodies_are_answered_alike(endpoint, body, content_type, status):
    auth = token_of(endpoint)
    by_lane = send(endpoint, body, lane=True, content_type=content_type, **auth)
    by_view = send(endpoint, body, lane=False, content_type=content_type, **auth)
    assert by_lane.status_code == status, by_lane.content
    assert_same_answer(by_lane, by_view)


def test_a_wrong_token_is_answered_alike_and_stores_nothing(endpoint):
    by_lane = send(endpoint, {"order_id": 1}, lane=True, Authorization="Bearer sc_wrong")
    by_view = send(endpoint, {"order_id": 1}, lane=False, Authorization="Bearer sc_wrong")
    assert by_lane.status_code == 401
    assert by_lane.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    assert_same_answer(by_lane, by_view)
    assert not Run.objects.exists()


def test_a_bad_signature_is_answered_alike(endpoint):
    endpoint.verification = clean_verification(VERIFICATION_SETTINGS["github"])
    endpoint.save()
    body = json.dumps({"order_id": 1}).encode()
    headers = sign_example(endpoint.verification, body + b" ", 0)
    by_lane = send(endpoint, body, lane=True, **headers)
    by_view = send(endpoint, body, lane=False, **headers)
    assert by_lane.status_code == 401
    assert by_lane.headers["WWW-Authenticate"].startswith("Signature")
    assert_same_answer(by_lane, by_view)


def test_a_body_over_the_limit_is_answered_alike(endpoint, settings):
    settings.INGEST_MAX_BODY_BYTES = 10
    auth = token_of(endpoint)
    by_lane = send(endpoint, {"order_id": 123456789}, lane=True, **auth)
    by_view = send(endpoint, {"order_id": 123456789}, lane=False, **auth)
    assert by_lane.status_code == 413
    assert_same_answer(by_lane, by_view)


def test_a_disabled_endpoint_is_answered_alike(endpoint):
    auth = token_of(endpoint)
    endpoint.enabled = False
    endpoint.save()
    by_lane = send(endpoint, {"order_id": 1}, lane=True, **auth)
    by_view = send(endpoint, {"order_id": 1}, lane=False, **auth)
    assert by_lane.status_code == 403
    assert_same_answer(by_lane, by_view)


def test_the_rate_limit_is_shared_and_answered_alike(endpoint):
    auth = token_of(endpoint)
    endpoint.throttle_rate = "1/min"
    endpoint.save()
    assert send(endpoint, {"order_id": 1}, lane=True, **auth).status_code == 202
    by_lane = send(endpoint, {"order_id": 2}, lane=True, **auth)
    by_view = send(endpoint, {"order_id": 3}, lane=False, **auth)
    assert by_lane.status_code == 429
    assert 0 < int(by_lane.headers["Retry-After"]) <= 60
    assert by_view.headers["Retry-After"]
    assert_same_answer(by_lane, by_view)


def test_an_idempotent_repeat_is_replayed_alike(endpoint):
    auth = token_of(endpoint)
    first = send(endpoint, {"order_id": 1}, lane=True, **{"Idempotency-Key": "k-1"}, **auth)
    by_lane = send(endpoint, {"order_id": 1}, lane=True, **{"Idempotency-Key": "k-1"}, **auth)
    by_view = send(endpoint, {"order_id": 1}, lane=False, **{"Idempotency-Key": "k-1"}, **auth)
    assert by_lane.headers["Idempotent-Replayed"] == "true"
    assert by_lane.json() == first.json()
    assert_same_answer(by_lane, by_view)
    assert Run.objects.count() == 1


def test_slacks_handshake_is_answered_alike(endpoint):
    endpoint.verification = clean_verification(VERIFICATION_SETTINGS["slack"])
    endpoint.save()
    body = json.dumps({"type": "url_verification", "challenge": "c-123"}).encode()
    by_lane = send(
        endpoint, body, lane=True, **sign_example(endpoint.verification, body, time.time())
    )
    by_view = send(
        endpoint, body, lane=False, **sign_example(endpoint.verification, body, time.time())
    )
    assert by_lane.json() == {"challenge": "c-123"}
    assert_same_answer(by_lane, by_view)


def test_what_the_lane_cannot_answer_passes_on(endpoint, client):
    auth = token_of(endpoint)
    # An unknown slug: the view's 404.
    unknown = client.post("/api/v1/ingest/nobody/", {}, content_type="application/json")
    assert unknown.status_code == 404 and not answered_by_lane(unknown)
    # Another method: the subscription check, or 405.
    assert not answered_by_lane(client.get(f"/api/v1/ingest/{endpoint.slug}/"))
    # An Accept DRF must negotiate: HTML is not JSON.
    html = send(endpoint, {"order_id": 1}, lane=True, Accept="text/html", **auth)
    assert not answered_by_lane(html)
    # The published schema is not a POST of records.
    schema = client.get(f"/api/v1/ingest/{endpoint.slug}/schema/", headers=auth)
    assert schema.status_code == 200 and not answered_by_lane(schema)


def test_a_host_outside_allowed_hosts_is_refused_by_the_lane_too(endpoint, settings):
    settings.ALLOWED_HOSTS = ["connector.example.com"]
    response = send(endpoint, {"order_id": 1}, lane=True, **token_of(endpoint))
    assert response.status_code == 400
    assert not Run.objects.exists()
