from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import islice

from django.db import connection, models, transaction
from django.db.models import Min
from django.utils import timezone

from connectors import audit
from connectors.models import Connector
from mailbox import arrivals
from mailbox.expressions import IsoTimestamp

# Purges delete in batches so a big backlog never holds the write lock for long.
PURGE_BATCH = 5_000
# Rows of one COPY write: bounded, so a 10,000-record append never holds all its lines at once.
COPY_CHUNK = 500
# Rows of one multi-row INSERT: 5 values a row, well under SQLite's 32,766 a statement.
ROWS_PER_INSERT = 1000
# Appends of up to this many rows go to PostgreSQL as one statement (`_append_in_one_statement`);
# bigger ones as a COPY, which streams its rows instead of holding them all in one parameter.
POSTGRES_ONE_STATEMENT_UPTO = 1000


class MailboxSequence(models.Model):
    """The last sequence number given out in one mailbox.

    Writers lock this row until they commit, so sequence numbers become visible in
    increasing order: a reader never sees 10 while 9 is still uncommitted, and a
    cursor never skips a record.
    """

    mailbox = models.OneToOneField(
        Connector, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    last_seq = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.mailbox_id}: {self.last_seq}"


class MailboxRecordQuerySet(models.QuerySet):
    def after(self, mailbox_id: int, position: int):
        """Records of one mailbox past a position, oldest first: the keyset read every poll makes."""
        return self.filter(mailbox_id=mailbox_id, seq__gt=position).order_by("seq")

    def page(self, mailbox_id: int, position: int, limit: int) -> list[tuple[int, str, str]]:
        """Up to `limit + 1` rows of (seq, ISO created_at, JSON text); the extra row says "there is more"."""
        rows = self.after(mailbox_id, position).annotate(created=IsoTimestamp("created_at"))
        return list(rows.values_list("seq", "created", "data")[: limit + 1])

    def exists_after(self, mailbox_id: int, position: int) -> bool:
        return self.filter(mailbox_id=mailbox_id, seq__gt=position).exists()


class MailboxRecord(models.Model):
    # No index of its own: the (mailbox, seq) constraint's index starts with it, and every
    # index is one more b-tree insert per record on the ingest hot path.
    mailbox = models.ForeignKey(
        Connector, on_delete=models.CASCADE, related_name="mailbox_records", db_index=False
    )
    seq = models.BigIntegerField()
    # The record's JSON text, encoded once on write and spliced into responses as is.
    data = models.TextField()
    run_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MailboxRecordQuerySet.as_manager()

    class Meta:
        ordering = ["mailbox_id", "seq"]
        constraints = [
            # Also the keyset index every poll reads: WHERE mailbox_id = ? AND seq > ? ORDER BY seq.
            models.UniqueConstraint(fields=["mailbox", "seq"], name="mailbox_seq")
        ]

    def __str__(self) -> str:
        return f"{self.mailbox_id}#{self.seq}"


class ConsumerCursor(models.Model):
    """How far one named consumer of a mailbox has acknowledged."""

    mailbox = models.ForeignKey(
        Connector, on_delete=models.CASCADE, related_name="mailbox_consumers"
    )
    consumer = models.CharField(max_length=100, default="default")
    position = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["mailbox", "consumer"], name="one_cursor_per_consumer")
        ]

    def __str__(self) -> str:
        return f"{self.consumer}@{self.position}"

    @classmethod
    def register(cls, mailbox: Connector, consumer: str) -> int:
        """The consumer's committed position; its first read makes it known, so purges wait for it."""
        cursor, _ = cls.objects.get_or_create(mailbox=mailbox, consumer=consumer)
        return cursor.position

    @classmethod
    def commit(cls, mailbox: Connector, consumer: str, position: int) -> int:
        """Move the consumer's cursor forward to `position`; returns the committed position.

        Monotonic: the guarded update only ever raises the position, so a late or repeated
        acknowledgement of an older cursor cannot move a consumer back.
        """
        cls.objects.get_or_create(mailbox=mailbox, consumer=consumer)
        cls.objects.filter(mailbox=mailbox, consumer=consumer, position__lt=position).update(
            position=position, updated_at=timezone.now()
        )
        return cls.objects.get(mailbox=mailbox, consumer=consumer).position

    @classmethod
    def consumers_of(cls, mailbox: Connector) -> list[Consumer]:
        """Every known consumer of the mailbox with its backlog, by name."""
        # Cursors before the range: a record committed and acknowledged in between would
        # otherwise put a position past the `last` we read, and a backlog below zero.
        cursors = list(cls.objects.filter(mailbox=mailbox).order_by("consumer"))
        kept = KeptRecords.of(mailbox)
        return [
            Consumer(
                consumer=c.consumer,
                position=c.position,
                backlog=kept.waiting_after(c.position),
                # The row is created on the first read; only a move forward is an acknowledgement.
                acknowledged_at=c.updated_at if c.position else None,
            )
            for c in cursors
        ]

    @classmethod
    def forget(cls, mailbox: Connector, consumer: str) -> bool:
        """Delete one consumer's cursor; False when no such consumer is known.

        Purges wait for every known consumer, so a system that stopped reading for good holds
        back every record; once forgotten, purges delete what the remaining consumers
        acknowledged (and nothing at all if it was the last one, as in a mailbox nobody has
        read). If the system reads again it is a new consumer, starting at the oldest record
        still kept.
        """
        deleted, _ = cls.objects.filter(mailbox=mailbox, consumer=consumer).delete()
        if deleted:
            audit.record(
                "forget_consumer", "connector", mailbox.pk, mailbox.name, consumer=(consumer, None)
            )
        return deleted > 0


@dataclass(frozen=True)
class Consumer:
    """One system reading a mailbox, as the mailbox page and the management API show it."""

    consumer: str
    position: int
    backlog: int
    # None while the consumer has read but acknowledged nothing.
    acknowledged_at: datetime | None


@dataclass(frozen=True)
class KeptRecords:
    """The sequence numbers a mailbox still keeps: every one from `first` to `last`, no gaps.

    No gaps because `append_records` reserves the numbers and writes their records in one
    transaction (both or neither commit), and a purge deletes only a prefix of them (see
    `purge_acknowledged_records`). So the records waiting after a position are arithmetic
    on two index lookups, not a COUNT over a backlog that may be millions of rows. (Records
    deleted one by one in the admin are the exception: they still count.)
    """

    first: int  # last + 1 when the mailbox keeps nothing
    last: int

    @classmethod
    def of(cls, mailbox: Connector) -> KeptRecords:
        last = (
            MailboxSequence.objects.filter(mailbox=mailbox)
            .values_list("last_seq", flat=True)
            .first()
        ) or 0
        first = MailboxRecord.objects.filter(mailbox=mailbox).aggregate(first=Min("seq"))["first"]
        return cls(first=last + 1 if first is None else first, last=last)

    def waiting_after(self, position: int) -> int:
        """Records after `position`; one before the oldest kept record reads from that record
        (a consumer that came after a purge, or was forgotten and came back)."""
        return self.last - max(position, self.first - 1)


def committed_position(mailbox: Connector, consumer: str = "default") -> int:
    cursor = ConsumerCursor.objects.filter(mailbox=mailbox, consumer=consumer).first()
    return cursor.position if cursor else 0


def backlog(mailbox: Connector, consumer: str = "default") -> int:
    """How many records wait after the consumer's committed cursor (what the UI shows)."""
    position = committed_position(mailbox, consumer)  # first: see ConsumerCursor.consumers_of
    return KeptRecords.of(mailbox).waiting_after(position)


def purge_acknowledged_records(mailbox: Connector, now=None) -> int:
    """Delete the records every known consumer acknowledged that are older than the retention.

    A mailbox nobody has read or acknowledged keeps everything: unacknowledged records are
    never purged. Only a prefix of the sequence numbers goes: when clocks of two workers
    disagree a later record can be older, and it waits for the earlier one to expire, so the
    kept records stay one unbroken run (`KeptRecords`).
    """
    acknowledged = ConsumerCursor.objects.filter(mailbox=mailbox).aggregate(low=Min("position"))[
        "low"
    ]
    if not acknowledged:
        return 0
    cutoff = (now or timezone.now()) - timedelta(days=mailbox.retention_days)
    # Walks the (mailbox, seq) index from the oldest record and stops at the first one the
    # retention still keeps: it reads the expired records, which are deleted next anyway.
    fresh = (
        MailboxRecord.objects.filter(mailbox=mailbox, seq__lte=acknowledged, created_at__gte=cutoff)
        .order_by("seq")
        .values_list("seq", flat=True)
        .first()
    )
    expired = MailboxRecord.objects.filter(
        mailbox=mailbox, seq__lte=acknowledged if fresh is None else fresh - 1
    )
    purged = 0
    while batch := list(expired.order_by("seq").values_list("pk", flat=True)[:PURGE_BATCH]):
        purged += MailboxRecord.objects.filter(pk__in=batch).delete()[0]
    if purged:
        audit.record("purge", "connector", mailbox.pk, mailbox.name, records=(purged, None))
    return purged


def append_records(mailbox: Connector, texts: list[str], run_id: int | None = None) -> int:
    """Append already-encoded JSON records to a mailbox; returns the last sequence number.

    Must run inside the caller's transaction: the sequence row stays locked until the
    commit, which is what keeps sequence numbers visible in increasing order.
    """
    if not texts:
        return 0
    created = connection.ops.adapt_datetimefield_value(timezone.now())
    mailbox_id = mailbox.pk
    if connection.vendor == "postgresql" and len(texts) <= POSTGRES_ONE_STATEMENT_UPTO:
        last = _append_in_one_statement(mailbox, texts, run_id, created)
    else:
        last = _reserve_sequence(mailbox, len(texts))
        first = last - len(texts) + 1
        # Rows are made as they are written, never all at once: a 10,000-record body's rows were
        # another 1 MiB alive beside its texts while the write lock was held.
        rows = ((mailbox_id, first + i, text, run_id, created) for i, text in enumerate(texts))
        _insert_rows(rows, len(texts))
    # Long polls waiting in this process answer at once instead of at their next check.
    transaction.on_commit(lambda: arrivals.announce(mailbox_id))
    return last


def _append_in_one_statement(mailbox: Connector, texts: list[str], run_id, created) -> int:
    """PostgreSQL: reserve the numbers and insert the rows in one statement, one round trip
    where the sequence UPDATE and a COPY took three. Each round trip of a pull's page is a wait
    that ends with taking the GIL back from the thread reading the next page; three of them
    were about a third of the page's writing time.

    The texts travel as one array literal (escaped with chained replaces, as `copy_lines`
    does): one parameter, where a multi-row INSERT has the driver quote one per row."""
    seq = connection.ops.quote_name(MailboxSequence._meta.db_table)
    table = connection.ops.quote_name(MailboxRecord._meta.db_table)
    sql = (
        f"WITH s AS (UPDATE {seq} SET last_seq = last_seq + %s WHERE mailbox_id = %s"
        " RETURNING last_seq),"
        f" i AS (INSERT INTO {table} (mailbox_id, seq, data, run_id, created_at)"
        " SELECT %s, s.last_seq - %s + t.n, t.data, %s::bigint, %s::timestamptz FROM s,"
        " unnest(%s::text[]) WITH ORDINALITY AS t(data, n))"
        " SELECT last_seq FROM s"
    )
    count = len(texts)
    array = '{"' + '","'.join(_array_element(text) for text in texts) + '"}'
    return _take_numbers(
        mailbox, sql, [count, mailbox.pk, mailbox.pk, count, run_id, created, array]
    )


def _array_element(text: str) -> str:
    """The inside of a quoted element of an array literal, where a backslash escapes."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _insert_rows(rows: Iterator[tuple], count: int) -> None:
    """The hot path of every pipeline into a mailbox, while the sequence row is locked: plain
    SQL, no model instances (several times faster for pages of hundreds of records).

    `rows` are consumed as they are written: `count` of them."""
    table = connection.ops.quote_name(MailboxRecord._meta.db_table)
    columns = "(mailbox_id, seq, data, run_id, created_at)"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Only appends over POSTGRES_ONE_STATEMENT_UPTO come here. COPY streams the rows:
            # 1,000 records took 34 ms, against 52 ms as one INSERT and 88 ms with executemany
            # (psycopg 3.3, PostgreSQL 15, in one transaction). Written as COPY's text,
            # COPY_CHUNK rows to a write: psycopg's write_row, a call and a formatting per row,
            # was 12% of a 1,000-record request's CPU.
            lines = copy_lines(rows)
            with cursor.copy(f"COPY {table} {columns} FROM STDIN") as copy:
                while chunk := "".join(islice(lines, COPY_CHUNK)):
                    copy.write(chunk)
            return
        # SQLite: multi-row INSERTs, one statement where executemany parses, binds and runs
        # each row (about 40% less per row).
        for start in range(0, count, ROWS_PER_INSERT):
            size = min(ROWS_PER_INSERT, count - start)
            values = ", ".join(["(%s, %s, %s, %s, %s)"] * size)
            params = [v for row in islice(rows, size) for v in row]
            cursor.execute(f"INSERT INTO {table} {columns} VALUES {values}", params)


NULL = "\\N"  # in COPY's text format


def copy_lines(rows: Iterator[tuple]) -> Iterator[str]:
    """Mailbox rows as lines of COPY's text format, where a backslash starts an escape and a tab
    or a line break ends a value or a row. Record texts are JSON, which holds no raw control
    character but may hold a backslash (chained replaces: 1 µs a record; str.translate, 30)."""
    stamp = None
    for mailbox_id, seq, text, run_id, created in rows:
        if stamp is None:
            stamp = created.isoformat()  # one time for all rows of an append
        text = (
            text.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
        run = NULL if run_id is None else run_id
        yield f"{mailbox_id}\t{seq}\t{text}\t{run}\t{stamp}\n"


def _reserve_sequence(mailbox: Connector, count: int) -> int:
    """Take `count` sequence numbers; the row stays locked until the caller commits."""
    table = connection.ops.quote_name(MailboxSequence._meta.db_table)
    sql = f"UPDATE {table} SET last_seq = last_seq + %s WHERE mailbox_id = %s RETURNING last_seq"
    return _take_numbers(mailbox, sql, [count, mailbox.pk])


def _take_numbers(mailbox: Connector, sql: str, params: list) -> int:
    """Run `sql`, which takes numbers from the mailbox's sequence row and returns the last one
    taken; on the mailbox's first append (no row yet, nothing returned) the row is created and
    `sql` run again."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
        if row is None:
            MailboxSequence.objects.get_or_create(mailbox=mailbox)
            cursor.execute(sql, params)
            row = cursor.fetchone()
    return row[0]
