"""Records nested deeper than MAX_JSON_DEPTH are refused where they enter, naming the record."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from connectors import jsontext
from connectors.formats import BodyError, parse_records, parse_response_records
from connectors.forms import SampleRecordForm
from connectors.jsontext import MAX_JSON_DEPTH
from tests.helpers import make_connector


def nested(depth: int, inner: object = 1) -> object:
    """A record whose containers nest `depth` levels deep: {"a": {"a": ... 1}}."""
    value = inner
    for _ in range(depth):
        value = {"a": value}
    return value


def nested_text(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


@pytest.fixture
def orders(db):
    connector = make_connector(
        "ingest_endpoint", "Orders", [{"name": "order_id", "type": "integer", "required": True}]
    )
    connector.token = connector.rotate_token()
    return connector


def ingest(connector, body: str, content_type: str = "application/json"):
    return Client().generic(
        "POST",
        f"/api/v1/ingest/{connector.slug}/",
        body,
        content_type=content_type,
        HTTP_AUTHORIZATION=f"Bearer {connector.token}",
    )


def test_it_answers_400_naming_the_record_for_a_record_1000_levels_deep(orders):
    deep = '{"order_id": 1, "x": ' + nested_text(999) + "}"
    response = ingest(orders, "[" + deep + "]")
    assert response.status_code == 400
    assert response.json() == {
        "detail": f"Record 0 is nested more than {MAX_JSON_DEPTH} levels deep",
        "index": 0,
        "max_depth": MAX_JSON_DEPTH,
    }


def test_it_names_the_ndjson_line_of_a_deep_record(orders):
    body = '{"order_id": 1}\n\n' + '{"order_id": 2, "x": ' + nested_text(300) + "}\n"
    response = ingest(orders, body, "application/x-ndjson")
    assert response.status_code == 400
    assert response.json()["index"] == 1 and response.json()["line"] == 3
    assert response.json()["detail"].startswith("Record 1 (NDJSON line 3) is nested more than")


def test_it_accepts_a_record_exactly_at_the_limit(orders):
    response = ingest(orders, json.dumps([{"order_id": 1, "x": nested(MAX_JSON_DEPTH - 1)}]))
    assert response.status_code == 202, response.json()
    assert response.json()["accepted"] == 1


@pytest.mark.parametrize(
    "records",
    [
        [nested(MAX_JSON_DEPTH + 1)],
        [{"ok": 1}, {"ok": 2}, {"list": [nested(MAX_JSON_DEPTH)]}],
        [{"big": 2**70, "x": nested(MAX_JSON_DEPTH)}],  # orjson cannot write it: the slow path
    ],
)
def test_it_finds_the_first_record_over_the_limit(records):
    index = len(records) - 1
    with pytest.raises(BodyError) as error:
        parse_records(jsontext.dumps(records).encode(), "application/json")
    assert error.value.status == 400 and error.value.detail["index"] == index


def test_it_measures_lists_and_objects_alike():
    assert not jsontext.nesting_exceeds(nested(MAX_JSON_DEPTH))
    assert jsontext.nesting_exceeds(nested(MAX_JSON_DEPTH + 1))
    assert not jsontext.nesting_exceeds([[[]]], 3)
    assert jsontext.nesting_exceeds([[[[]]]], 3)
    assert not jsontext.nesting_exceeds([{"a": [1, 2**70]}], 3)
    assert jsontext.nesting_exceeds([{"a": [[2**70]]}], 3)


def test_it_refuses_a_deep_record_in_an_http_source_response():
    body = json.dumps({"data": [{"id": 1}, nested(MAX_JSON_DEPTH + 1)]}).encode()
    with pytest.raises(BodyError) as error:
        parse_response_records(body, "application/json", "data")
    assert error.value.detail["index"] == 1


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1000])
def test_the_sample_record_form_refuses_a_deep_record(depth):
    form = SampleRecordForm({"record": nested_text(depth)})
    assert not form.is_valid()
    assert form.errors["record"] == [
        f"The record is nested more than {MAX_JSON_DEPTH} levels deep."
    ]


def test_the_management_api_answers_400_for_a_document_1000_levels_deep(api):
    response = api.generic(
        "POST",
        "/api/v1/connectors/",
        '{"name": "x", "kind": "mailbox", "variables": ' + nested_text(1000) + "}",
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "nested more than" in response.json()["detail"]


def test_the_mailbox_ack_answers_400_for_a_document_1000_levels_deep(db):
    mailbox = make_connector("mailbox", "Out")
    token = mailbox.rotate_token()
    response = Client().generic(
        "POST",
        f"/api/v1/mailbox/{mailbox.slug}/ack/",
        '{"cursor": ' + nested_text(1000) + "}",
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
    )
    assert response.status_code == 400
    assert "nested more than" in response.json()["detail"]
