"""Structured logs: one line per run and per delivery attempt, with ids, in JSON when asked."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

from django.conf import settings as django_settings
from django.test import Client

from osmosproject.logs import JsonLinesFormatter
from pipelines.delivery.courier import deliver
from tests.helpers import make_connector, make_pipeline

FIELDS = [{"name": "id", "type": "integer", "required": True}]


def as_json(record: logging.LogRecord) -> dict:
    return json.loads(JsonLinesFormatter().format(record))


def test_it_logs_one_line_per_run_with_its_ids(db, caplog, django_capture_on_commit_callbacks):
    source = make_connector("ingest_endpoint", "Orders", FIELDS)
    token = source.rotate_token()
    caplog.set_level(logging.INFO, logger="superconnector")

    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post(
            f"/api/v1/ingest/{source.slug}/",
            [{"id": 1}, {"id": "x"}],
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )

    [line] = [r for r in caplog.records if r.name == "superconnector.runs"]
    entry = as_json(line)
    assert entry["event"] == "run"
    assert entry["run_id"] == response.json()["run"]
    assert entry["source_id"] == source.pk
    assert (entry["received"], entry["accepted"], entry["rejected"]) == (2, 1, 1)
    assert entry["status"] == "partial"
    assert f"run={entry['run_id']} source={source.pk}" in entry["message"]


def test_it_logs_one_line_per_delivery_attempt_with_its_ids(
    db, caplog, httpserver, settings, django_capture_on_commit_callbacks
):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    httpserver.expect_ordered_request("/hooks").respond_with_data("busy", status=503)
    httpserver.expect_ordered_request("/hooks").respond_with_data("ok")
    source = make_connector("ingest_endpoint", "Orders", FIELDS)
    token = source.rotate_token()
    destination = make_connector(
        "http_destination", "Hooks", FIELDS, url=httpserver.url_for("/hooks"), method="POST"
    )
    pipeline = make_pipeline(source, destination)
    caplog.set_level(logging.INFO, logger="superconnector")

    with django_capture_on_commit_callbacks(execute=True):
        Client().post(
            f"/api/v1/ingest/{source.slug}/",
            {"id": 7},
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
    delivery = pipeline.deliveries.get()
    with django_capture_on_commit_callbacks(execute=True):
        delivery.__class__.objects.filter(pk=delivery.pk).update(
            next_attempt_at=delivery.created_at
        )
        deliver(delivery.pk)

    attempts = [as_json(r) for r in caplog.records if r.name == "superconnector.deliveries"]
    assert [(a["attempt"], a["status"], a["http_status"]) for a in attempts] == [
        (1, "pending", 503),
        (2, "delivered", 200),
    ]
    for entry in attempts:
        assert entry["event"] == "delivery_attempt"
        assert entry["delivery_id"] == delivery.pk
        assert entry["pipeline_id"] == pipeline.pk
        assert entry["destination_id"] == destination.pk
        assert entry["run_id"] == delivery.run_id
        assert f"delivery={delivery.pk} attempt={entry['attempt']}" in entry["message"]
    assert attempts[0]["error"] == "HTTP 503"


def test_it_writes_json_lines_when_log_format_is_json():
    script = (
        "import logging, django; django.setup(); "
        "logging.getLogger('superconnector.runs').info('run=5 done', extra={'run_id': 5})"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=django_settings.BASE_DIR,
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "osmosproject.settings",
            "TESTING": "1",
            "LOG_FORMAT": "json",
        },
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    [line] = [line for line in result.stderr.splitlines() if line.startswith("{")]
    entry = json.loads(line)
    assert entry["message"] == "run=5 done"
    assert entry["run_id"] == 5
    assert entry["level"] == "INFO"
    assert entry["logger"] == "superconnector.runs"


def test_it_keeps_a_traceback_and_values_json_cannot_hold():
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord(
            "x", logging.ERROR, __file__, 1, "failed %s", ("here",), sys.exc_info()
        )
    record.when = object()

    entry = as_json(record)

    assert entry["message"] == "failed here"
    assert "ValueError: boom" in entry["exception"]
    assert entry["when"].startswith("<object object")


def test_a_refused_request_is_logged_without_its_query_string(db, caplog):
    # Django's own request logger passes the request along; with `?token=` allowed, its text
    # (method and full URL) carried the endpoint's credential into every JSON line of a 4xx.
    source = make_connector("ingest_endpoint", "Orders", FIELDS)
    token = source.rotate_token()
    source.verification = {"scheme": "token", "allow_query_token": True}
    source.save()
    caplog.set_level(logging.WARNING, logger="django.request")

    for accept in ("", "application/json; indent=2"):  # the ingest lane, and DRF's view
        response = Client().post(
            f"/api/v1/ingest/{source.slug}/?token={token}",
            "{not json",
            content_type="application/json",
            HTTP_ACCEPT=accept,
        )
        assert response.status_code == 400

    lines = [JsonLinesFormatter().format(r) for r in caplog.records if r.name == "django.request"]
    assert lines
    for line in lines:
        assert token not in line
        assert json.loads(line)["request"] == f"POST /api/v1/ingest/{source.slug}/"
