"""Basic auth with `username_secret: true`: for APIs whose key is the username (Segment's write
key), the username is kept like the password: masked in answers, exported as `{env: NAME}`,
redacted from texts, never put back into a form; a masked value sent back keeps it."""

from __future__ import annotations

import pytest

from connectors.auth import mask_auth, validate_auth
from connectors.models import Connector
from connectors.redaction import Redactor
from connectors.secrets import MASK
from pipelines.config.apply import apply
from pipelines.config.document import dump, parse
from pipelines.config.export import export_workspace
from tests.helpers import make_connector
from tests.ui.test_connector_forms import destination_form

KEY = "wk_needle_0123456789"
SECRET_BASIC = {"type": "basic", "username": KEY, "password": "", "username_secret": True}
FIELDS = {"fields": [{"name": "id", "type": "string"}]}


@pytest.fixture(autouse=True)
def _private_destinations(settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True


def destination(**config) -> Connector:
    return make_connector(
        "http_destination",
        "Segment",
        [{"name": "id", "type": "string"}],
        slug="segment",
        url="https://api.segment.io/v1/track",
        auth=config.pop("auth", SECRET_BASIC),
        **config,
    )


def test_it_masks_the_username_only_when_flagged():
    assert mask_auth(SECRET_BASIC) == {**SECRET_BASIC, "username": MASK}
    assert mask_auth({"type": "basic", "username": "svc", "password": "pw"}) == {
        "type": "basic",
        "username": "svc",
        "password": MASK,
    }


def test_it_refuses_a_flag_that_is_not_a_boolean():
    with pytest.raises(ValueError, match="'username_secret' must be true or false"):
        validate_auth({"type": "basic", "username": "k", "username_secret": "yes"})


def test_the_api_shows_the_mask_and_keeps_the_key_when_the_mask_comes_back(api):
    created = api.post(
        "/api/v1/connectors/",
        {
            "name": "Segment",
            "kind": "http_destination",
            "url": "https://api.segment.io/v1/track",
            "schema": FIELDS,
            "auth": SECRET_BASIC,
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    assert created.json()["auth"]["username"] == MASK
    assert KEY not in created.content.decode()

    pk = created.json()["id"]
    updated = api.patch(
        f"/api/v1/connectors/{pk}/", {"auth": created.json()["auth"]}, format="json"
    )
    assert updated.status_code == 200, updated.json()
    assert Connector.objects.get(pk=pk).auth == SECRET_BASIC


def test_export_writes_a_reference_and_apply_reads_it(db, monkeypatch):
    destination()
    exported = export_workspace()
    assert exported["connectors"][0]["auth"] == {
        "type": "basic",
        "username": {"env": "SEGMENT_AUTH_USERNAME"},
        "password": "",
        "username_secret": True,
    }
    text = dump(exported)
    assert KEY not in text

    Connector.objects.all().delete()
    monkeypatch.setenv("SEGMENT_AUTH_USERNAME", KEY)
    apply(parse(text))
    assert Connector.objects.get(slug="segment").auth == SECRET_BASIC


def test_it_is_redacted_from_texts(db):
    redactor = Redactor.for_connector(destination())
    assert redactor.redact(f"invalid write key {KEY}") == f"invalid write key {MASK}"


def test_the_edit_form_never_shows_it_and_a_blank_keeps_it(staff):
    connector = destination()
    shown = staff.get(f"/connectors/{connector.pk}/edit/")
    assert KEY not in shown.content.decode()
    assert shown.context["form"]["auth_username_secret"].value() is True
    assert shown.context["form"]["auth_username"].field.widget.input_type == "password"

    response = staff.post(
        f"/connectors/{connector.pk}/edit/",
        destination_form(
            name="Segment",
            schema_json='{"fields": [{"name": "id", "type": "string"}]}',
            url="https://api.segment.io/v1/track",
            headers_json="[]",
            auth_type="basic",
            auth_username="",
            auth_username_secret="on",
        ),
    )
    assert response.status_code == 302, response.context["form"].errors
    connector.refresh_from_db()
    assert connector.auth == SECRET_BASIC


def post_segment_form(staff, **overrides):
    """A new HTTP destination whose Basic username is KEY, from the form."""
    return staff.post(
        "/connectors/new/http_destination/",
        destination_form(
            name="Segment", headers_json="[]", auth_type="basic", auth_username=KEY, **overrides
        ),
    )


def test_the_form_creates_a_secret_username(staff):
    response = post_segment_form(staff, auth_username_secret="on")
    assert response.status_code == 302, response.context["form"].errors
    connector = Connector.objects.get()
    assert connector.auth == SECRET_BASIC
    assert KEY not in staff.get(response["Location"]).content.decode()


# "false" is how a script (or an old checkbox) says unchecked: the checkbox reads it so.
@pytest.mark.parametrize(("sent", "secret"), [("on", True), (None, False), ("false", False)])
def test_a_refused_form_gives_back_the_username_only_when_it_is_not_a_secret(staff, sent, secret):
    flag = {"auth_username_secret": sent} if sent else {}
    # max_attempts 0 is refused: the form comes back with its errors.
    response = post_segment_form(staff, max_attempts="0", **flag)

    assert response.status_code == 200 and response.context["form"].errors
    # A secret username is typed again, like a password; a plain one is kept for the user.
    assert (KEY in response.content.decode()) is not secret
