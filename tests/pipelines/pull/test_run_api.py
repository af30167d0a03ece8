from __future__ import annotations

import pytest

from pipelines.pull.models import PullLock
from pipelines.runs.models import Run
from tests.helpers import make_connector, make_pipeline
from tests.pipelines.pull.source_helpers import items, mailbox_ids, source_into_mailbox


@pytest.fixture(autouse=True)
def _local(settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True


def pipeline_of(source):
    return source.outgoing_pipelines.get()


def test_run_now_queues_a_pull_and_answers_202_with_the_run(
    api, httpserver, django_capture_on_commit_callbacks
):
    httpserver.expect_request("/items").respond_with_json(items(3))
    source, box = source_into_mailbox(httpserver.url_for("/items"))
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = api.post(f"/api/v1/pipelines/{pipeline_of(source).pk}/run/")
    assert response.status_code == 202
    run = Run.objects.get(pk=response.json()["run"])
    assert (run.trigger, run.status, run.source_id) == ("manual", "running", source.pk)
    assert len(httpserver.log) == 0  # nothing is called inside the web request

    for callback in queued:
        callback()  # the commit hands it to the workers (synchronous under tests)
    run.refresh_from_db()
    assert (run.status, run.received) == ("succeeded", 3)
    assert mailbox_ids(box) == [1, 2, 3]
    assert Run.objects.count() == 1


def test_run_now_is_refused_while_the_source_is_being_read(api, httpserver):
    source, _ = source_into_mailbox(httpserver.url_for("/items"))
    busy = Run.objects.create(source=source, trigger=Run.Trigger.SCHEDULE)
    PullLock.acquire(busy, lease_seconds=60)
    response = api.post(f"/api/v1/pipelines/{pipeline_of(source).pk}/run/")
    assert response.status_code == 409
    assert response.json()["run"] == busy.pk


def test_run_now_needs_an_http_source(api):
    ingest = make_connector("ingest_endpoint", "Orders")
    box = make_connector("mailbox", "Box")
    pipeline = make_pipeline(ingest, box)
    response = api.post(f"/api/v1/pipelines/{pipeline.pk}/run/")
    assert response.status_code == 400
    assert "only an HTTP source" in response.json()["detail"]
    assert not Run.objects.exists()


def test_run_now_needs_the_pipeline_enabled(api, httpserver):
    source, _ = source_into_mailbox(httpserver.url_for("/items"))
    pipeline_of(source).__class__.objects.update(enabled=False)
    response = api.post(f"/api/v1/pipelines/{pipeline_of(source).pk}/run/")
    assert response.status_code == 400


def test_run_now_is_for_signed_in_staff_and_post_only(api, anonymous, httpserver):
    source, _ = source_into_mailbox(httpserver.url_for("/items"))
    url = f"/api/v1/pipelines/{pipeline_of(source).pk}/run/"
    assert anonymous.post(url).status_code in (401, 403)
    assert api.get(url).status_code == 405
    assert api.post("/api/v1/pipelines/999999/run/").status_code == 404
    assert not Run.objects.exists()
