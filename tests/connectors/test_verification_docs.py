"""Every sender example of docs/ingest.md, run as written against a server on 127.0.0.1, verifies."""

from __future__ import annotations

import json
import re
import subprocess
import time
from pathlib import Path

import pytest

from connectors.verification import VerificationFailed, clean_verification, verify

DOC = Path(__file__).resolve().parents[2] / "docs" / "ingest.md"
DOC_URL = "https://connector.example.com/api/v1/ingest/orders/"
DOC_TOKEN = "sc_example-endpoint-token"
SECTION = re.compile(r"^### `(\w+)`$", re.MULTILINE)
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def sections() -> dict[str, dict[str, str]]:
    """Scheme name -> its code blocks by language (json, python, sh)."""
    text = DOC.read_text()
    headings = list(SECTION.finditer(text))
    found = {}
    for heading, following in zip(headings, [*headings[1:], None], strict=True):
        end = following.start() if following else len(text)
        body = text[heading.end() : end].split("\n## ")[0]
        found[heading.group(1)] = {lang: code for lang, code in BLOCK.findall(body)}
    return found


EXAMPLES = sections()


def test_every_scheme_is_documented_with_both_examples():
    from connectors.verification import REGISTRY

    assert set(EXAMPLES) == set(REGISTRY)
    for blocks in EXAMPLES.values():
        assert set(blocks) == {"json", "python", "sh"}


def received(httpserver, run) -> tuple[dict[str, str], bytes]:
    httpserver.expect_request("/ingest/", method="POST").respond_with_json({"run": 1}, status=202)
    run(httpserver.url_for("/ingest/"))
    (request, _response), *_ = httpserver.log
    return dict(request.headers), request.get_data()


def check(scheme: str, headers: dict[str, str], body: bytes):
    config = clean_verification(json.loads(EXAMPLES[scheme]["json"])["verification"])
    verified = verify(
        config, headers, body, time.time(), check_token=lambda token: token == DOC_TOKEN
    )
    assert verified.scheme == scheme
    return verified


@pytest.mark.parametrize("scheme", sorted(EXAMPLES))
def test_the_python_example_verifies(scheme, httpserver):
    code = EXAMPLES[scheme]["python"]
    assert DOC_URL in code

    headers, body = received(httpserver, lambda url: exec(code.replace(DOC_URL, url), {}))

    verified = check(scheme, headers, body)
    assert verified.event_id == {
        "standard_webhooks": headers.get("Webhook-Id"),
        "stripe": "evt_1001",
    }.get(scheme)


@pytest.mark.parametrize("scheme", sorted(EXAMPLES))
def test_the_shell_example_verifies(scheme, httpserver):
    script = EXAMPLES[scheme]["sh"]
    assert DOC_URL in script

    def run(url):
        subprocess.run(
            ["bash", "-euo", "pipefail", "-c", script.replace(DOC_URL, url)],
            check=True,
            capture_output=True,
            timeout=20,
        )

    headers, body = received(httpserver, run)

    check(scheme, headers, body)


def test_an_example_with_the_wrong_secret_would_not_verify(httpserver):
    code = EXAMPLES["github"]["python"].replace("It's a Secret", "It's not a Secret")

    headers, body = received(httpserver, lambda url: exec(code.replace(DOC_URL, url), {}))

    with pytest.raises(VerificationFailed, match="signature does not match"):
        check("github", headers, body)
