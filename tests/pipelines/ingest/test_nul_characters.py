"""A NUL character in a record is data, on every database (PostgreSQL's jsonb refuses it raw)."""

from mailbox.models import MailboxRecord
from pipelines.runs.models import RecordError
from tests.helpers import make_connector, make_pipeline


def test_records_with_nul_characters_are_stored_accepted_or_rejected(orders, post):
    box = make_connector("mailbox", "Box", [{"name": "name", "type": "string"}])
    make_pipeline(orders, box, [{"target": "name", "source": "customer.name"}])
    response = post(
        orders,
        [
            {"order_id": 1, "email": "a@b.co", "customer": {"name": "Ada\u0000"}},
            {"order_id": "not a number\u0000", "email": "c@d.co"},
        ],
    )
    assert response.status_code == 202, response.content
    assert response.json()["accepted"] == 1
    assert "\\u0000" in MailboxRecord.objects.get().data  # JSON text holds the escape
    assert RecordError.objects.get().record["order_id"].startswith("not a number")
