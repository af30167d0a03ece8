"""Example records and ready-to-copy curl commands, built from a connector's schema."""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

from connectors.schema import FieldSpec, set_path

EXAMPLE_VALUES: dict[str, Any] = {
    "string": "text",
    "integer": 42,
    "number": 19.99,
    "boolean": True,
    "date": "2024-05-17",
    "datetime": "2024-05-17T09:30:00Z",
    "email": "ada@example.com",
    "url": "https://example.com/",
    "json": {"any": "value"},
}
# A better guess than the type alone, for names that say what they hold.
BY_NAME_HINT = {
    "email": "ada@example.com",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "name": "Ada Lovelace",
    "id": "1001",
    "country": "GB",
}


def example_value(spec: FieldSpec) -> Any:
    if spec.default is not None:
        return spec.default
    leaf = spec.name.rsplit(".", 1)[-1].lower()
    hint = BY_NAME_HINT.get(leaf)
    if hint is not None and spec.type in ("string", "email"):
        return hint
    return EXAMPLE_VALUES.get(spec.type, "text")


def example_record(specs: list[FieldSpec]) -> dict:
    """A record that satisfies the schema: every field with a plausible value, nested as named."""
    record: dict = {}
    for spec in specs:
        set_path(record, spec.name, example_value(spec))
    return record


# A placeholder such as `$TOKEN` that the person pasting the command sets in their shell.
SHELL_VARIABLE = re.compile(r"\$[A-Z_][A-Z0-9_]*")


def shell_word(text: str) -> str:
    """One shell word: single-quoted, or double-quoted when it holds `$NAME` placeholders, since
    the shell expands variables only outside single quotes (`'Bearer $TOKEN'` sends the
    text `$TOKEN` and gets a 401)."""
    if not SHELL_VARIABLE.search(text):
        return shlex.quote(text)
    pieces, end = [], 0
    for variable in SHELL_VARIABLE.finditer(text):
        pieces += [double_quoted(text[end : variable.start()]), variable.group()]
        end = variable.end()
    return '"' + "".join(pieces) + double_quoted(text[end:]) + '"'


def double_quoted(text: str) -> str:
    return re.sub(r'([\\"$`])', r"\\\1", text)


def bearer(token: str) -> str:
    return shell_word(f"Authorization: Bearer {token}")


def pretty(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False)


def curl_post_json(url: str, record: dict, token: str) -> str:
    return (
        f"curl -X POST {shlex.quote(url)} \\\n"
        f"  -H {bearer(token)} \\\n"
        "  -H 'Content-Type: application/json' \\\n"
        f"  -d {shlex.quote(json.dumps(record, ensure_ascii=False))}"
    )


def curl_post_csv(url: str, specs: list[FieldSpec], token: str) -> str:
    header = ",".join(spec.name for spec in specs)
    row = ",".join(csv_cell(example_value(spec)) for spec in specs)
    return (
        f"printf '%s\\n' {shlex.quote(header)} {shlex.quote(row)} | \\\n"
        f"  curl -X POST {shlex.quote(url)} \\\n"
        f"  -H {bearer(token)} \\\n"
        "  -H 'Content-Type: text/csv' --data-binary @-"
    )


def csv_cell(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value)
    if any(c in text for c in ',"\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def curl_poll(url: str, token: str) -> str:
    return f"curl {shlex.quote(url + '?limit=100&wait=10')} \\\n  -H {bearer(token)}"


def curl_ack(url: str, token: str) -> str:
    """`$CURSOR`: the `next` cursor of the last poll, set by the person running it."""
    return (
        f"curl -X POST {shlex.quote(url + 'ack/')} \\\n"
        f"  -H {bearer(token)} \\\n"
        "  -H 'Content-Type: application/json' \\\n"
        f"  -d {shell_word(json.dumps({'cursor': '$CURSOR'}))}"
    )


# How a shell computes each scheme's signature of "$BODY" with the key in "$SECRET" (openssl),
# and the headers it sends; `{alg}` is the HMAC's hash.
HEX = "openssl dgst -{alg} -hmac \"$SECRET\" | sed 's/^.* //'"
BASE64 = 'openssl dgst -{alg} -hmac "$SECRET" -binary | base64 -w0'
SIGNED_CURL = {
    "standard_webhooks": (
        'MSG_ID="msg_$(date +%s%N)"\n'
        "TS=$(date +%s)\n"
        "KEY=$(printf '%s' \"${{SECRET#whsec_}}\" | base64 -d | od -An -tx1 | tr -d ' \\n')\n"
        'SIG=$(printf \'%s.%s.%s\' "$MSG_ID" "$TS" "$BODY" \\\n'
        '  | openssl dgst -sha256 -mac HMAC -macopt "hexkey:$KEY" -binary | base64 -w0)\n',
        ['"webhook-id: $MSG_ID"', '"webhook-timestamp: $TS"', '"webhook-signature: v1,$SIG"'],
    ),
    "stripe": (
        f'TS=$(date +%s)\nSIG=$(printf \'%s.%s\' "$TS" "$BODY" | {HEX})\n',
        ['"Stripe-Signature: t=$TS,v1=$SIG"'],
    ),
    "github": (
        f"SIG=$(printf '%s' \"$BODY\" | {HEX})\n",
        ['"X-Hub-Signature-256: sha256=$SIG"'],
    ),
    "shopify": (
        f"SIG=$(printf '%s' \"$BODY\" | {BASE64})\n",
        ['"X-Shopify-Hmac-Sha256: $SIG"'],
    ),
    "slack": (
        f'TS=$(date +%s)\nSIG=$(printf \'v0:%s:%s\' "$TS" "$BODY" | {HEX})\n',
        ['"X-Slack-Request-Timestamp: $TS"', '"X-Slack-Signature: v0=$SIG"'],
    ),
}


def curl_signed(url: str, config: dict, record: dict) -> str:
    """A shell script that signs `record` as the sender of `config`'s scheme would and posts it.

    The secret stays out of it: the script reads it from $SECRET (or $PASSWORD for basic).
    """
    scheme = config.get("scheme", "token")
    body = json.dumps(record, ensure_ascii=False)
    lines = f"URL={shlex.quote(url)}\nBODY={shlex.quote(body)}\n"
    if scheme == "basic":
        user = shlex.quote(config["username"] + ":")
        return (
            lines + "# PASSWORD: the endpoint's password\n"
            f'curl -sS "$URL" -u {user}"$PASSWORD" -H \'Content-Type: application/json\' \\\n'
            '  --data-binary "$BODY"'
        )
    if scheme == "hmac":
        template = HEX if config["encoding"] == "hex" else BASE64
        signing = f"SIG=$(printf '%s' \"$BODY\" | {template})\n"
        prefix = config["prefix"]
        for special in ("\\", '"', "$", "`"):  # what stays special inside double quotes
            prefix = prefix.replace(special, "\\" + special)
        headers = [f'"{config["header"]}: {prefix}$SIG"']
    else:
        signing, headers = SIGNED_CURL[scheme]
    signing = signing.format(alg=config.get("algorithm", "sha256"))
    sent = " ".join(f"-H {header}" for header in headers)
    return (
        lines + "# SECRET: the endpoint's signing secret, as the sender shows it\n"
        f"{signing}"
        f"curl -sS \"$URL\" -H 'Content-Type: application/json' {sent} \\\n"
        '  --data-binary "$BODY"'
    )
