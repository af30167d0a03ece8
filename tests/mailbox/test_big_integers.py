from __future__ import annotations

import csv
import io

from django.db import transaction

from connectors import jsontext
from mailbox.models import append_records
from tests.helpers import make_connector

BIG = 123456789012345678901234567890


def test_the_csv_page_writes_integers_beyond_64_bits_exactly(db, poll):
    box = make_connector(
        "mailbox",
        "Ledger",
        [{"name": "entry_id", "type": "integer"}, {"name": "parts", "type": "json"}],
    )
    box.token = box.rotate_token()
    with transaction.atomic():
        append_records(box, [jsontext.dumps({"entry_id": BIG, "parts": [BIG, -BIG]})])

    response = poll(box, accept="text/csv")

    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows == [["entry_id", "parts"], [str(BIG), f"[{BIG},{-BIG}]"]]
