from __future__ import annotations

import csv
import io

import orjson

from tests.mailbox.conftest import put


def test_ndjson_is_one_record_per_line_with_the_cursor_in_headers(outbox, poll):
    put(
        outbox, {"order_id": 1, "email": "a@example.com"}, {"order_id": 2, "email": "b@example.com"}
    )
    put(outbox, {"order_id": 3, "email": "c@example.com"})

    response = poll(outbox, accept="application/x-ndjson", limit=2)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/x-ndjson"
    lines = response.content.decode().splitlines()
    assert [orjson.loads(line) for line in lines] == [
        {"order_id": 1, "email": "a@example.com"},
        {"order_id": 2, "email": "b@example.com"},
    ]
    assert response["X-Has-More"] == "true"
    rest = poll(outbox, accept="application/x-ndjson", after=response["X-Next-Cursor"])
    assert [orjson.loads(line)["order_id"] for line in rest.content.splitlines()] == [3]
    assert rest["X-Has-More"] == "false"


def test_csv_has_the_schemas_fields_as_columns(outbox, poll):
    put(
        outbox,
        {"order_id": 1, "email": "a@example.com", "customer": {"name": "Alice, Ltd"}, "paid": True},
        {"order_id": 2, "email": "b@example.com"},
    )

    response = poll(outbox, accept="text/csv")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [
        ["order_id", "email", "customer.name", "paid"],
        ["1", "a@example.com", "Alice, Ltd", "true"],
        ["2", "b@example.com", "", ""],
    ]
    assert response["X-Has-More"] == "false" and response["X-Next-Cursor"]


def test_an_empty_csv_page_still_has_its_header_row(outbox, poll):
    response = poll(outbox, accept="text/csv")

    assert response.content.decode().splitlines() == ["order_id,email,customer.name,paid"]


def test_json_is_the_default_and_carries_the_headers_too(outbox, poll):
    put(outbox, {"order_id": 1, "email": "a@example.com"})

    response = poll(outbox, accept="*/*")

    assert response["Content-Type"] == "application/json"
    assert response.json()["next"] == response["X-Next-Cursor"]


def test_format_may_be_chosen_in_the_query(outbox, poll):
    put(outbox, {"order_id": 1, "email": "a@example.com"})

    response = poll(outbox, accept="*/*", format="ndjson")

    assert response["Content-Type"] == "application/x-ndjson"


def test_an_unsupported_accept_is_406_in_json(outbox, poll):
    response = poll(outbox, accept="application/xml")

    assert response.status_code == 406
    assert response["Content-Type"] == "application/json"


def test_errors_are_json_whatever_format_was_asked(outbox, poll):
    response = poll(outbox, accept="text/csv", limit="5000")

    assert response.status_code == 400
    assert response["Content-Type"] == "application/json"
    assert response.json()["param"] == "limit"


def test_the_stored_json_text_is_passed_on_byte_for_byte(outbox, poll):
    # Splicing, not re-encoding: unicode and number spellings come back as they were stored.
    put(outbox, {"order_id": 1, "email": "a@example.com", "customer": {"name": "Zoë 🚀"}})

    response = poll(outbox, accept="application/x-ndjson")

    assert (
        response.content
        == orjson.dumps({"order_id": 1, "email": "a@example.com", "customer": {"name": "Zoë 🚀"}})
        + b"\n"
    )
    assert '"data":{"order_id":1,' in poll(outbox).content.decode()
