"""The secret variables editor of the HTTP connector form: password inputs, a blank value keeps
the stored one, a cleared name removes it, and no page shows a value."""

from __future__ import annotations

from connectors.models import Connector
from tests.helpers import make_connector
from tests.ui.test_connector_forms import destination_form

WEBHOOK = "https://hooks.slack.com/services/T0/B0/form-needle-42"


def slack_form(**overrides) -> dict:
    return destination_form(
        name="Slack",
        schema_json='{"fields": [{"name": "text", "type": "string"}]}',
        url="{{ webhook_url }}",
        headers_json="[]",
        **overrides,
    )


def test_it_creates_a_connector_with_a_secret_variable(staff, settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    response = staff.post(
        "/connectors/new/http_destination/",
        slack_form(secret_variable_name_0="webhook_url", secret_variable_value_0=WEBHOOK),
    )
    assert response.status_code == 302, response.context["form"].errors
    connector = Connector.objects.get()
    assert connector.url == "{{ webhook_url }}"
    assert connector.secret_variables == {"webhook_url": WEBHOOK}
    page = staff.get(response["Location"]).content.decode()
    assert "webhook_url: ********" in page
    assert "form-needle" not in page


def test_a_blank_value_keeps_the_stored_one_and_a_cleared_name_removes_it(staff, settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    connector = make_connector(
        "http_destination",
        "Slack",
        url="{{ webhook_url }}",
        method="POST",
        secret_variables={"webhook_url": WEBHOOK, "old_key": "old-needle-1"},
    )
    edit = staff.get(f"/connectors/{connector.pk}/edit/")
    html = edit.content.decode()
    assert 'name="secret_variable_name_0"' in html and 'value="webhook_url"' in html
    assert 'type="password" name="secret_variable_value_0"' in html
    assert "form-needle" not in html and "old-needle" not in html
    response = staff.post(
        f"/connectors/{connector.pk}/edit/",
        slack_form(
            secret_variable_name_0="webhook_url",
            secret_variable_value_0="",
            secret_variable_name_1="",
            secret_variable_value_1="",
            secret_variable_name_2="token",
            secret_variable_value_2="new-needle-2",
        ),
    )
    assert response.status_code == 302, response.context["form"].errors
    connector.refresh_from_db()
    assert connector.secret_variables == {"webhook_url": WEBHOOK, "token": "new-needle-2"}


def test_a_new_name_without_a_value_is_refused_naming_it(staff, settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    response = staff.post(
        "/connectors/new/http_destination/",
        slack_form(secret_variable_name_0="webhook_url", secret_variable_value_0=""),
    )
    assert response.status_code == 200
    assert "Enter the value of &#x27;webhook_url&#x27;" in response.content.decode()
    assert not Connector.objects.exists()
