"""The consumers of a mailbox on its page and in the management API, and forgetting one."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import time_machine
from django.db import transaction
from django.test import Client
from rest_framework.test import APIClient

from connectors.api_tokens import ApiToken
from mailbox.models import ConsumerCursor, append_records

MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def deliver(mailbox, count: int) -> None:
    with transaction.atomic():
        append_records(mailbox, [f'{{"id": {n}}}' for n in range(1, count + 1)])


def known(mailbox) -> list[str]:
    return list(
        ConsumerCursor.objects.filter(mailbox=mailbox)
        .order_by("consumer")
        .values_list("consumer", flat=True)
    )


def csrf_token(page) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]


def test_it_shows_each_consumer_with_its_position_and_backlog(staff, outbox):
    with time_machine.travel(MONDAY, tick=False):
        deliver(outbox, 4)
        ConsumerCursor.register(outbox, "crm")
        ConsumerCursor.commit(outbox, "billing", 3)
    with time_machine.travel(MONDAY + timedelta(hours=3), tick=False):
        response = staff.get(f"/connectors/{outbox.pk}/")

    html = response.content.decode()
    rows = [(c.consumer, c.position, c.backlog) for c in response.context["consumers"]]
    assert rows == [("billing", 3, 1), ("crm", 0, 4)]
    assert "<h2>Consumers</h2>" in html
    assert '<td class="mono">billing</td>' in html and '<td class="num">#3</td>' in html
    assert "<td>3\xa0hours ago</td>" in html
    assert "<td>never</td>" in html
    assert html.count('value="billing"') == 1 and html.count('value="crm"') == 1


def test_it_says_when_no_system_has_read_the_mailbox_yet(staff, outbox):
    deliver(outbox, 1)

    response = staff.get(f"/connectors/{outbox.pk}/")

    assert "No system has read this mailbox yet" in response.content.decode()


def test_it_forgets_a_consumer_through_the_csrf_checked_form(alice, outbox):
    ConsumerCursor.register(outbox, "billing")
    ConsumerCursor.register(outbox, "crm")
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(alice)
    page = browser.get(f"/connectors/{outbox.pk}/")
    assert 'data-confirm="Forget billing?' in page.content.decode()

    forged = browser.post(f"/connectors/{outbox.pk}/forget-consumer/", {"consumer": "billing"})
    assert forged.status_code == 403
    assert known(outbox) == ["billing", "crm"]

    response = browser.post(
        f"/connectors/{outbox.pk}/forget-consumer/",
        {"consumer": "billing", "csrfmiddlewaretoken": csrf_token(page)},
        follow=True,
    )

    assert response.redirect_chain == [(f"/connectors/{outbox.pk}/", 302)]
    assert "Consumer “billing” forgotten: purges no longer wait for it." in (
        response.content.decode()
    )
    assert known(outbox) == ["crm"]


def test_it_says_so_when_the_consumer_is_unknown(staff, outbox):
    ConsumerCursor.register(outbox, "crm")

    response = staff.post(
        f"/connectors/{outbox.pk}/forget-consumer/", {"consumer": "billing"}, follow=True
    )

    assert "No consumer “billing” reads this mailbox." in response.content.decode()
    assert known(outbox) == ["crm"]


def test_a_user_without_staff_rights_cannot_forget_a_consumer(not_staff, outbox):
    ConsumerCursor.register(outbox, "billing")

    response = not_staff.post(f"/connectors/{outbox.pk}/forget-consumer/", {"consumer": "billing"})

    assert response.status_code == 403
    assert known(outbox) == ["billing"]


def test_only_a_mailbox_has_consumers_to_forget(staff, orders):
    response = staff.post(f"/connectors/{orders.pk}/forget-consumer/", {"consumer": "billing"})

    assert response.status_code == 404


def test_forgetting_takes_a_post(staff, outbox):
    ConsumerCursor.register(outbox, "billing")

    assert staff.get(f"/connectors/{outbox.pk}/forget-consumer/").status_code == 405
    assert known(outbox) == ["billing"]


def test_the_api_lists_the_consumers(api, outbox):
    with time_machine.travel(MONDAY, tick=False):
        deliver(outbox, 4)
        ConsumerCursor.commit(outbox, "billing", 3)
        ConsumerCursor.register(outbox, "crm")

    response = api.get(f"/api/v1/connectors/{outbox.pk}/consumers/")

    assert response.status_code == 200
    assert response.json() == {
        "consumers": [
            {
                "consumer": "billing",
                "position": 3,
                "backlog": 1,
                "updated_at": "2026-03-02T09:00:00Z",
            },
            {"consumer": "crm", "position": 0, "backlog": 4, "updated_at": None},
        ]
    }


def test_the_api_forgets_a_consumer(api, outbox):
    ConsumerCursor.register(outbox, "billing")
    ConsumerCursor.register(outbox, "crm")

    response = api.delete(f"/api/v1/connectors/{outbox.pk}/consumers/billing/")

    assert response.status_code == 204
    assert known(outbox) == ["crm"]
    again = api.delete(f"/api/v1/connectors/{outbox.pk}/consumers/billing/")
    assert again.status_code == 404


def test_the_api_answers_404_for_what_is_not_a_mailbox(api, orders, outbox):
    assert api.get(f"/api/v1/connectors/{orders.pk}/consumers/").status_code == 404
    assert api.delete(f"/api/v1/connectors/{orders.pk}/consumers/billing/").status_code == 404
    assert api.get(f"/api/v1/connectors/{outbox.pk + orders.pk}/consumers/").status_code == 404


def test_the_api_refuses_users_without_staff_rights(bob, anonymous, outbox):
    ConsumerCursor.register(outbox, "billing")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {ApiToken.issue(bob)[1]}")

    assert client.get(f"/api/v1/connectors/{outbox.pk}/consumers/").status_code == 403
    assert client.delete(f"/api/v1/connectors/{outbox.pk}/consumers/billing/").status_code == 403
    assert anonymous.get(f"/api/v1/connectors/{outbox.pk}/consumers/").status_code == 401
    assert known(outbox) == ["billing"]


def test_the_api_takes_get_and_delete_only(api, outbox):
    ConsumerCursor.register(outbox, "billing")

    assert api.post(f"/api/v1/connectors/{outbox.pk}/consumers/").status_code == 405
    assert api.get(f"/api/v1/connectors/{outbox.pk}/consumers/billing/").status_code == 405
    assert api.delete(f"/api/v1/connectors/{outbox.pk}/consumers/").status_code == 405
    assert known(outbox) == ["billing"]


def test_the_schema_documents_the_consumers_endpoints(api):
    schema = api.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()

    listing = schema["paths"]["/api/v1/connectors/{id}/consumers/"]["get"]
    forget = schema["paths"]["/api/v1/connectors/{id}/consumers/{name}/"]["delete"]
    consumer = schema["components"]["schemas"]["MailboxConsumer"]["properties"]
    assert set(consumer) == {"consumer", "position", "backlog", "updated_at"}
    assert (
        "MailboxConsumers"
        in listing["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    )
    assert set(forget["responses"]) == {"204", "404"}
