"""JSON-lines logs (`LOG_FORMAT=json`): one object per line, for log shippers to index.

The fields a call passes in `extra` (run_id, delivery_id, ...) become keys of the object,
so "every attempt of delivery 42" is a query, not a regular expression.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

import orjson

# The attributes every LogRecord has; anything else on a record came from `extra`.
STANDARD_ATTRIBUTES = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JsonLinesFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in STANDARD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = value
        request = entry.get("request")
        if hasattr(request, "method") and hasattr(request, "path"):
            # Django's request logger passes the request, whose text is the whole URL: the query
            # string may hold a credential (an ingest endpoint's `?token=`). The path says where.
            entry["request"] = f"{request.method} {request.path}"
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # default=str: an `extra` value that JSON cannot hold is logged as text, never lost.
        return orjson.dumps(entry, default=str).decode()


# The redaction step, handed over by `connectors.redaction` when it is imported: this module
# imports nothing above it.
_redact: Callable[[str], str] | None = None


def use_redaction(redact: Callable[[str], str]) -> None:
    global _redact
    _redact = redact


class RedactSecrets(logging.Filter):
    """The last line of defence: every log line passes through the redaction step, fed with the
    secrets of every connector this process worked for (`connectors.redaction.redact_known`).

    Our own messages are redacted where they are made; this catches what others write, such as
    a library's exception text in a traceback.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        redact = _redact
        if redact is None:
            return True  # no connector's secret was loaded in this process
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        for key, value in list(vars(record).items()):
            if key not in STANDARD_ATTRIBUTES and isinstance(value, str):
                setattr(record, key, redact(value))
        return True
