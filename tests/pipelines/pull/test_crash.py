"""A failure after a page is fetched and before it is committed must never make the next run skip it."""

from __future__ import annotations

import pytest
from django.db import connection
from werkzeug import Request

from pipelines.pull.runs import pull
from tests.pipelines.pull.source_helpers import json_response, mailbox_ids, source_into_mailbox

RECORDS = [
    {"id": i, "name": f"n{i}", "updated_at": f"2024-05-{i:02d}T00:00:00+00:00"} for i in range(1, 7)
]

# A trigger that makes the database refuse the mailbox row of record 4, in each dialect.
CREATE_TRIGGER = {
    "sqlite": [
        "CREATE TRIGGER refuse_four BEFORE INSERT ON mailbox_mailboxrecord "
        "WHEN NEW.data LIKE '%\"id\":4%' BEGIN SELECT RAISE(ABORT, 'disk full'); END"
    ],
    "postgresql": [
        "CREATE FUNCTION refuse_four() RETURNS trigger AS $$ BEGIN "
        "IF NEW.data LIKE '%\"id\":4%' THEN RAISE EXCEPTION 'disk full'; END IF; "
        "RETURN NEW; END $$ LANGUAGE plpgsql",
        "CREATE TRIGGER refuse_four BEFORE INSERT ON mailbox_mailboxrecord "
        "FOR EACH ROW EXECUTE FUNCTION refuse_four()",
    ],
}
DROP_TRIGGER = {
    "sqlite": ["DROP TRIGGER IF EXISTS refuse_four"],
    "postgresql": [
        "DROP TRIGGER IF EXISTS refuse_four ON mailbox_mailboxrecord",
        "DROP FUNCTION IF EXISTS refuse_four()",
    ],
}


def run_sql(statements: dict[str, list[str]]) -> None:
    with connection.cursor() as cursor:
        for statement in statements[connection.vendor]:
            cursor.execute(statement)


@pytest.fixture(autouse=True)
def _local(settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True


@pytest.fixture
def failing_mailbox_writes(db):
    """A real failure inside the page's transaction: the database refuses record 4."""
    run_sql(CREATE_TRIGGER)
    yield
    run_sql(DROP_TRIGGER)


def paged_by_cursor(request: Request):
    since = request.args.get("since", "")
    fresh = [r for r in RECORDS if r["updated_at"] > since]
    page = int(request.args["page"])
    return json_response(fresh[(page - 1) * 2 : page * 2])


def test_a_crash_mid_run_re_reads_rather_than_skips(db, httpserver, failing_mailbox_writes):
    httpserver.expect_request("/orders").respond_with_handler(paged_by_cursor)
    source, box = source_into_mailbox(
        httpserver.url_for("/orders") + "?since={{ state.cursor }}",
        pagination={"type": "page", "size": 2, "size_param": ""},
        cursor_field="updated_at",
    )
    crashed = pull(source)
    assert crashed.status == "failed"
    assert "disk full" in crashed.error
    assert crashed.detail["page"] == 2
    assert (crashed.pages, crashed.received) == (1, 2)  # page 2 was rolled back whole
    assert mailbox_ids(box) == [1, 2]
    source.refresh_from_db()
    assert source.state == {}  # records 5 and 6 were never read: the cursor must not pass 4

    run_sql(DROP_TRIGGER)
    again = pull(source)
    assert again.status == "succeeded"
    assert sorted(set(mailbox_ids(box))) == [1, 2, 3, 4, 5, 6]
    source.refresh_from_db()
    assert source.state["cursor"] == "2024-05-06T00:00:00+00:00"


def test_with_a_primary_key_the_re_read_stores_nothing_twice(
    db, httpserver, failing_mailbox_writes
):
    httpserver.expect_request("/orders").respond_with_handler(paged_by_cursor)
    source, box = source_into_mailbox(
        httpserver.url_for("/orders") + "?since={{ state.cursor }}",
        pagination={"type": "page", "size": 2, "size_param": ""},
        cursor_field="updated_at",
        primary_key="id",
    )
    assert pull(source).status == "failed"
    run_sql(DROP_TRIGGER)
    again = pull(source)
    assert mailbox_ids(box) == [1, 2, 3, 4, 5, 6]
    assert again.detail["duplicates"] == 2
