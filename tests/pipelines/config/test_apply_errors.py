"""A file that cannot be applied changes nothing and says what and where."""

import pytest
from django.core.management import CommandError, call_command

from connectors.models import Connector
from pipelines.mapping.models import Pipeline
from tests.helpers import make_connector

GOOD_BOX = """\
version: 1
connectors:
  - slug: box
    name: Box
    kind: mailbox
    schema:
      fields:
        - {name: id, type: string, required: true}
"""


@pytest.fixture
def file(tmp_path):
    def write(text: str):
        path = tmp_path / "workspace.yaml"
        path.write_text(text)
        return str(path)

    return write


def test_a_bad_field_names_its_line_and_path_and_nothing_is_created(db, file):
    text = (
        GOOD_BOX
        + """\
  - slug: hooks
    name: Hooks
    kind: http_destination
    url: https://example.com/hooks
    max_attempts: 500
"""
    )
    with pytest.raises(CommandError) as error:
        call_command("config", "apply", file(text))
    message = str(error.value)
    assert "nothing was changed" in message
    assert "line 13, connectors[1].max_attempts: Use between 1 and 50 attempts." in message
    # The valid connector before it was not created either: all or nothing.
    assert not Connector.objects.exists()


def test_a_missing_secret_variable_is_named(db, file, monkeypatch):
    monkeypatch.delenv("HOOKS_AUTH_TOKEN", raising=False)
    text = (
        GOOD_BOX
        + """\
  - slug: hooks
    name: Hooks
    kind: http_destination
    url: https://example.com/hooks
    auth: {type: bearer, token: {env: HOOKS_AUTH_TOKEN}}
"""
    )
    with pytest.raises(CommandError) as error:
        call_command("config", "apply", file(text))
    assert "line 13, connectors[1].auth" in str(error.value)
    assert "Set the environment variable HOOKS_AUTH_TOKEN" in str(error.value)
    assert not Connector.objects.exists()


def test_yaml_that_does_not_parse_names_the_line(db, file):
    with pytest.raises(CommandError) as error:
        call_command("config", "apply", file(GOOD_BOX + "  - slug: [unclosed\n"))
    assert "line 9" in str(error.value) or "line 10" in str(error.value)


def test_a_pipeline_between_unknown_connectors_is_refused(db, file):
    text = GOOD_BOX + "pipelines:\n  - {name: P, source: nowhere, destination: box}\n"
    with pytest.raises(CommandError) as error:
        call_command("config", "apply", file(text))
    assert "line 10, pipelines[0].source: No connector has the slug 'nowhere'." in str(error.value)


def test_dry_run_and_diff_plan_without_changing_anything(db, file, capsys):
    path = file(GOOD_BOX)
    call_command("config", "apply", path, "--dry-run")
    assert "would create connector box" in capsys.readouterr().out
    call_command("config", "diff", path)
    assert "would create connector box" in capsys.readouterr().out
    assert not Connector.objects.exists()

    call_command("config", "apply", path)
    out = capsys.readouterr().out
    assert "created      connector box" in out and "Token of box (shown once): sc_" in out
    call_command("config", "apply", path)
    assert "Nothing to change" in capsys.readouterr().out


def test_prune_deletes_what_the_file_leaves_out_and_otherwise_keeps_it(db, file, capsys):
    make_connector("mailbox", "Old box")
    path = file(GOOD_BOX)
    call_command("config", "apply", path)
    assert "not in the file, kept (--prune deletes it) connector old-box" in capsys.readouterr().out
    call_command("config", "diff", path, "--prune")
    assert "would delete connector old-box" in capsys.readouterr().out
    call_command("config", "apply", path, "--prune")
    assert list(Connector.objects.values_list("slug", flat=True)) == ["box"]


def test_an_update_names_the_fields_it_changes(db, file, capsys):
    call_command("config", "apply", file(GOOD_BOX))
    call_command("config", "apply", file(GOOD_BOX.replace("name: Box", "name: Boxes")))
    assert "updated      connector box (name)" in capsys.readouterr().out
    assert Connector.objects.get().name == "Boxes"


def test_a_single_connector_document_and_json_are_accepted(db, file):
    call_command(
        "config",
        "apply",
        file('{"slug": "solo", "name": "Solo", "kind": "mailbox", "schema": {"fields": []}}'),
    )
    assert Connector.objects.get().slug == "solo"
    assert not Pipeline.objects.exists()


def test_export_of_one_connector_writes_only_it(db, capsys):
    make_connector("mailbox", "One")
    make_connector("mailbox", "Two")
    call_command("config", "export", "--connector", "one")
    out = capsys.readouterr().out
    assert "slug: one" in out and "slug: two" not in out
