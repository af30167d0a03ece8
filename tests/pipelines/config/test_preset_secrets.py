"""A preset's secret inputs are shown nowhere: not by the API, the connector's pages, the
configuration export nor the audit log; and a preset that would show one is refused at load."""

import base64
import html
import json

import pytest
import yaml
from rest_framework.test import APIClient

from connectors.models import Connector
from pipelines.config.presets import PresetError, all_presets, load, start_from

PRESETS = sorted(all_presets())
WRITE_KEY = "wk_7Hq2SegmentWriteKey0451"


@pytest.fixture(autouse=True)
def _private_destinations(settings):
    settings.ALLOW_PRIVATE_DESTINATIONS = True


def everything_shown(api, staff) -> str:
    """Every text a person can read about the workspace's connectors."""
    texts = [api.get("/api/v1/connectors/").content.decode()]
    exported = api.get("/api/v1/config/export/").content.decode()
    texts += [exported, str(yaml.safe_load(exported))]
    texts.append(api.get("/api/v1/audit/").content.decode())
    for connector in Connector.objects.all():
        texts.append(api.get(f"/api/v1/connectors/{connector.pk}/").content.decode())
        for page in (f"/connectors/{connector.pk}/", f"/connectors/{connector.pk}/edit/"):
            response = staff.get(page)
            assert response.status_code == 200, page
            texts.append(html.unescape(response.content.decode()))
    return "\n".join(texts)


def test_it_never_shows_the_segment_write_key(api, staff):
    start_from(all_presets()["segment-track"], {"write_key": WRITE_KEY})
    connector = Connector.objects.get(slug="segment-track")
    assert api.get(f"/api/v1/connectors/{connector.pk}/").json()["auth"] == {
        "type": "basic",
        "username": "********",
        "password": "",
        "username_secret": True,
    }
    shown = everything_shown(api, staff)
    assert WRITE_KEY not in shown
    assert base64.b64encode(f"{WRITE_KEY}:".encode()).decode() not in shown


def test_it_delivers_with_the_write_key_as_the_basic_username_and_redacts_it(
    api, httpserver, django_capture_on_commit_callbacks
):
    base_url = httpserver.url_for("").rstrip("/")
    start_from(all_presets()["segment-track"], {"write_key": WRITE_KEY, "base_url": base_url})
    schema = {
        "fields": [
            {"name": "userId", "type": "string", "required": True},
            {"name": "event", "type": "string", "required": True},
        ]
    }
    source = api.post(
        "/api/v1/connectors/",
        {"name": "Signups", "kind": "ingest_endpoint", "schema": schema},
        format="json",
    ).json()
    destination = Connector.objects.get(slug="segment-track")
    pipeline = api.post(
        "/api/v1/pipelines/",
        {"name": "Signups to Segment", "source": source["id"], "destination": destination.pk},
        format="json",
    )
    assert pipeline.status_code == 201, pipeline.json()
    # https://segment.com/docs/connections/sources/catalog/libraries/server/http-api/#authentication
    credentials = base64.b64encode(f"{WRITE_KEY}:".encode()).decode()
    httpserver.expect_oneshot_request(
        "/v1/track",
        method="POST",
        headers={"Authorization": f"Basic {credentials}"},
        json={"userId": "u-1", "event": "Signed Up"},
    ).respond_with_json({"success": True, "writeKey": WRITE_KEY})

    with django_capture_on_commit_callbacks(execute=True):
        response = APIClient().post(
            f"/api/v1/ingest/{source['slug']}/",
            {"userId": "u-1", "event": "Signed Up"},
            format="json",
            HTTP_AUTHORIZATION=f"Bearer {source['token']}",
        )
    assert response.status_code == 202, response.json()
    httpserver.check_assertions()
    deliveries = api.get(f"/api/v1/deliveries/?pipeline={pipeline.json()['id']}").json()
    (delivery,) = deliveries["results"]
    assert delivery["status"] == "delivered"
    # The answer echoed the key back: the attempt log keeps the answer, with the key masked.
    (attempt,) = delivery["attempt_log"]
    assert attempt["request_headers"]["Authorization"] == "********"
    assert json.loads(attempt["response_excerpt"])["writeKey"] == "********"
    assert WRITE_KEY not in str(deliveries)


@pytest.mark.parametrize("name", PRESETS)
def test_no_preset_shows_a_secret_input(api, staff, name):
    preset = all_presets()[name]
    given = preset.examples()
    secret_values = [given[i.name] for i in preset.inputs if i.secret]
    start_from(preset, given)
    shown = everything_shown(api, staff)
    for value in secret_values:
        assert value not in shown, (name, value)


def test_a_preset_putting_a_secret_input_where_it_is_shown_is_refused(tmp_path):
    path = tmp_path / "leaky.yaml"
    path.write_text(
        """
preset:
  name: leaky
  title: Leaky
  kind: destination
  description: Puts a key in the Basic username, which is shown.
  docs_url: https://example.com/
  inputs:
    - {name: key, label: Key, secret: true, example: k_123456789}
connectors:
  - slug: leaky
    name: Leaky
    kind: http_destination
    schema: {fields: []}
    url: https://example.com/
    auth: {type: basic, username: {input: key}, password: ""}
"""
    )
    with pytest.raises(PresetError) as error:
        load(path)
    message = str(error.value)
    assert "leaky.yaml" in message
    assert "'key'" in message
    assert "connectors[0].auth.username" in message


@pytest.mark.parametrize(
    "place",
    [
        'url: "https://example.com/{input: key}"',
        "url: https://example.com/\n    headers: [{name: X-Key, value: {input: key}}]",
        "url: https://example.com/\n    variables: {key: {input: key}}",
    ],
)
def test_any_place_shown_as_written_is_refused(tmp_path, place):
    path = tmp_path / "leaky.yaml"
    path.write_text(
        f"""
preset:
  name: leaky
  title: Leaky
  kind: destination
  description: Shows a secret.
  docs_url: https://example.com/
  inputs:
    - {{name: key, label: Key, secret: true, example: k_123456789}}
connectors:
  - slug: leaky
    name: Leaky
    kind: http_destination
    schema: {{fields: []}}
    {place}
"""
    )
    with pytest.raises(PresetError, match="secret input 'key'"):
        load(path)


def test_a_secret_input_in_a_masked_place_is_accepted(tmp_path):
    path = tmp_path / "careful.yaml"
    path.write_text(
        """
preset:
  name: careful
  title: Careful
  kind: destination
  description: Every secret where it is masked.
  docs_url: https://example.com/
  inputs:
    - {name: key, label: Key, secret: true, example: k_123456789}
connectors:
  - slug: careful
    name: Careful
    kind: http_destination
    schema: {fields: []}
    url: "{{ hook }}"
    headers: [{name: X-Key, value: "Key {input: key}", secret: true}]
    secret_variables: {hook: {input: key}}
    auth: {type: basic, username: {input: key}, password: {input: key}, username_secret: true}
"""
    )
    assert load(path).name == "careful"
