"""Secret variables in configuration files: exported as `{env: NAME}`, read from the
environment on apply, and named but never shown by a dry run."""

import pytest

from connectors.models import Connector
from pipelines.config.apply import apply
from pipelines.config.document import DocumentError, dump, parse
from pipelines.config.export import export_workspace

WEBHOOK = "https://hooks.slack.com/services/T0001/B0002/cfg-needle-123"
DOCUMENT = """
connectors:
  - slug: team-chat
    name: Team chat
    kind: http_destination
    schema: {fields: [{name: text, type: string, required: true}]}
    url: "{{ webhook_url }}"
    method: POST
    secret_variables: {webhook_url: {env: TEAM_CHAT_SECRET_VARIABLES_WEBHOOK_URL}}
"""


@pytest.fixture
def webhook_in_env(monkeypatch, settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    monkeypatch.setenv("TEAM_CHAT_SECRET_VARIABLES_WEBHOOK_URL", WEBHOOK)


def test_export_writes_a_reference_named_after_the_slug(db, webhook_in_env):
    apply(parse(DOCUMENT))
    exported = export_workspace()
    assert exported["connectors"][0]["secret_variables"] == {
        "webhook_url": {"env": "TEAM_CHAT_SECRET_VARIABLES_WEBHOOK_URL"}
    }
    assert "cfg-needle" not in dump(exported)


def test_apply_reads_it_from_the_environment(db, webhook_in_env):
    plan = apply(parse(DOCUMENT))
    assert [c.action for c in plan.changes] == ["create"]
    assert Connector.objects.get().secret_variables == {"webhook_url": WEBHOOK}
    assert apply(parse(DOCUMENT)).changed is False


def test_a_missing_variable_is_named_and_nothing_is_applied(db, settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True
    with pytest.raises(DocumentError) as caught:
        apply(parse(DOCUMENT), environ={})
    assert not Connector.objects.exists()
    where, _, message = caught.value.problems[0]
    assert where == "connectors[0].secret_variables.webhook_url"
    assert "TEAM_CHAT_SECRET_VARIABLES_WEBHOOK_URL" in message


def test_a_dry_run_names_a_changed_secret_without_showing_it(db, webhook_in_env, monkeypatch):
    apply(parse(DOCUMENT))
    monkeypatch.setenv("TEAM_CHAT_SECRET_VARIABLES_WEBHOOK_URL", WEBHOOK + "-rotated")
    plan = apply(parse(DOCUMENT), dry_run=True)
    (change,) = plan.changes
    assert change.action == "update"
    assert change.fields == ["secret_variables (secret)"]
    assert "cfg-needle" not in str(plan.as_dict())
    assert Connector.objects.get().secret_variables == {"webhook_url": WEBHOOK}
