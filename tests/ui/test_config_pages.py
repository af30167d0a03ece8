"""The configuration pages: presets on the kind picker, starting from one, YAML download and
upload with a plan before anything changes."""

from django.core.files.uploadedfile import SimpleUploadedFile

from connectors.models import Connector
from pipelines.mapping.models import Pipeline
from tests.helpers import make_connector

BOX = "connectors:\n  - {slug: box, name: Box, kind: mailbox, schema: {fields: []}}\n"


def test_the_picker_lists_the_presets(staff):
    page = staff.get("/connectors/new/").content.decode()
    assert "Start from a preset" in page
    assert 'href="/connectors/presets/slack-incoming-webhook/"' in page
    assert 'data-filter="#preset-list"' in page


def test_a_preset_form_shows_its_inputs_and_creates_the_connectors(staff):
    page = staff.get("/connectors/presets/customerio-transactional-email/").content.decode()
    assert 'type="password" id="input-app_api_key"' in page
    assert 'value="https://api.customer.io"' in page  # a default, prefilled
    response = staff.post(
        "/connectors/presets/customerio-transactional-email/",
        {
            "app_api_key": "cio-1",
            "transactional_message_id": "3",
            "base_url": "https://api.customer.io",
        },
    )
    destination = Connector.objects.get(slug="customerio-transactional-email")
    assert response.status_code == 302
    assert response["Location"] == f"/connectors/{destination.pk}/"
    assert Pipeline.objects.get().destination == destination
    # The ingest endpoint's token waits for its page, shown once there.
    source = Connector.objects.get(slug="customerio-email-requests")
    first = staff.get(f"/connectors/{source.pk}/").content.decode()
    assert "Copy this token now" in first
    assert "Copy this token now" not in staff.get(f"/connectors/{source.pk}/").content.decode()


def test_a_preset_form_names_what_is_missing_and_keeps_what_was_typed(staff):
    response = staff.post(
        "/connectors/presets/customerio-transactional-email/",
        {"app_api_key": "secret-typed", "transactional_message_id": ""},
    )
    page = response.content.decode()
    assert response.status_code == 200
    # Next to its field, in the person's words: not the document path "inputs.<name>".
    field = page[page.index('id="input-transactional_message_id"') :]
    assert field.index('<ul class="errorlist" id="error-transactional_message_id"') < 300
    assert "<li>Enter Transactional message id.</li>" in field
    assert "inputs.transactional_message_id" not in page
    assert "see the messages next to the fields" in page
    assert "secret-typed" not in page  # a secret is never echoed back
    assert not Connector.objects.exists()
    assert staff.get("/connectors/presets/nope/").status_code == 404


def test_download_the_workspace_or_one_connector(staff):
    make_connector("mailbox", "One")
    make_connector("mailbox", "Two")
    whole = staff.get("/config/download/")
    assert whole["Content-Disposition"] == 'attachment; filename="workspace.yaml"'
    assert "slug: one" in whole.content.decode() and "slug: two" in whole.content.decode()
    one = staff.get("/config/download/?connector=one")
    assert 'filename="one.yaml"' in one["Content-Disposition"]
    assert "slug: two" not in one.content.decode()
    assert staff.post("/config/download/").status_code == 405
    assert "/config/download/" in staff.get("/connectors/").content.decode()


def test_upload_shows_the_plan_then_applies_on_confirmation(staff):
    planned = staff.post(
        "/config/upload/", {"file": SimpleUploadedFile("box.yaml", BOX.encode())}
    ).content.decode()
    assert "would create connector box" in planned
    assert "Would change: 1 to create" in planned
    assert not Connector.objects.exists()
    applied = staff.post(
        "/config/upload/", {"document": BOX, "confirm": "apply", "filename": "box.yaml"}
    ).content.decode()
    assert "created      connector box" in applied
    assert "Copy these tokens now" in applied and "sc_" in applied
    assert Connector.objects.get().slug == "box"
    again = staff.post("/config/upload/", {"file": SimpleUploadedFile("b.yaml", BOX.encode())})
    assert "Nothing to change" in again.content.decode()


def test_upload_names_the_line_of_each_problem_and_changes_nothing(staff):
    bad = BOX.replace("kind: mailbox", "kind: fax")
    page = staff.post(
        "/config/upload/", {"file": SimpleUploadedFile("bad.yaml", bad.encode())}
    ).content.decode()
    assert "Nothing was changed." in page
    assert "line 2, connectors[0].kind: &quot;fax&quot; is not a valid choice." in page
    empty = staff.post("/config/upload/", {}).content.decode()
    assert "Choose a YAML or JSON file first." in empty


def test_config_pages_are_for_staff_only(client, not_staff):
    for url in ("/config/upload/", "/config/download/", "/connectors/presets/slack-events/"):
        assert client.get(url).status_code == 302  # to the login page
        assert not_staff.get(url).status_code == 403
