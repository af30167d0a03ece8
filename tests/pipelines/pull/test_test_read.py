from __future__ import annotations

import pytest
from werkzeug import Request

from connectors.secrets import MASK
from mailbox.models import MailboxRecord
from pipelines.pull.sample import read_sample
from pipelines.runs.models import Run
from tests.helpers import make_connector
from tests.pipelines.pull.source_helpers import json_response, make_source, source_into_mailbox

CUSTOMERS = [
    {
        "id": i,
        "email": f"c{i}@example.com",
        "vip": i % 2 == 0,
        "balance": i * 1.5,
        "signed_up": f"2024-05-0{i}",
        "seen_at": f"2024-05-0{i}T10:00:00Z",
        "address": {"city": "London", "zip": f"EC{i}A 1BB"},
        "nickname": "c" if i == 1 else None,
    }
    for i in range(1, 6)
]


@pytest.fixture(autouse=True)
def _local(settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    settings.PULL_RETRY_BASE_SECONDS = 0


def two_per_page(request: Request):
    page = int(request.args["page"])
    return json_response({"data": CUSTOMERS[(page - 1) * 2 : page * 2]})


def test_it_reads_a_few_pages_and_infers_a_schema_storing_nothing(db, httpserver):
    httpserver.expect_request("/customers").respond_with_handler(two_per_page)
    source, box = source_into_mailbox(
        httpserver.url_for("/customers") + "?since={{ state.cursor }}",
        records_path="data",
        pagination={"type": "page", "size": 2},
        cursor_field="seen_at",
        state={"cursor": "2024-01-01"},
    )
    result = read_sample(source, pages=2)
    assert result["ok"] is True
    assert result["more"] is True  # a third page was due
    assert [r["response"]["status"] for r in result["requests"]] == [200, 200]
    assert result["requests"][1]["url"].endswith("/customers?since=2024-01-01&page=2&per_page=2")
    assert result["requests"][1]["records"] == 2
    assert result["record_count"] == 4
    assert [r["id"] for r in result["records"]] == [1, 2, 3, 4]
    assert {f["name"]: (f["type"], f["required"]) for f in result["schema"]} == {
        "id": ("integer", True),
        "email": ("email", True),
        "vip": ("boolean", True),
        "balance": ("number", True),
        "signed_up": ("date", True),
        "seen_at": ("datetime", True),
        "address.city": ("string", True),
        "address.zip": ("string", True),
        "nickname": ("string", False),
    }
    assert len(httpserver.log) == 2
    assert not Run.objects.exists()
    assert not MailboxRecord.objects.filter(mailbox=box).exists()
    source.refresh_from_db()
    assert source.state == {"cursor": "2024-01-01"}


def test_it_stops_at_the_last_page(db, httpserver):
    httpserver.expect_request("/customers").respond_with_handler(two_per_page)
    source = make_source(
        httpserver.url_for("/customers"),
        records_path="data",
        pagination={"type": "page", "size": 2},
    )
    result = read_sample(source, pages=5)
    assert (result["more"], result["record_count"], len(result["requests"])) == (False, 5, 3)


def test_secrets_are_masked_in_the_requests_shown(db, httpserver):
    httpserver.expect_request("/customers").respond_with_json(CUSTOMERS[:1])
    source = make_source(
        httpserver.url_for("/customers"), auth={"type": "bearer", "token": "tok-1"}
    )
    source.replace_headers(
        [
            {"name": "X-Key", "value": "k-9", "secret": True},
            {"name": "Accept", "value": "application/json"},
        ]
    )
    result = read_sample(source)
    assert result["requests"][0]["headers"] == {"X-Key": MASK, "Accept": "application/json"}
    assert result["auth"] == "bearer"
    assert "tok-1" not in str(result) and "k-9" not in str(result)


def test_a_failed_read_shows_the_error_and_the_response(db, httpserver):
    httpserver.expect_request("/customers").respond_with_json({"items": CUSTOMERS}, status=200)
    source = make_source(httpserver.url_for("/customers"), records_path="data")
    result = read_sample(source)
    assert result["ok"] is False
    assert "records_path 'data' not found" in result["error"]
    assert '"items"' in result["requests"][0]["response"]["excerpt"]
    assert result["records"] == [] and result["schema"] == []


def test_the_test_read_endpoint_answers_with_the_sample(api, httpserver):
    httpserver.expect_request("/customers").respond_with_handler(two_per_page)
    source = make_source(
        httpserver.url_for("/customers"),
        records_path="data",
        pagination={"type": "page", "size": 2},
    )
    response = api.post(f"/api/v1/connectors/{source.pk}/test-read/", {"pages": 1}, format="json")
    assert response.status_code == 200
    body = response.json()
    assert (body["ok"], body["more"], body["record_count"]) == (True, True, 2)
    assert body["schema"][0] == {"name": "id", "type": "integer", "required": True}
    assert not Run.objects.exists()


def test_the_test_read_endpoint_refuses_other_kinds_and_bad_page_counts(api, anonymous, httpserver):
    box = make_connector("mailbox", "Box")
    assert api.post(f"/api/v1/connectors/{box.pk}/test-read/").status_code == 400
    source = make_source(httpserver.url_for("/customers"))
    url = f"/api/v1/connectors/{source.pk}/test-read/"
    assert api.post(url, {"pages": 0}, format="json").status_code == 400
    assert api.post(url, {"pages": 11}, format="json").status_code == 400
    assert api.get(url).status_code == 405
    assert anonymous.post(url).status_code in (401, 403)
    assert len(httpserver.log) == 0
