"""Queries compiled to SQL once, for the per-request lookups and writes of the ingest hot path.

Compiling a queryset (joins, `only()`, `select_related`) costs more than running it: on a
one-record ingest request the two lookups (the endpoint by slug, the pipelines of its
source) spent most of their time in Django's SQL compiler. A `PreparedQuery` compiles the
queryset once per database connection with marker values, remembers where each marker sits
among the parameters, and on each call runs the same SQL with the real values, building the
model instances (related ones included) the way Django's own iterator does.

A `PreparedInsert` does the same for `Model.save()` of a new row (the run and its counts on
every ingest request): the INSERT statement is written once, and each call only converts
the instance's values the way the field does for `save()`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from itertools import islice
from typing import Any

from django.db import connections
from django.db.models.query import get_related_populators

# Parameters in one multi-row INSERT at most: PostgreSQL's protocol takes 65,535 (SQLite's
# own, smaller limit comes from Django's `bulk_batch_size`).
MAX_PARAMS = 30_000
# From this many rows `PreparedInsert.many` goes to PostgreSQL as a COPY; fewer, as one
# INSERT: COPY's extra round trip costs more than it saves on a handful of rows.
POSTGRES_COPY_FROM = 50


class PreparedQuery:
    """`PreparedQuery(lambda slug, kind: Model.objects.filter(slug=slug, kind=kind))`.

    The builder's arguments are the only values that may change between calls; everything
    else about the queryset is fixed when it is first compiled.
    """

    def __init__(
        self, build: Callable[..., Any], *, using: str = "default", reuse: bool = False
    ) -> None:
        self.build = build
        self.using = using
        self._compiled: dict[Any, tuple] = {}
        # reuse=True: when a call's rows equal the previous call's for the same values, the
        # instances built then are copied instead of built again. The query still runs every
        # time, so nothing is ever stale; only building the instances is saved. Each call gets
        # copies (deferred fields load on the copy, never into the shared instances), but the
        # copies share mutable values (a JSON field's dict): read them, never change them.
        self.reuse = reuse
        self._last: dict[Any, tuple[list, list]] = {}

    def __call__(self, *values: Any) -> list:
        connection = connections[self.using]
        key = (connection.vendor, tuple(type(v) is int for v in values))
        compiled = self._compiled.get(key)
        if compiled is None:
            compiled = self._compiled[key] = self._compile(values)
        _, sql, params, positions, *_ = compiled
        params = list(params)
        for position, index in positions:
            # Plain values: a TextChoices member is a str subclass some drivers refuse.
            value = values[index]
            params[position] = str(value) if isinstance(value, str) else value
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
        if self.reuse:
            last_key = (connection.alias, connection.vendor, values)
            last = self._last.get(last_key)
            if last is not None and last[0] == rows:
                return [fresh_copy(obj) for obj in last[1]]
            objects = self._build(compiled, rows)
            if len(self._last) > 1000:  # bounded however many endpoints are looked up
                self._last.clear()
            self._last[last_key] = (rows, objects)
            return [fresh_copy(obj) for obj in objects]
        return self._build(compiled, rows)

    def _build(self, compiled: tuple, rows: list) -> list:
        compiler, _, _, _, converters, init_list, start, end, populators = compiled
        if converters:
            rows = compiler.apply_converters(rows, converters)
        model = compiler.klass_info["model"]
        objects = []
        for row in rows:
            obj = model.from_db(self.using, init_list, row[start:end])
            for populator in populators:
                populator.populate(row, obj)
            objects.append(obj)
        return objects

    def _compile(self, values: tuple) -> tuple:
        # Values no real query holds, of the type of each argument (an id is checked as a number).
        markers = [
            -(10**15) - i if type(value) is int else f"\x00prepared-{i}\x00"
            for i, value in enumerate(values)
        ]
        queryset = self.build(*markers)
        compiler = queryset.query.get_compiler(using=self.using)
        sql, params = compiler.as_sql()
        positions = [
            (position, markers.index(value))
            for position, value in enumerate(params)
            if type(value) in (int, str) and value in markers
        ]
        if len(positions) != len(values):
            raise ValueError("every value must appear once among the query's parameters")
        select_fields = compiler.klass_info["select_fields"]
        start, end = select_fields[0], select_fields[-1] + 1
        init_list = [f[0].target.attname for f in compiler.select[start:end]]
        populators = get_related_populators(compiler.klass_info, compiler.select, self.using)
        converters = compiler.get_converters([column for column, _, _ in compiler.select])
        return (
            compiler,
            sql,
            tuple(params),
            positions,
            converters,
            init_list,
            start,
            end,
            populators,
        )


def fresh_copy(obj: Any, copies: dict | None = None) -> Any:
    """A copy of a model instance and of the related instances loaded with it (a one-to-one's
    reverse side points back: copied once): what is loaded or cached later on the copy stays
    with the copy."""
    copies = {} if copies is None else copies
    if id(obj) in copies:
        return copies[id(obj)]
    copy = copies[id(obj)] = object.__new__(type(obj))
    copy.__dict__ = obj.__dict__.copy()
    state = copy._state = object.__new__(type(obj._state))
    state.__dict__ = obj._state.__dict__.copy()
    state.fields_cache = {
        name: None if related is None else fresh_copy(related, copies)
        for name, related in obj._state.fields_cache.items()
    }
    return copy


class PreparedInsert:
    """`PreparedInsert(Run)(run)` inserts `run` as `run.save(force_insert=True)` would, and sets
    its primary key; `.many(objects)` inserts a list as `bulk_create` would (multi-row INSERTs,
    or a COPY into PostgreSQL). No signals are sent, as with `bulk_create`: only for models
    nothing listens to (not audited)."""

    def __init__(self, model: type, *, using: str = "default") -> None:
        self.model = model
        self.using = using
        self.fields = [field for field in model._meta.concrete_fields if not field.generated]
        self.fields = [field for field in self.fields if field is not model._meta.auto_field]
        self._sql: dict[tuple[str, int], str] = {}

    def __call__(self, obj: Any) -> None:
        connection = connections[self.using]
        with connection.cursor() as cursor:
            cursor.execute(self._statement(connection, 1), self.row(obj))
            obj.pk = cursor.fetchone()[0]
        self._saved(obj)

    def many(self, objs: list) -> list:
        """Insert `objs` as `bulk_create` would and set their primary keys; returns `objs`."""
        if not objs:
            return objs
        pks = self.insert_rows((self.row(obj) for obj in objs), len(objs))
        for obj, pk in zip(objs, pks, strict=True):
            obj.pk = pk
            self._saved(obj)
        return objs

    def row(self, obj: Any) -> list:
        """`obj`'s values as the database takes them, in the order of `fields` (`pre_save`
        included: an `auto_now` field is set on `obj` too)."""
        connection = connections[self.using]
        return [
            field.get_db_prep_save(field.pre_save(obj, True), connection) for field in self.fields
        ]

    def insert_alike(
        self, template: Any, names: tuple[str, ...], values: Iterable[tuple], count: int
    ) -> list:
        """Insert `count` rows that are `template`'s `row` but for the fields `names`, which each
        tuple of `values` gives as the database takes them; their primary keys, in order.

        For many rows that share most of their columns (a run's deliveries, its rejected
        records): no model instance and no field conversion per row, which cost more than the
        insert itself."""
        row = self.row(template)
        positions = [self.fields.index(self.model._meta.get_field(name)) for name in names]

        def rows():
            for changed in values:
                for position, value in zip(positions, changed, strict=True):
                    row[position] = value
                yield list(row)

        return self.insert_rows(rows(), count)

    def insert_rows(self, rows: Iterable[list], count: int) -> list:
        """Insert `count` rows of database values, each as `row` gives them; their primary keys,
        in order.

        `bulk_create` on PostgreSQL binds each column as an array (UNNEST) that the driver
        quotes value by value in Python: 95 deliveries (one per record) and their payloads took
        25 of the 42 ms of CPU of a 100-record ingest request, each JSON payload's quotes
        escaped one regular-expression match at a time. A multi-row INSERT of that many values
        is no better there (the driver splits a statement of over 50 parameters anew on every
        call), so PostgreSQL gets a COPY, the keys taken from the table's sequence beforehand;
        SQLite, which binds parameters itself, multi-row INSERTs."""
        connection = connections[self.using]
        if connection.vendor == "postgresql" and count >= POSTGRES_COPY_FROM:
            return self._copy(rows, count, connection)
        size = max(
            1,
            min(
                connection.ops.bulk_batch_size(self.fields, range(count)),
                MAX_PARAMS // len(self.fields),
            ),
        )
        rows = iter(rows)
        pks: list = []
        with connection.cursor() as cursor:
            while chunk := list(islice(rows, size)):
                params = [value for row in chunk for value in row]
                cursor.execute(self._statement(connection, len(chunk)), params)
                # In the order of the VALUES, as Django's bulk_create relies on too.
                pks.extend(pk for (pk,) in cursor.fetchall())
        return pks

    def _copy(self, rows: Iterable[list], count: int, connection) -> list:
        quote = connection.ops.quote_name
        meta = self.model._meta
        # An auto key is written too: drawn beforehand from the same sequence (or identity)
        # the INSERT would have used. Any other key is one of the fields.
        keyed = meta.auto_field is not None
        columns = [quote(meta.auto_field.column)] if keyed else []
        columns += [quote(field.column) for field in self.fields]
        key_index = None if keyed else self.fields.index(meta.pk)
        pks = []
        with connection.cursor() as cursor:
            if keyed:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                    [meta.db_table, meta.auto_field.column, count],
                )
                pks = [pk for (pk,) in cursor.fetchall()]
            sql = f"COPY {quote(meta.db_table)} ({', '.join(columns)}) FROM STDIN"
            with cursor.copy(sql) as copy:
                if keyed:
                    for pk, row in zip(pks, rows, strict=True):
                        copy.write_row([pk, *row])
                else:
                    for row in rows:
                        copy.write_row(row)
                        pks.append(row[key_index])
        return pks

    def _saved(self, obj: Any) -> None:
        obj._state.adding = False
        obj._state.db = self.using

    def _statement(self, connection, rows: int) -> str:
        key = (connection.vendor, rows)
        sql = self._sql.get(key)
        if sql is None:
            quote = connection.ops.quote_name
            columns = ", ".join(quote(field.column) for field in self.fields)
            row = "(" + ", ".join(["%s"] * len(self.fields)) + ")"
            sql = (
                f"INSERT INTO {quote(self.model._meta.db_table)} ({columns}) "
                f"VALUES {', '.join([row] * rows)} "
                f"RETURNING {quote(self.model._meta.pk.column)}"
            )
            if len(self._sql) < 64:  # the usual sizes; any other is written each time
                self._sql[key] = sql
        return sql
