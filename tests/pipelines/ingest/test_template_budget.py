"""A mapping template that runs too long rejects its record with the reason; the request is
answered in bounded time and the other records go through."""

import time

from pipelines.runs.models import RecordError
from tests.helpers import make_connector, make_pipeline

# Output in every turn makes each turn cost a few microseconds, so the time budget runs out long
# before the sandbox's count of loop turns does.
SLOW = (
    "{% for i in range(10000) %}{% for j in range(10000) %}{{ i }}{{ j }}{% endfor %}{% endfor %}"
)


def box_with_template(orders, template: str):
    box = make_connector("mailbox", "Box", [{"name": "n", "type": "string"}])
    make_pipeline(orders, box, [{"target": "n", "template": template}])
    return box


def test_a_record_whose_template_runs_past_its_budget_is_rejected(orders, post, settings):
    settings.TEMPLATE_RENDER_BUDGET_MS = 10
    box = box_with_template(orders, "{% if order_id == 2 %}" + SLOW + "{% else %}ok{% endif %}")
    started = time.monotonic()
    response = post(
        orders, [{"order_id": 1, "email": "a@b.co"}, {"order_id": 2, "email": "c@d.co"}]
    )
    assert time.monotonic() - started < 20
    assert response.status_code == 202
    assert response.json()["accepted"] == 2  # by the source; the pipeline rejects one
    error = RecordError.objects.get()
    assert error.index == 1 and error.pipeline is not None
    assert "took longer than 10 ms" in error.errors[0]["message"]
    assert box.mailbox_records.count() == 1


def test_a_batch_shares_one_budget(orders, post, settings):
    settings.TEMPLATE_RENDER_BUDGET_MS = 10_000
    settings.TEMPLATE_BATCH_BUDGET_MS = 5
    box_with_template(orders, SLOW)
    started = time.monotonic()
    records = [{"order_id": n, "email": "a@b.co"} for n in range(1, 4)]
    assert post(orders, records).status_code == 202
    # Unbounded, the three records would take minutes; a loose bound for a busy machine.
    assert time.monotonic() - started < 20
    assert RecordError.objects.count() == 3
    assert all("this batch" in e.errors[0]["message"] for e in RecordError.objects.all())
