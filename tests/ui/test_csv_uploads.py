"""CSV uploads: previewed against the schema, processed by a worker in chunks, rejected rows fixed."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile

from pipelines.runs.models import RecordError, Run
from pipelines.uploads import processing as uploads
from pipelines.uploads.models import Upload


def csv_file(text: str, name: str = "orders.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def test_it_previews_the_first_rows_against_the_schema(staff, orders):
    response = staff.post(
        f"/connectors/{orders.pk}/upload/preview/",
        {
            "head": "order_id,email,extra\n1,a@example.com,z\nx,b@example.com,z\n3,c@exa",
            "complete": "",
        },
    )
    preview = response.context["preview"]
    assert [row["ok"] for row in preview["rows"]] == [True, False]
    assert preview["rows"][1]["cells"][0]["error"]
    assert preview["extra"] == ["extra"]


def test_it_processes_an_upload_and_reports_the_rejected_rows(
    staff, orders, orders_to_outbox, outbox
):
    response = staff.post(
        f"/connectors/{orders.pk}/upload/start/",
        {"file": csv_file("order_id,email\n1,a@example.com\nx,b@example.com\n3,c@example.com\n")},
        HTTP_X_REQUESTED_WITH="fetch",
    )
    upload = Upload.objects.get()
    assert response.status_code == 202
    assert response.json()["progress_url"] == f"/uploads/{upload.pk}/progress/"
    progress = staff.get(f"/uploads/{upload.pk}/progress/").json()
    assert (progress["status"], progress["processed_rows"], progress["percent"]) == ("done", 3, 100)
    run = Run.objects.get(trigger=Run.Trigger.UPLOAD)
    assert (run.received, run.accepted, run.rejected, run.status) == (3, 2, 1, "partial")
    assert outbox.mailbox_records.count() == 2
    page = staff.get(f"/uploads/{upload.pk}/")
    assert [c["text"] for c in page.context["grid"][0]["cells"]][:2] == ["x", "b@example.com"]
    upload.refresh_from_db()
    assert upload.content == ""


def test_it_fixes_a_rejected_row_and_resubmits_it(staff, orders, orders_to_outbox, outbox):
    staff.post(
        f"/connectors/{orders.pk}/upload/start/",
        {"file": csv_file("order_id,email\nx,b@example.com\n")},
    )
    error = RecordError.objects.get()
    staff.post(
        f"/runs/{error.run_id}/resend/",
        {"columns": '["order_id", "email"]', "all": "1", f"r{error.pk}-c0": "2"},
    )
    assert outbox.mailbox_records.count() == 1
    assert Run.objects.get(trigger=Run.Trigger.RESEND).accepted == 1


def test_it_processes_a_large_file_in_chunks(staff, orders, orders_to_outbox, outbox, monkeypatch):
    monkeypatch.setattr(uploads, "CHUNK_ROWS", 100)
    rows = "".join(f"{i},user{i}@example.com\n" for i in range(1, 251))
    staff.post(
        f"/connectors/{orders.pk}/upload/start/", {"file": csv_file("order_id,email\n" + rows)}
    )
    run = Run.objects.get(trigger=Run.Trigger.UPLOAD)
    assert (run.received, run.accepted, run.status) == (250, 250, "succeeded")
    assert run.stats.get().accepted == 250
    assert list(outbox.mailbox_records.values_list("seq", flat=True))[-1] == 250


def test_it_says_why_a_file_cannot_be_read(staff, orders):
    staff.post(f"/connectors/{orders.pk}/upload/start/", {"file": csv_file('a,b\n"unclosed\n')})
    upload = Upload.objects.get()
    assert upload.status == "failed"
    assert upload.error
    assert not Run.objects.exists()


def test_it_refuses_a_file_with_an_invalid_row_for_an_all_or_nothing_source(staff, orders):
    orders.all_or_nothing = True
    orders.save()
    staff.post(
        f"/connectors/{orders.pk}/upload/start/",
        {"file": csv_file("order_id,email\n1,a@example.com\nx,b@example.com\n")},
    )
    upload = Upload.objects.get()
    assert upload.status == "failed"
    assert "row 2, order_id" in upload.error
    assert not Run.objects.exists()


def test_it_asks_for_a_file(staff, orders):
    response = staff.post(
        f"/connectors/{orders.pk}/upload/start/", {}, HTTP_X_REQUESTED_WITH="fetch"
    )
    assert response.status_code == 400
    assert response.json() == {"error": "Choose a CSV file to upload."}
