from __future__ import annotations

from pipelines.runs.models import Run


def test_it_accepts_one_json_object(orders, post):
    response = post(orders, {"order_id": 1, "email": "ada@example.com"})
    assert response.status_code == 202
    body = response.json()
    assert body == {"run": body["run"], "received": 1, "accepted": 1, "rejected": 0, "errors": []}
    assert Run.objects.get(pk=body["run"]).status == "succeeded"


def test_it_accepts_an_array_and_a_records_envelope(orders, post):
    records = [{"order_id": 1, "email": "a@example.com"}, {"order_id": 2, "email": "b@example.com"}]
    assert post(orders, records).json()["accepted"] == 2
    assert post(orders, {"records": records}).json()["accepted"] == 2


def test_it_accepts_ndjson(orders, post):
    body = (
        '{"order_id": 1, "email": "a@example.com"}\n\n{"order_id": 2, "email": "b@example.com"}\r\n'
    )
    response = post(orders, body, "application/x-ndjson")
    assert response.status_code == 202 and response.json()["accepted"] == 2


def test_it_accepts_csv_with_bom_quotes_and_crlf(orders, post):
    body = '\ufefforder_id,email,amount,paid,customer.name\r\n1,a@example.com,3.5,yes,"Lovelace, Ada"\r\n2,b@example.com,,,\r\n'
    response = post(orders, body.encode(), "text/csv")
    assert response.status_code == 202, response.json()
    assert response.json()["accepted"] == 2


def test_it_says_where_json_is_malformed(orders, post):
    response = post(orders, '[{"order_id": 1,\n "email": }]')
    assert response.status_code == 400
    assert response.json()["line"] == 2
    assert "line 2" in response.json()["detail"]


def test_it_says_which_ndjson_line_is_malformed(orders, post):
    response = post(orders, '{"order_id": 1}\n{"order_id": 2\n', "application/x-ndjson")
    assert response.status_code == 400
    assert response.json()["line"] == 2


def test_it_says_which_csv_row_is_malformed(orders, post):
    response = post(orders, "order_id,email\n1,a@example.com\n2,b@example.com,extra\n", "text/csv")
    assert response.status_code == 400
    assert "row 2" in response.json()["detail"].lower()


def test_it_refuses_other_content_types_naming_the_accepted_ones(orders, post):
    response = post(orders, "<xml/>", "application/xml")
    assert response.status_code == 415
    assert "text/csv" in response.json()["detail"]


def test_it_stores_nothing_for_a_refused_body(orders, post):
    post(orders, "not json")
    post(orders, "<xml/>", "application/xml")
    assert Run.objects.count() == 0


def test_it_refuses_a_body_over_the_limit_and_accepts_one_at_it(orders, post, settings):
    record = b'{"order_id": 1, "email": "a@example.com"}'
    settings.INGEST_MAX_BODY_BYTES = len(record)
    assert post(orders, record).status_code == 202
    settings.INGEST_MAX_BODY_BYTES = len(record) - 1
    response = post(orders, record)
    assert response.status_code == 413
    assert Run.objects.count() == 1


def test_it_refuses_too_many_records(orders, post, settings):
    settings.INGEST_MAX_RECORDS = 2
    records = [{"order_id": i, "email": "a@example.com"} for i in range(3)]
    assert post(orders, records).status_code == 413
    assert post(orders, records[:2]).status_code == 202


def test_a_content_length_that_is_not_a_length_is_400(orders, post):
    record = b'{"order_id": 1, "email": "a@example.com"}'
    for length in ("-5", "abc", "1.5"):
        response = post(orders, record, CONTENT_LENGTH=length)
        assert response.status_code == 400, (length, response.content)
        assert response.json() == {"detail": "Content-Length is not a size in bytes."}
    assert not Run.objects.exists()
