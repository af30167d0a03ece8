"""An ingest endpoint deleted while its sender is sending: the delete goes through, and the
request caught in it is told the endpoint is gone (404), never a 500 on either side.

Django collects what a delete cascades to (the endpoint's runs) before it deletes. A run that a
sender committed in between used to fail the delete at commit, a 500 for the operator; and a
request stored just after the delete failed its own commit on the missing endpoint, a 500 for
the sender. The sender's request is sent here at that very moment: when the delete reads the
endpoint's runs."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test import Client

from connectors.models import Connector
from mailbox.models import MailboxRecord
from pipelines.runs.models import Run
from tests.helpers import make_connector, make_pipeline

RECORD = b'{"order_id": 1, "email": "a@example.com"}'


@pytest.mark.django_db(transaction=True)
def test_a_request_caught_in_its_endpoints_delete_is_404_and_the_delete_goes_through(orders, api):
    box = make_connector("mailbox", "Orders box", [{"name": "order_id", "type": "integer"}])
    make_pipeline(orders, box)
    sender = Client(raise_request_exception=False)
    answers = []

    def send():
        try:
            answers.append(
                sender.post(
                    f"/api/v1/ingest/{orders.slug}/",
                    RECORD,
                    content_type="application/json",
                    HTTP_AUTHORIZATION=f"Bearer {orders.token}",
                )
            )
        finally:
            connection.close()

    send()
    assert answers.pop().status_code == 202
    thread = threading.Thread(target=send)

    def send_while_runs_are_read(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if not thread.is_alive() and not answers and 'FROM "pipelines_run"' in sql:
            thread.start()
            # Enough for the request to commit, unless the delete holds it off.
            thread.join(timeout=2)
        return result

    api.raise_request_exception = False
    with connection.execute_wrapper(send_while_runs_are_read):
        deleted = api.delete(f"/api/v1/connectors/{orders.pk}/")
    thread.join()

    assert deleted.status_code == 204, deleted.content
    (answer,) = answers
    assert answer.status_code == 404, answer.content
    assert answer.json() == {
        "detail": "The ingest endpoint 'orders' was deleted; nothing was stored."
    }
    assert not Connector.objects.filter(pk=orders.pk).exists()
    assert not Run.objects.exists()
    # The first request's record was delivered to the mailbox, which stays; the second's was not.
    assert MailboxRecord.objects.filter(mailbox=box).count() == 1
