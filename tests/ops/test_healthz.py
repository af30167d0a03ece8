"""`/healthz`: 200 when the database, the broker and the workers are all alive, else 503 saying which."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_q.conf import Conf
from django_q.models import Success

from tests.crash.processes import free_port


def worker_finished_a_task(ago: timedelta) -> None:
    """What a qcluster worker leaves behind after running a task (here: the minute's sweep)."""
    when = timezone.now() - ago
    Success.objects.create(
        id=uuid.uuid4().hex,
        name="sweep",
        func="pipelines.delivery.tasks.sweep_deliveries",
        started=when - timedelta(milliseconds=40),
        stopped=when,
        success=True,
    )


def test_it_is_healthy_when_a_worker_finished_a_task_recently(db):
    worker_finished_a_task(ago=timedelta(seconds=30))

    response = Client().get("/healthz")

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"]
    assert body["checks"]["broker"]["ok"]
    workers = body["checks"]["workers"]
    assert workers["ok"] is True
    assert workers["last_task_at"] == Success.objects.get().stopped.isoformat()
    # The age is counted when the request is served: on a loaded CI box that can be a second or two later.
    assert 30 <= workers["age_seconds"] <= 35
    assert response["Cache-Control"] == "no-store"


def test_it_fails_when_no_worker_finished_a_task_for_too_long(db, settings):
    settings.HEALTHZ_WORKER_MAX_AGE_SECONDS = 180
    worker_finished_a_task(ago=timedelta(minutes=10))

    response = Client().get("/healthz")

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "failing"
    assert body["checks"]["database"]["ok"]
    assert body["checks"]["workers"]["ok"] is False
    assert "600 s" in body["checks"]["workers"]["error"]


def test_it_fails_before_any_worker_ever_ran(db):
    response = Client().get("/healthz")

    assert response.status_code == 503
    assert "qcluster" in response.json()["checks"]["workers"]["error"]


def test_it_fails_when_the_broker_is_unreachable(db, monkeypatch):
    worker_finished_a_task(ago=timedelta(seconds=5))
    # django-q2's own configuration, pointed at a Redis that is not there.
    monkeypatch.setattr(Conf, "ORM", None)
    monkeypatch.setattr(Conf, "REDIS", f"redis://127.0.0.1:{free_port()}/0")

    response = Client().get("/healthz")

    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["broker"]["ok"] is False
    assert "Connection" in checks["broker"]["error"]
    assert checks["database"]["ok"] and checks["workers"]["ok"]


def test_it_answers_plain_http_probes_when_everything_else_goes_to_https(db, settings):
    settings.SECURE_SSL_REDIRECT = True
    worker_finished_a_task(ago=timedelta(seconds=5))

    assert Client().get("/healthz").status_code == 200
    assert Client().get("/metrics").status_code == 200
    assert Client().get("/api/v1/schema/").status_code == 301


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_it_only_answers_get(db, method):
    assert getattr(Client(), method)("/healthz").status_code == 405
