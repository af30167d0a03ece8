"""The pipeline editor's live preview: mapped records and errors field by field, as you type."""

from __future__ import annotations

import pytest

from tests.helpers import make_connector, make_pipeline

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_it_previews_mapped_records_and_errors_as_you_type(signed_in, screenshot):
    page = signed_in
    source = make_connector("ingest_endpoint", "Signups", [{"name": "Email"}, {"name": "age"}])
    destination = make_connector(
        "mailbox",
        "Contacts",
        [{"name": "email", "type": "email", "required": True}, {"name": "age", "type": "integer"}],
    )
    pipeline = make_pipeline(source, destination, name="Signups to contacts")

    page.goto(f"/pipelines/{pipeline.pk}/")
    assert page.get_by_label("Source field for email", exact=True).input_value() == "Email"
    page.get_by_label("Transforms for email", exact=True).fill("trim | lower")
    page.locator("#id_sample").fill(
        '[{"Email": " ADA@Example.com ", "age": "36"}, {"Email": "nope", "age": "old"}]'
    )
    output = page.locator("[data-preview-output]")
    output.wait_for()
    assert '"email": "ada@example.com"' in output.inner_text()
    errors = page.locator("[data-preview-errors]").inner_text()
    assert "email" in errors and "age" in errors
    screenshot("pipeline-preview")
    assert pipeline.mappings.count() == 0
