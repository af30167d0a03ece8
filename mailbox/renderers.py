"""A page of mailbox records as JSON, NDJSON or CSV bytes.

Each record's JSON text was encoded once, when it was accepted; here it is spliced into the
response as is. Decoding and re-encoding a thousand records per page would cost several times
more than reading them (see bench/bench_mailbox.py). Only CSV decodes, to pick the columns.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

import orjson
from rest_framework.renderers import BaseRenderer

from connectors import jsontext
from connectors.models import Connector
from connectors.schema import get_path

# What a spreadsheet reads as a formula at the start of a cell (OWASP "CSV Injection").
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class MailboxPage:
    mailbox: Connector
    rows: list[tuple[int, str, str]]  # (seq, created_at as ISO 8601 text, JSON text)
    next_cursor: str
    has_more: bool
    raw_csv: bool = False  # ?csv_formulas=raw: cells exactly as the data, for programs


class MailboxJSONRenderer(BaseRenderer):
    media_type = "application/json"
    format = "json"
    charset = None

    def render(self, data: MailboxPage, accepted_media_type=None, renderer_context=None) -> bytes:
        records = ",".join(
            f'{{"id":{seq},"created_at":"{created_at}","data":{text}}}'
            for seq, created_at, text in data.rows
        )
        return b"".join(
            (
                b'{"records":[',
                records.encode(),
                b'],"next":',
                orjson.dumps(data.next_cursor),
                b',"has_more":',
                b"true" if data.has_more else b"false",
                b"}",
            )
        )


class MailboxNDJSONRenderer(BaseRenderer):
    """One record's data per line; the cursor and has_more travel in headers."""

    media_type = "application/x-ndjson"
    format = "ndjson"
    charset = None

    def render(self, data: MailboxPage, accepted_media_type=None, renderer_context=None) -> bytes:
        return "".join(f"{text}\n" for _, _, text in data.rows).encode()


class MailboxCSVRenderer(BaseRenderer):
    """A header row of the mailbox schema's field names (dotted when nested), then one row per record."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: MailboxPage, accepted_media_type=None, renderer_context=None) -> bytes:
        columns = list(data.mailbox.schema.fields.values_list("name", flat=True))
        neutral = not data.raw_csv
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([neutralise(column) if neutral else column for column in columns])
        for _, _, text in data.rows:
            record = jsontext.loads(text)
            writer.writerow([csv_cell(get_path(record, c), neutral=neutral) for c in columns])
        return out.getvalue().encode()


def csv_cell(value: Any, *, neutral: bool = True) -> str:
    """A JSON value as CSV text: empty for missing or null, JSON for booleans, objects and lists.

    A string a spreadsheet would run as a formula gets a leading ``'`` unless ``neutral`` is
    off; numbers are never touched (-5 stays a number).
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return neutralise(value) if neutral else value
    if isinstance(value, (bool, dict, list)):
        return jsontext.dumps(value)
    return str(value)


def neutralise(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


RENDERERS = [MailboxJSONRenderer, MailboxNDJSONRenderer, MailboxCSVRenderer]
