from __future__ import annotations

from tests.helpers import make_connector, make_pipeline


def test_it_lists_runs_with_counts_and_filters(api, orders, post):
    box = make_connector("mailbox", "Box", [{"name": "email", "type": "email"}])
    pipeline = make_pipeline(orders, box)
    other = make_connector("ingest_endpoint", "Other", [])
    other.token = other.rotate_token()
    first = post(
        orders,
        [{"order_id": 1, "email": "a@example.com"}, {"order_id": "x", "email": "b@example.com"}],
    )
    post(other, [{"a": 1}])
    runs = api.get(f"/api/v1/runs/?pipeline={pipeline.pk}").json()["results"]
    assert [r["id"] for r in runs] == [first.json()["run"]]
    run = runs[0]
    assert (run["received"], run["accepted"], run["rejected"], run["delivered"]) == (2, 1, 1, 1)
    assert run["status"] == "partial" and run["trigger"] == "ingest"
    assert run["pipelines"] == [
        {"pipeline": pipeline.pk, "accepted": 1, "rejected": 0, "delivered": 1, "failed": 0}
    ]
    assert api.get(f"/api/v1/runs/?source={other.pk}").json()["count"] == 1
    assert api.get("/api/v1/runs/?status=partial").json()["count"] == 1


def test_it_lists_a_runs_rejected_records_whole(api, orders, post):
    run = post(orders, [{"order_id": "x", "email": "a@example.com", "extra": True}]).json()["run"]
    body = api.get(f"/api/v1/runs/{run}/errors/").json()
    assert body["count"] == 1
    error = body["results"][0]
    assert error["record"] == {"order_id": "x", "email": "a@example.com", "extra": True}
    assert error["index"] == 0 and error["errors"][0]["field"] == "order_id"


def test_an_unknown_run_is_404(api):
    assert api.get("/api/v1/runs/999/").status_code == 404


def test_an_id_filter_that_is_no_id_is_a_400_naming_it(api):
    for path in ("/api/v1/runs/", "/api/v1/deliveries/"):
        for value in ("abc", "²", "-1", str(2**70)):
            response = api.get(path, {"pipeline": value})
            assert response.status_code == 400, (path, value)
            assert "pipeline" in response.json()
    assert api.get("/api/v1/deliveries/", {"run": str(2**64)}).status_code == 400
    assert api.get("/api/v1/runs/", {"source": "7"}).status_code == 200


def test_the_pages_ignore_an_id_filter_that_is_no_id(client, alice):
    client.force_login(alice)
    for value in ("abc", "²", str(2**70)):
        assert client.get("/runs/", {"pipeline": value}).status_code == 200
        assert client.get("/deliveries/", {"pipeline": value}).status_code == 200
