"""Record bodies: JSON, NDJSON and CSV in, a list of records out, or one error a human can act on.

Used by the ingest endpoint (the customer's POST), by the HTTP source (the customer's API responses)
and by the UI's "infer schema from a sample". Every failure is a `BodyError` carrying the HTTP status
the ingest endpoint answers with and where in the body the problem is (line, column, row, byte).

Bodies are capped at INGEST_MAX_BODY_BYTES (10 MB), so the parsers work on the whole body in memory,
but avoid copying it: JSON and NDJSON go to orjson (through connectors.jsontext, which keeps
integers beyond 64 bits exact) in memoryview slices, CSV is decoded incrementally by a
TextIOWrapper over the bytes.
"""

from __future__ import annotations

import csv
import io
import itertools
import re
from collections.abc import Iterator
from functools import lru_cache
from typing import IO, Any

import jmespath
import jmespath.exceptions
import jmespath.parser

from connectors import jsontext

JSON = "application/json"
NDJSON = "application/x-ndjson"
CSV = "text/csv"

# Every media type we read, and the format it names. JSON Lines is NDJSON under another name.
_FORMATS = {
    JSON: JSON,
    NDJSON: NDJSON,
    "application/ndjson": NDJSON,
    "application/jsonl": NDJSON,
    "application/x-jsonlines": NDJSON,
    CSV: CSV,
    "application/csv": CSV,
}
ACCEPTED_CONTENT_TYPES = tuple(_FORMATS)
_ACCEPTED_TEXT = f"{JSON}, {NDJSON} or {CSV}"

# JSON is UTF-8 by definition (RFC 8259); for CSV we take the same stance rather than guess a codepage.
_ACCEPTED_CHARSETS = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})

# What servers send when they do not know or do not say: the HTTP source looks at the bytes instead.
_GENERIC_TYPES = frozenset({"", "text/plain", "application/octet-stream", "binary/octet-stream"})

_BOM = b"\xef\xbb\xbf"
_BLANK_BODY = re.compile(rb"\A(?:\xef\xbb\xbf)?[ \t\r\n]*\Z")
_BLANK_LINE = re.compile(rb"[ \t\r]*\Z")
_NON_BLANK = re.compile(rb"[^ \t\r\n]")
_READ_CHUNK = 64 * 1024

# A dotted path whose keys may hold characters JMESPath would need quoted (`data.line-items`).
_PLAIN_PATH = re.compile(r"[\w$-]+(?:\.[\w$-]+)*")
_MISSING = object()


class BodyError(Exception):
    """A body we cannot read: `status` is the HTTP answer (400, 413, 415), `detail` says where."""

    def __init__(self, status: int, message: str, detail: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.detail = detail or {}

    def as_dict(self) -> dict[str, Any]:
        """The JSON error response: DRF's `detail` key for the message, then where it happened."""
        return {"detail": self.message, **self.detail}


class RecordsPathError(BodyError):
    """The HTTP source's `records_path` does not lead to records in this response."""

    def __init__(self, message: str, records_path: str) -> None:
        super().__init__(400, message, {"records_path": records_path})


def media_type(content_type_header: str | None) -> str:
    """`Application/JSON; charset=UTF-8` -> `application/json`; "" when absent; 415 for a non-UTF-8 charset."""
    media, params = _split_content_type(content_type_header)
    charset = params.get("charset")
    if charset is not None and charset not in _ACCEPTED_CHARSETS:
        raise BodyError(
            415,
            f"The charset {charset!r} is not supported; send the body as UTF-8",
            {"charset": charset},
        )
    return media


def read_limited(stream: IO[bytes], content_length: int | None, max_bytes: int) -> bytes:
    """Read the whole body, refusing with 413 as soon as it is known to exceed `max_bytes`.

    Content-Length decides before reading anything; the count while reading covers chunked bodies
    and a Content-Length that understates the truth.
    """
    if content_length is not None and content_length > max_bytes:
        raise _too_large(max_bytes, content_length)
    # One buffer, handed over without a copy by getvalue(): collecting chunks and joining them
    # held a 10 MB body twice. Sized up front from Content-Length, it never grows by copying.
    body = io.BytesIO()
    if content_length:
        body.seek(content_length - 1)
        body.write(b"\0")
        body.seek(0)
    size = 0
    while True:
        chunk = stream.read(min(_READ_CHUNK, max_bytes + 1 - size))
        if not chunk:
            break
        body.write(chunk)
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(max_bytes, None)
    # A body shorter than its Content-Length said (the client stopped) ends where it ended.
    body.truncate(size)
    return body.getvalue()


def parse_records(body: bytes, media_type: str, *, max_records: int | None = None) -> list[Any]:
    """The records of an ingest body: each one a dict, in the order they came."""
    kind = _format_of(media_type)
    if kind is None:
        if not media_type:
            message = f"The Content-Type header is missing; send {_ACCEPTED_TEXT}"
        else:
            message = f"The content type {media_type!r} is not supported; send {_ACCEPTED_TEXT}"
        raise BodyError(415, message, {"content_type": media_type, "accepted": [JSON, NDJSON, CSV]})
    if _BLANK_BODY.match(body):
        raise BodyError(400, "The body is empty")
    if kind == JSON:
        records = _json_records(_load_json(body))
        if max_records is not None and len(records) > max_records:
            raise _too_many(len(records), max_records)
        check_depth(records)
        return records
    if kind == NDJSON:
        return _parse_ndjson(body, max_records)
    return _parse_csv(body, max_records)


def sniff_media_type(body: bytes) -> str:
    """Guess the format of a body whose content type says nothing: JSON, NDJSON, else CSV."""
    first = _NON_BLANK.search(body, 3 if body.startswith(_BOM) else 0)
    if first is None or body[first.start()] == ord("["):
        return JSON
    if body[first.start()] != ord("{"):
        return CSV
    # One object per line, or one object pretty-printed over many lines: only NDJSON has a first
    # line that is a whole JSON value followed by more.
    line_end = body.find(b"\n", first.start())
    if line_end == -1 or not _NON_BLANK.search(body, line_end):
        return JSON
    try:
        jsontext.loads(memoryview(body)[first.start() : line_end])
    except jsontext.JSONDecodeError:
        return JSON
    return NDJSON


def parse_response_records(body: bytes, content_type: str | None, records_path: str) -> list[Any]:
    """The records of one HTTP source response; `records_path` applies to JSON responses only."""
    media, _ = _split_content_type(content_type)
    kind = _format_of(media)
    if kind is None:
        if media not in _GENERIC_TYPES:
            raise BodyError(
                415,
                f"The response is {media}, not JSON, NDJSON or CSV",
                {"content_type": media},
            )
        kind = sniff_media_type(body)
    # An empty page is how many APIs say "nothing (more)".
    if _BLANK_BODY.match(body):
        return []
    if kind == JSON:
        return extract_records(_load_json(body), records_path)
    if kind == NDJSON:
        return _parse_ndjson(body, None)
    return _parse_csv(body, None)


def validate_records_path(path: str) -> str:
    """The path, trimmed, when it is a dotted path or a JMESPath expression; ValueError otherwise."""
    path = path.strip()
    if not path or _PLAIN_PATH.fullmatch(path):
        return path
    try:
        _compile(path)
    except jmespath.exceptions.IncompleteExpressionError:
        raise ValueError(f"records_path {path!r} is incomplete") from None
    except jmespath.exceptions.LexerError as error:
        raise ValueError(
            f"records_path {path!r} is not valid at column {error.lex_position + 1}: "
            f"unexpected {error.lexer_value!r}"
        ) from None
    except jmespath.exceptions.ParseError as error:
        raise ValueError(
            f"records_path {path!r} is not valid at column {error.lex_position + 1}: "
            f"unexpected {error.token_value!r}"
        ) from None
    return path


def extract_records(document: Any, records_path: str) -> list[Any]:
    """The records where `records_path` points in a parsed response.

    An empty path means the document itself. A path that names nothing is an error (most likely a
    typo, which would otherwise read zero records forever); a path whose value is null is an empty page.
    """
    path = records_path.strip()
    if not path:
        found = document
    elif _PLAIN_PATH.fullmatch(path):
        found = _walk(document, path.split("."))
    else:
        try:
            expression = _compile(path)
        except jmespath.exceptions.JMESPathError:
            raise RecordsPathError(f"records_path {path!r} is not valid", path) from None
        found = expression.search(document)
        # JMESPath answers null for a missing key and for a null value alike; the fields the
        # expression starts with tell which one it was.
        if found is None and _walk(document, _leading_fields(expression.parsed)[0]) is _MISSING:
            found = _MISSING
    if found is _MISSING:
        raise RecordsPathError(f"records_path {path!r} not found in the response", path)
    if found is None:
        return []
    if type(found) is dict:
        return [found]
    if type(found) is not list:
        where = f"records_path {path!r} points to" if path else "The response is"
        raise RecordsPathError(f"{where} a JSON {_kind(found)}, not a list of records", path)
    _require_objects(found)
    check_depth(found)
    return found


def check_depth(records: list[Any], ndjson_body: bytes | None = None) -> None:
    """BodyError naming the first record nested more than MAX_JSON_DEPTH levels deep
    (and its line, given the NDJSON body the records were read from)."""
    index = jsontext.first_too_deep(records)
    if index is None:
        return
    where = f"Record {index}"
    detail: dict[str, Any] = {"index": index}
    if ndjson_body is not None:
        line = next(itertools.islice(_ndjson_lines(ndjson_body), index, None))[0]
        where += f" (NDJSON line {line})"
        detail["line"] = line
    raise BodyError(
        400,
        f"{where} is nested more than {jsontext.MAX_JSON_DEPTH} levels deep",
        {**detail, "max_depth": jsontext.MAX_JSON_DEPTH},
    )


def _split_content_type(header: str | None) -> tuple[str, dict[str, str]]:
    media, _, rest = (header or "").partition(";")
    params: dict[str, str] = {}
    for param in rest.split(";"):
        name, equals, value = param.partition("=")
        if equals:
            params[name.strip().lower()] = value.strip().strip('"').lower()
    return media.strip().lower(), params


def _format_of(media: str) -> str | None:
    # Structured syntax suffixes (RFC 6839), e.g. JSON:API's application/vnd.api+json.
    if media.endswith("+json"):
        return JSON
    return _FORMATS.get(media)


def _too_large(max_bytes: int, size: int | None) -> BodyError:
    if size is None:
        message = f"The body is larger than {max_bytes:,} bytes, the most accepted per request"
    else:
        message = f"The body is {size:,} bytes; at most {max_bytes:,} are accepted per request"
    return BodyError(413, message, {"max_bytes": max_bytes})


def _too_many(count: int, max_records: int) -> BodyError:
    return BodyError(
        413,
        f"The batch has {count:,} records; at most {max_records:,} are accepted per request",
        {"records": count, "max_records": max_records},
    )


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return {str: "string", list: "array", dict: "object"}[type(value)]


def _first_invalid_utf8(data: bytes | memoryview) -> UnicodeDecodeError | None:
    try:
        str(data, "utf-8")
    except UnicodeDecodeError as error:
        return error
    return None


def _utf8_error(body: bytes) -> BodyError | None:
    """The first invalid UTF-8 byte of the body, with its line, or None if there is none."""
    error = _first_invalid_utf8(body)
    if error is None:
        return None
    line = body.count(b"\n", 0, error.start) + 1
    return BodyError(
        400,
        f"The body is not valid UTF-8 at byte {error.start} (line {line}): {error.reason}",
        {"position": error.start, "line": line},
    )


def _load_json(body: bytes) -> Any:
    # RFC 8259 lets parsers ignore a byte order mark; Windows tools write one.
    document = memoryview(body)[3:] if body.startswith(_BOM) else body
    try:
        return jsontext.loads(document)
    except jsontext.JSONDecodeError as error:
        # orjson reports bad UTF-8 at position 0; find the real byte (only on this error path).
        encoding_error = _utf8_error(body)
        if encoding_error is not None:
            raise encoding_error from None
        raise BodyError(
            400,
            f"Invalid JSON at line {error.lineno}, column {error.colno} (char {error.pos}): {error.msg}",
            {"line": error.lineno, "column": error.colno, "position": error.pos},
        ) from None


def _json_records(document: Any) -> list[Any]:
    if type(document) is dict:
        inner = document.get("records")
        records = inner if type(inner) is list else [document]
    elif type(document) is list:
        records = document
    else:
        raise BodyError(
            400,
            f"The body is a JSON {_kind(document)}; send an object, an array of objects, "
            'or {"records": [...]}',
        )
    _require_objects(records)
    return records


def _require_objects(records: list[Any]) -> None:
    for index, record in enumerate(records):
        if type(record) is not dict:
            raise BodyError(
                400,
                f"Record {index} is a JSON {_kind(record)}; each record must be a JSON object",
                {"index": index},
            )


def _ndjson_lines(body: bytes) -> Iterator[tuple[int, int, int]]:
    """(line number, start, stop) of each non-blank line, without its line ending."""
    start = 3 if body.startswith(_BOM) else 0
    number = 0
    size = len(body)
    while start < size:
        end = body.find(b"\n", start)
        if end == -1:
            end = size
        number += 1
        if not _BLANK_LINE.match(body, start, end):
            yield number, start, end
        start = end + 1


def _parse_ndjson(body: bytes, max_records: int | None) -> list[Any]:
    view = memoryview(body)
    load = jsontext.reader_for(body)
    records: list[Any] = []
    lines = _ndjson_lines(body)
    for number, start, end in lines:
        if len(records) == max_records:
            raise _too_many(max_records + 1 + sum(1 for _ in lines), max_records)
        try:
            record = load(view[start:end])
        except jsontext.JSONDecodeError as error:
            # Earlier lines were valid, so looking at this one line finds the first bad byte.
            encoding_error = _first_invalid_utf8(view[start:end])
            if encoding_error is not None:
                position = start + encoding_error.start
                raise BodyError(
                    400,
                    f"NDJSON line {number} is not valid UTF-8 at byte {position}: "
                    f"{encoding_error.reason}",
                    {"line": number, "position": position},
                ) from None
            raise BodyError(
                400,
                f"NDJSON line {number} is not valid JSON: {error.msg} at column {error.colno}",
                {"line": number, "column": error.colno},
            ) from None
        if type(record) is not dict:
            raise BodyError(
                400,
                f"NDJSON line {number} is a JSON {_kind(record)}; each line must be a JSON object",
                {"line": number},
            )
        records.append(record)
    check_depth(records, body)
    return records


def _parse_csv(body: bytes, max_records: int | None) -> list[dict[str, str]]:
    # newline="" hands line endings to the csv module, which keeps newlines inside quoted fields;
    # strict turns an unterminated quote into an error instead of a silently truncated value.
    text = io.TextIOWrapper(io.BytesIO(body), encoding="utf-8-sig", newline="")
    reader = csv.reader(text, strict=True)
    records: list[dict[str, str]] = []
    header = None
    row_start = 1
    try:
        header = _csv_header(reader)
        width = len(header)
        row_start = reader.line_num + 1
        for row in reader:
            row_line, row_start = row_start, reader.line_num + 1
            if not row:
                continue
            if len(records) == max_records:
                rest = sum(1 for row in reader if row)
                raise _too_many(max_records + 1 + rest, max_records)
            number = len(records) + 1
            if len(row) > width:
                raise BodyError(
                    400,
                    f"CSV row {number} (line {row_line}) has {len(row)} values "
                    f"but the header has {width} columns",
                    {"row": number, "line": row_line},
                )
            if len(row) < width:
                # Spreadsheets leave out trailing empty cells when they export; an empty cell is "",
                # which the validator treats as missing, so a short row is read like a blank tail.
                row.extend([""] * (width - len(row)))
            records.append(dict(zip(header, row, strict=True)))
    except UnicodeDecodeError:
        raise (_utf8_error(body) or BodyError(400, "The body is not valid UTF-8")) from None
    except csv.Error as error:
        if header is None:
            raise BodyError(
                400, f"CSV header is malformed: {error}", {"line": reader.line_num}
            ) from None
        number = len(records) + 1
        raise BodyError(
            400,
            f"CSV row {number} (line {row_start}) is malformed: {error}",
            {"row": number, "line": row_start},
        ) from None
    return records


def _csv_header(reader: Any) -> list[str]:
    header = next((row for row in reader if row), [])
    columns: dict[str, int] = {}
    for column, name in enumerate(header, start=1):
        if not name.strip():
            raise BodyError(
                400,
                f"CSV header column {column} is empty; every column needs a name",
                {"line": reader.line_num, "column": column},
            )
        if name in columns:
            raise BodyError(
                400,
                f"CSV header has {name!r} twice (columns {columns[name]} and {column})",
                {"line": reader.line_num, "column": column},
            )
        columns[name] = column
    return header


@lru_cache(maxsize=256)
def _compile(path: str) -> jmespath.parser.ParsedResult:
    return jmespath.compile(path)


def _walk(document: Any, keys: list[str]) -> Any:
    """The value at `keys`, None if a null is met on the way, _MISSING if a key is absent."""
    value = document
    for key in keys:
        if value is None:
            return None
        if type(value) is not dict or key not in value:
            return _MISSING
        value = value[key]
    return value


def _leading_fields(node: dict[str, Any]) -> tuple[list[str], bool]:
    """The plain keys a JMESPath expression starts with (`data` in `data[*].id`), and whether
    that is the whole expression."""
    if node["type"] == "field":
        return [node["value"]], True
    if node["type"] == "subexpression":
        left, whole = _leading_fields(node["children"][0])
        if not whole:
            return left, False
        right, whole = _leading_fields(node["children"][1])
        return left + right, whole
    if node["type"] in {"projection", "index_expression", "filter_projection", "flatten", "pipe"}:
        return _leading_fields(node["children"][0])[0], False
    return [], False
