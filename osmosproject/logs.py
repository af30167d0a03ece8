"""JSON-lines logs (`LOG_FORMAT=json`): one object per line, for log shippers to index.

The fields a call passes in `extra` (run_id, delivery_id, ...) become keys of the object,
so "every attempt of delivery 42" is a query, not a regular expression.
"""

from __future__ import annotations

import logging
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
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        # default=str: an `extra` value that JSON cannot hold is logged as text, never lost.
        return orjson.dumps(entry, default=str).decode()
