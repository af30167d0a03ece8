"""SQL that lets a page of records go out without building a Python object per record."""

from __future__ import annotations

from django.db import NotSupportedError
from django.db.models import CharField, Func


class IsoTimestamp(Func):
    """A UTC datetime column as ISO 8601 text ending in `Z`, written by the database.

    Django turns every datetime it reads into an aware `datetime` and the page turns it back
    into text: for a 1,000-record page that round trip cost more than the query itself.
    """

    arity = 1
    output_field = CharField()

    def as_sqlite(self, compiler, connection, **extra):
        # Django stores an aware datetime in SQLite as naive UTC text: `2026-03-02 09:00:00.001123`.
        return self.as_sql(
            compiler, connection, template="REPLACE(%(expressions)s, ' ', 'T') || 'Z'", **extra
        )

    def as_postgresql(self, compiler, connection, **extra):
        return self.as_sql(
            compiler,
            connection,
            template="""to_char(%(expressions)s AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')""",
            **extra,
        )

    def as_sql(self, compiler, connection, **extra):
        if "template" not in extra:
            raise NotSupportedError(
                f"Mailbox timestamps support SQLite and PostgreSQL, not {connection.vendor}."
            )
        return super().as_sql(compiler, connection, **extra)
