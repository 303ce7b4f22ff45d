"""The transactional outbox: messages are stored in the same transaction as their cause.

A workflow that records a fact (a fever report) and decides to tell someone
(the community doctor) calls :func:`enqueue` with the unit of work it is
already writing in. Either both the fact and the message are committed, or
neither is; the dispatcher (:mod:`gridguard.notifications.dispatcher`) delivers
later, from the stored copy.

The outbox is append-only. A message is an insert-once fact
(:class:`~gridguard.model.messages.OutboxMessage`); its delivery state is
derived from its attempt log, insert-once facts too
(:class:`~gridguard.model.messages.DeliveryAttempt`):

* no entry: pending, due at ``not_before`` (or at once);
* the latest entry a claim: in flight until its lease (``due_at``) runs out,
  then pending again (the dispatcher that claimed it died);
* the latest entry a failure: pending, due at its retry time;
* any entry ``sent`` or ``dead``: settled, for good.

Enqueuing a message whose id is already stored does nothing, whatever its
state, so a retried workflow can never send a delivered message again.

On SQLite the unsettled messages are also listed in ``outbox_pending``
(message id, channel, when due, latest attempt and its error): enqueue adds
a row in the same statement batch as the message, :func:`record_attempts`
moves it on or removes it in the same transaction as the log entry. A claim
round reads that small table instead of the whole outbox, so its cost follows
the pending messages, not the history. The attempt log stays the truth: a
pending row whose message turns out settled is dropped when a claim meets it.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import sqlite3
import uuid
from collections import Counter, defaultdict
from collections.abc import Collection, Iterable, Sequence
from typing import TYPE_CHECKING, Any, cast

import attrs

from ..errors import ValidationError, Violation
from ..model._validate import _CONTROL, _IDENT
from ..model.messages import DeliveryAttempt, DeliveryOutcome, OutboxMessage
from ..notify.base import Message
from ..serialization import converter
from ..storage.capabilities import NewRowLoading, NewRowSending, RawConnection
from ..storage.dialect import SqlDialect, SQLiteDialect
from ..storage.schema import decode_timestamp, encode_timestamp, spec_for

if TYPE_CHECKING:
    from ..storage.base import SaveResult, UnitOfWork

__all__ = [
    "RATE_LIMITED",
    "Due",
    "MessageState",
    "dead_letters",
    "due_messages",
    "enqueue",
    "enqueue_staged",
    "history",
    "next_due",
    "outbox_status",
    "recent_sends",
    "record_attempts",
    "state_of",
    "to_message",
    "to_outbox",
    "totals",
]


class MessageState(enum.StrEnum):
    """Where a message is in its delivery, as its attempt log says."""

    PENDING = "pending"
    """Not tried yet, or failed and waiting for its retry."""
    IN_FLIGHT = "in_flight"
    """Claimed by a dispatcher whose lease has not run out."""
    SENT = "sent"
    DEAD = "dead"


RATE_LIMITED = "rate limited: "
"""Starts the error of a failure that was a robot's "too fast" reply: not a failed attempt."""


@attrs.frozen
class Due:
    """A message that is due for delivery, with how many attempts it has had.

    ``rate_limited`` of those attempts were refused for coming too fast
    (their error starts with :data:`RATE_LIMITED`); they do not count
    towards the dead letter.
    """

    message: OutboxMessage
    attempts: int
    last_error: str = ""
    rate_limited: int = 0


def to_outbox(message: Message, area_id: str | None = None) -> OutboxMessage:
    """The stored form of ``message``; ``area_id`` is used when the message names none.

    Raises :class:`ValidationError` (paths relative to the message) when the
    message has no place, or a field is not storable.
    """
    area = message.area_id or area_id
    if area is None:
        raise ValidationError.single(
            "$.area_id",
            "None",
            "a message needs the place it concerns: its community owns the outbox row",
        )
    return OutboxMessage(
        id=message.id,
        at=message.at,
        area_id=area,
        channel=message.channel,
        recipient=message.recipient,
        topic=message.topic,
        subject=message.subject,
        body=message.body,
        data=message.data,
        not_before=message.not_before,
    )


def to_message(stored: OutboxMessage) -> Message:
    """The :class:`~gridguard.notify.Message` a notifier receives for a stored outbox row."""
    return Message(
        id=stored.id,
        recipient=stored.recipient,
        subject=stored.subject,
        body=stored.body,
        data=stored.data,
        channel=stored.channel,
        area_id=stored.area_id,
        topic=stored.topic,
        at=stored.at,
        not_before=stored.not_before,
    )


def _row(message: Message, area_id: str | None, latest: dt.datetime) -> tuple[Any, ...]:
    """The stored row of ``message`` (columns of :class:`OutboxMessage`), checked as it is built.

    Building rows directly, rather than through the record class, keeps the
    outbox's share of its cause's transaction small: a well-formed message
    takes one pass of cheap checks, and only a bad one the full report.
    ``latest`` is the latest acceptable ``at``. Raises
    :class:`ValidationError` with paths relative to the message.
    """
    area = message.area_id or area_id
    channel, recipient, topic = message.channel, message.recipient, message.topic
    subject, body, at = message.subject, message.body, message.at
    if (
        isinstance(area, str)
        and isinstance(channel, str)
        and isinstance(recipient, str)
        and isinstance(topic, str)
        and isinstance(subject, str)
        and isinstance(body, str)
        and at <= latest
        and channel.strip()
        and recipient.strip()
        and topic.strip()
        and _IDENT.match(area)
        and not _CONTROL.search(channel + recipient + topic)
    ):
        data = _plain_json(message.data)
        if data is not None:
            return _encoded(message, area, data)
    return _checked_row(message, area, latest)


def _plain_json(data: Any) -> str | None:
    """``data`` as JSON text when it holds only JSON's own types (an alert's role, ids,
    rule names), else ``None`` for the converter to unstructure."""
    if not data:
        return "{}"
    try:
        return json.dumps(dict(data), ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError):
        return None


def _encoded(message: Message, area: str, data: str) -> tuple[Any, ...]:
    """The outbox row of a checked ``message``, its ``data`` already JSON text."""
    not_before = message.not_before
    return (
        str(message.id),
        encode_timestamp(message.at),
        None,
        area,
        message.channel,
        message.recipient,
        message.topic,
        message.subject,
        message.body,
        data,
        None if not_before is None else encode_timestamp(not_before),
    )


def _checked_row(message: Message, area: str | None, latest: dt.datetime) -> tuple[Any, ...]:
    """:func:`_row` for a message with data, or one that may be bad: every problem is named."""
    problems: list[Violation] = []
    if area is None:
        problems.append(
            Violation(
                "$.area_id",
                "None",
                "a message needs the place it concerns: its community owns the outbox row",
            )
        )
    elif not isinstance(area, str) or not _IDENT.match(area):
        problems.append(Violation("$.area_id", repr(area), "not an id"))
    channel, recipient, topic = message.channel, message.recipient, message.topic
    for name, value in (("channel", channel), ("recipient", recipient), ("topic", topic)):
        if not isinstance(value, str) or not value.strip() or _CONTROL.search(value):
            problems.append(Violation(f"$.{name}", repr(value), "must be text, not empty"))
    subject, body = message.subject, message.body
    if not isinstance(subject, str):
        problems.append(Violation("$.subject", repr(subject), "must be text"))
    if not isinstance(body, str):
        problems.append(Violation("$.body", repr(body), "must be text"))
    if message.at > latest:
        problems.append(Violation("$.at", message.at.isoformat(), "must not be in the future"))
    data = "{}"
    if message.data:
        try:
            data = json.dumps(
                converter.unstructure(dict(message.data)), ensure_ascii=False, sort_keys=True
            )
        except (TypeError, ValueError) as exc:
            problems.append(Violation("$.data", "(not JSON)", f"must be JSON data: {exc}"))
    if problems:
        raise ValidationError(problems)
    return _encoded(message, cast(str, area), data)  # not a str: a problem above


def enqueue(
    uow: UnitOfWork,
    messages: Iterable[Message],
    *,
    area_id: str | None = None,
    wait: bool = True,
) -> int:
    """Store ``messages`` in the outbox inside the caller's transaction ``uow``.

    Idempotent by :attr:`Message.id <gridguard.notify.Message.id>`: an id
    that is already stored (pending, sent or dead, with the same content or
    not) is left as it is, and the
    same id twice in ``messages`` is stored once (the first wins). Returns
    how many messages were newly stored. ``area_id`` is the place for
    messages that name none. A bad message raises :class:`ValidationError`
    with its position ``$[i]``, and nothing is stored.

    ``wait=False`` lets a store that can (PostgreSQL's ``send_new_rows``)
    insert the messages on its server while the caller goes on; the
    transaction's next statement or its commit waits for them and raises
    any error. The return is then the number of distinct messages handed
    over, which counts ids stored before as well. Other stores ignore it.
    """
    rows: list[tuple[Any, ...]] = []
    positions: list[int] = []
    seen: set[uuid.UUID] = set()
    violations: list[Violation] = []
    latest = dt.datetime.now(dt.UTC) + _FUTURE_SLACK
    for n, message in enumerate(messages):
        if message.id in seen:
            continue
        seen.add(message.id)
        try:
            row = _row(message, area_id, latest)
        except ValidationError as exc:
            violations.extend(exc.prefixed(f"$[{n}]").violations)
            continue
        rows.append(row)
        positions.append(n)
    if violations:
        raise ValidationError(violations)
    if not rows:
        return 0
    conn = _sqlite(uow)
    if conn is not None:
        try:
            return _insert_sqlite(conn, rows)
        except sqlite3.IntegrityError:
            pass  # an unknown area: the portable path below names it
    send_new = uow.send_new_rows if not wait and isinstance(uow, NewRowSending) else None
    if send_new is not None:
        return int(send_new(OutboxMessage, rows))
    load_new = uow.load_new_rows if isinstance(uow, NewRowLoading) else None
    if load_new is not None:
        # A store's own insert-if-absent (PostgreSQL): one statement, no look-up first.
        try:
            return int(load_new(OutboxMessage, rows))
        except ValidationError as exc:
            raise exc.at_positions(positions) from None
    # Insert-if-absent with the protocol's own operations: an id that is stored
    # keeps its row (and so its delivery log), whatever the new content.
    stored = uow.existing_ids(OutboxMessage, {str(row[0]) for row in rows})
    if stored:
        kept = [
            (row, n) for row, n in zip(rows, positions, strict=True) if str(row[0]) not in stored
        ]
        rows, positions = [row for row, _ in kept], [n for _, n in kept]
    if not rows:
        return 0
    try:
        return uow.load_rows(OutboxMessage, rows)
    except ValidationError as exc:
        raise exc.at_positions(positions) from None


def enqueue_staged(uow: UnitOfWork, dialect: SqlDialect, table: str) -> int:
    """Store the messages of the table ``table`` in the outbox: a set-based :func:`enqueue`.

    ``table`` (a temporary table of the caller's, or any relation) has the
    outbox's columns by name, each in gridguard's row encoding (what
    :meth:`TableSpec.encode <gridguard.storage.schema.TableSpec.encode>`
    gives): ``id``, ``at``, ``recorded_by``, ``area_id``, ``channel``,
    ``recipient``, ``topic``, ``subject``, ``body``, ``data`` (JSON text)
    and ``not_before``, one row per id. Rows whose id is stored are left
    out, as :func:`enqueue` leaves them; the others are stored with their
    community's jurisdiction and, where the store keeps them, their pending
    entries. The caller made the rows and vouches for them: nothing is
    checked row by row. Returns how many messages were stored.
    """
    spec = spec_for(OutboxMessage)
    kinds = {c.name: c.kind for c in spec.columns}
    ident = dialect.stored_value(kinds["id"], "id")
    _statement(uow, f"DELETE FROM {table} WHERE {ident} IN (SELECT id FROM outbox)")
    ((count,),) = list(uow.query(f"SELECT count(*) FROM {table}"))
    if not count:
        return 0
    names = ", ".join(f'"{c}"' for c in spec.column_names)
    values = ", ".join(dialect.stored_value(kinds[c], f's."{c}"') for c in spec.column_names)
    _statement(
        uow,
        f'INSERT INTO outbox ({names}, "jurisdiction") SELECT {values}, '
        f"(SELECT a.jurisdiction FROM areas a WHERE a.id = s.area_id) FROM {table} s",
    )
    if _sqlite(uow) is not None:
        _statement(
            uow,
            'INSERT INTO outbox_pending ("message_id", "channel", "due_at") '
            f"SELECT id, channel, coalesce(not_before, at) FROM {table}",
        )
    return int(count)


def _statement(uow: UnitOfWork, sql: str) -> None:
    list(uow.query(sql))


def _sqlite(uow: UnitOfWork) -> sqlite3.Connection | None:
    """The raw connection of a SQLite unit of work (it keeps ``outbox_pending``), or ``None``."""
    conn = uow.connection if isinstance(uow, RawConnection) else None
    return conn if isinstance(conn, sqlite3.Connection) else None


_INSERT_SQLITE = (
    'INSERT INTO outbox ("id", "at", "recorded_by", "area_id", "channel", "recipient", "topic", '
    '"subject", "body", "data", "not_before", "jurisdiction") '
    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
    "(SELECT jurisdiction FROM areas WHERE id = ?4)) "
    'ON CONFLICT ("id") DO NOTHING'
)
"""One outbox row, inserted if its id is absent, with no look-up of its own beforehand."""

_PENDING_SQLITE = (
    'INSERT INTO outbox_pending ("message_id", "channel", "due_at") '
    "SELECT ?1, ?2, ?3 WHERE NOT EXISTS (SELECT 1 FROM outbox_attempts "
    "WHERE message_id = ?1 AND outcome IN ('sent', 'dead')) "
    'ON CONFLICT ("message_id") DO NOTHING'
)
"""The message's pending entry; a message already stored keeps its entry (or settled: none)."""


_PENDING_NEW = 'INSERT INTO outbox_pending ("message_id", "channel", "due_at") VALUES (?1, ?2, ?3)'
"""The pending entry of a message just stored for the first time."""

_PENDING_IF_STORED = _PENDING_SQLITE.replace(
    "WHERE NOT EXISTS", "WHERE EXISTS (SELECT 1 FROM outbox WHERE id = ?1) AND NOT EXISTS"
)
"""The same, only for messages that are stored (after a batch that stopped half-way)."""


def _insert_sqlite(conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> int:
    """Insert ``rows`` and their pending entries; returns how many messages were new.

    A row that breaks a constraint (an unknown area) stops the batch with
    :class:`sqlite3.IntegrityError`; the rows stored before it still get their
    pending entries, so that whatever the caller then commits can be delivered.
    """
    pending = [(row[0], row[4], row[10] if row[10] is not None else row[1]) for row in rows]
    try:
        if len(rows) == 1:
            added = conn.execute(_INSERT_SQLITE, rows[0]).rowcount
        else:
            added = conn.executemany(_INSERT_SQLITE, rows).rowcount
    except sqlite3.IntegrityError:
        conn.executemany(_PENDING_IF_STORED, pending)
        raise
    if added == len(rows):  # all new: no log, no pending entry yet
        if len(rows) == 1:
            conn.execute(_PENDING_NEW, pending[0])
        else:
            conn.executemany(_PENDING_NEW, pending)
    else:
        conn.executemany(_PENDING_SQLITE, pending)
    return added


def record_attempts(uow: UnitOfWork, entries: Sequence[DeliveryAttempt]) -> SaveResult:
    """Append ``entries`` to their messages' attempt logs, in ``uow``.

    What :meth:`~gridguard.storage.base.UnitOfWork.save_facts` does (an
    entry whose id is stored with other content, such as a claim another
    dispatcher made first, is a :class:`~gridguard.errors.ConflictError`),
    and on SQLite it moves each message's pending entry on in the same
    transaction: a claim or a failure sets when it is due again, ``sent`` or
    ``dead`` removes it.
    """
    result = uow.save_facts(DeliveryAttempt, entries)
    conn = _sqlite(uow)
    if conn is not None:
        settled, moved = [], []
        for e in entries:
            if e.outcome.final:
                settled.append((str(e.message_id),))
            else:
                due = None if e.due_at is None else encode_timestamp(e.due_at)
                stage = 0 if e.outcome is DeliveryOutcome.CLAIMED else 1
                moved.append((due, e.attempt, stage, e.error, str(e.message_id)))
        if settled:
            conn.executemany('DELETE FROM outbox_pending WHERE "message_id" = ?', settled)
        if moved:
            conn.executemany(_MOVE_SQLITE, moved)
    return result


_MOVE_SQLITE = (
    'UPDATE outbox_pending SET "due_at" = COALESCE(?1, "due_at"), "attempt" = ?2, '
    '"stage" = ?3, "error" = ?4 WHERE "message_id" = ?5 AND ("attempt", "stage") < (?2, ?3)'
)
"""Move a pending entry to a later log entry (never back to an earlier one)."""


# -- state -----------------------------------------------------------------------------------


def _order(entry: DeliveryAttempt) -> tuple[int, int]:
    """Log order: by attempt, a claim before its result."""
    return entry.attempt, 0 if entry.outcome is DeliveryOutcome.CLAIMED else 1


def state_of(attempts: Iterable[DeliveryAttempt], now: dt.datetime) -> MessageState:
    """The state an attempt log puts a message in at ``now`` (see the module docs)."""
    log = sorted(attempts, key=_order)
    outcomes = {a.outcome for a in log}
    if DeliveryOutcome.SENT in outcomes:
        return MessageState.SENT
    if DeliveryOutcome.DEAD in outcomes:
        return MessageState.DEAD
    if log and log[-1].outcome is DeliveryOutcome.CLAIMED:
        due = log[-1].due_at
        if due is not None and due > now:
            return MessageState.IN_FLIGHT
    return MessageState.PENDING


def _due_at(message: OutboxMessage, log: Sequence[DeliveryAttempt]) -> dt.datetime:
    if log and log[-1].due_at is not None:
        return log[-1].due_at
    return message.not_before or message.at


_FUTURE_SLACK = dt.timedelta(minutes=5)
"""The clock skew a fact's time may have (as :class:`~gridguard.model.Fact` allows)."""

_LATEST = """
    SELECT a.id FROM outbox_attempts a WHERE a.message_id = m.id
    ORDER BY a.attempt DESC, CASE a.outcome WHEN 'claimed' THEN 0 ELSE 1 END DESC
    LIMIT 1
"""
_SETTLED = """
    EXISTS (SELECT 1 FROM outbox_attempts f
            WHERE f.message_id = m.id AND f.outcome IN ('sent', 'dead'))
"""
_COLUMNS = (
    "m.id, m.at, m.recorded_by, m.area_id, m.channel, m.recipient, m.topic, m.subject, "
    "m.body, m.data, m.not_before"
)


def _ts(value: Any) -> dt.datetime | None:
    if value is None or isinstance(value, dt.datetime):
        return value
    return decode_timestamp(str(value))


def _row_message(row: Sequence[Any]) -> OutboxMessage:
    data = row[9]
    return OutboxMessage(
        id=uuid.UUID(str(row[0])),
        at=_ts(row[1]),
        recorded_by=row[2],
        area_id=row[3],
        channel=row[4],
        recipient=row[5],
        topic=row[6],
        subject=row[7],
        body=row[8],
        data=json.loads(data) if isinstance(data, str) else data,
        not_before=_ts(row[10]),
    )


def _channel_filter(
    channels: Collection[str] | None, exclude: Collection[str] | None = None
) -> tuple[str, list[Any]]:
    where, params = "", []
    if channels is not None:
        marks = ", ".join("?" for _ in channels) or "NULL"
        where, params = f" AND m.channel IN ({marks})", list(channels)
    if exclude:
        marks = ", ".join("?" for _ in exclude)
        where += f" AND m.channel NOT IN ({marks})"
        params += list(exclude)
    return where, params


def urgent_sql(dialect: SqlDialect, alias: str = "m") -> str:
    """A SQL expression, true for an urgent message (``data["urgent"]``) of alias ``alias``."""
    return dialect.json_flag(f"{alias}.data", "urgent")


_RATE_LIMITED_COUNT = f"""
    CASE WHEN l.attempt IS NULL THEN 0 ELSE
    (SELECT count(*) FROM outbox_attempts r WHERE r.message_id = m.id
     AND r.outcome = 'failed'
     AND substr(r.error, 1, {len(RATE_LIMITED.rstrip())}) = '{RATE_LIMITED.rstrip()}') END
"""
"""Attempts of a message refused for coming too fast (none to count before its first)."""


def _logs(uow: UnitOfWork) -> dict[uuid.UUID, list[DeliveryAttempt]]:
    logs: dict[uuid.UUID, list[DeliveryAttempt]] = defaultdict(list)
    for entry in uow.find(DeliveryAttempt):
        logs[entry.message_id].append(entry)
    for log in logs.values():
        log.sort(key=_order)
    return logs


def due_messages(
    uow: UnitOfWork,
    now: dt.datetime,
    *,
    dialect: SqlDialect,
    limit: int,
    channels: Collection[str] | None = None,
    exclude: Collection[str] | None = None,
    urgent_first: bool = False,
) -> list[Due]:
    """Up to ``limit`` messages due at ``now``, the longest-waiting first.

    ``channels`` limits them to those channels (a dispatcher only claims what
    it can deliver), ``exclude`` leaves those out (paced channels, claimed
    robot by robot). ``urgent_first`` puts urgent messages
    (``data["urgent"]``) before the others, however long those have waited.
    ``dialect`` is the store's (``ws.dialect``): a store that
    runs SQL answers in one query, any other store is read in Python.
    """
    if not dialect.runs_sql:
        return _due_in_python(uow, now, limit, channels, exclude, urgent_first)
    conn = _sqlite(uow)
    if conn is not None:
        return _due_sqlite(conn, now, limit, channels, exclude, urgent_first)
    sql = dialect
    where, params = _channel_filter(channels, exclude)
    first = f"{urgent_sql(dialect)} DESC, " if urgent_first else ""
    query = f"""
        SELECT {_COLUMNS}, COALESCE(l.attempt, 0), COALESCE(l.error, ''), {_RATE_LIMITED_COUNT}
        FROM outbox m
        LEFT JOIN outbox_attempts l ON l.id = ({_LATEST})
        WHERE NOT {_SETTLED}
          AND COALESCE(l.due_at, m.not_before, m.at) <= ?{where}
        ORDER BY {first}COALESCE(l.due_at, m.not_before, m.at), m.id
        LIMIT ?
    """
    rows = uow.query(sql.text(query), [sql.ts(now), *params, limit])
    return [Due(_row_message(r), int(r[11]), str(r[12]), int(r[13])) for r in rows]


def _due_sqlite(
    conn: sqlite3.Connection,
    now: dt.datetime,
    limit: int,
    channels: Collection[str] | None,
    exclude: Collection[str] | None = None,
    urgent_first: bool = False,
) -> list[Due]:
    """Due messages from ``outbox_pending``: O(pending), whatever the size of the outbox.

    Each candidate is checked against its attempt log (one index seek): a
    pending row that a log entry written around :func:`record_attempts` left
    behind is brought in step instead of being claimed. Urgent first reads
    the pending messages of ``channels`` (one robot's) to find the urgent ones.
    """
    where, params = _channel_filter(channels, exclude)
    if urgent_first:
        pending = f"""
            SELECT q.message_id, q.due_at, {urgent_sql(SQLiteDialect(), "o")} AS urgent
            FROM outbox_pending q JOIN outbox o ON o.id = q.message_id
            WHERE q.due_at <= ?{where.replace("m.channel", "q.channel")}
            ORDER BY urgent DESC, q.due_at, q.message_id LIMIT ?"""
        order = "p.urgent DESC, p.due_at, p.message_id"
    else:
        pending = f"""
            SELECT message_id, due_at FROM outbox_pending q
            WHERE due_at <= ?{where.replace("m.channel", "q.channel")}
            ORDER BY due_at, message_id LIMIT ?"""
        order = "p.due_at, p.message_id"
    query = f"""
        SELECT {_COLUMNS}, COALESCE(l.attempt, 0), COALESCE(l.error, ''), {_SETTLED},
               COALESCE(l.due_at, m.not_before, m.at),
               CASE WHEN l.outcome = 'claimed' THEN 0 ELSE 1 END, {_RATE_LIMITED_COUNT}
        FROM ({pending}) p
        JOIN outbox m ON m.id = p.message_id
        LEFT JOIN outbox_attempts l ON l.id = ({_LATEST})
        ORDER BY {order}
    """
    stamp = encode_timestamp(now)
    due: list[Due] = []
    settled: list[tuple[str]] = []
    behind: list[tuple[Any, ...]] = []
    for r in conn.execute(query, [stamp, *params, limit]):
        if r[13]:
            settled.append((str(r[0]),))
        elif r[14] > stamp:
            behind.append((r[14], r[11], r[15], r[12], str(r[0])))
        else:
            due.append(Due(_row_message(r), int(r[11]), str(r[12]), int(r[16])))
    if settled or behind:
        try:
            conn.executemany('DELETE FROM outbox_pending WHERE "message_id" = ?', settled)
            conn.executemany(_MOVE_SQLITE, behind)
        except sqlite3.OperationalError:
            pass  # a read-only connection: the next claim round brings them in step
    return due


def _due_in_python(
    uow: UnitOfWork,
    now: dt.datetime,
    limit: int,
    channels: Collection[str] | None,
    exclude: Collection[str] | None = None,
    urgent_first: bool = False,
) -> list[Due]:
    logs = _logs(uow)
    found: list[tuple[bool, dt.datetime, str, Due]] = []
    for message in uow.find(OutboxMessage):
        if channels is not None and message.channel not in channels:
            continue
        if exclude and message.channel in exclude:
            continue
        log = logs.get(message.id, [])
        if any(a.outcome.final for a in log):
            continue
        due = _due_at(message, log)
        if due <= now:
            last = log[-1] if log else None
            attempts = last.attempt if last else 0
            paced = sum(1 for a in log if _was_rate_limited(a))
            urgent = urgent_first and message.data.get("urgent") is True
            item = Due(message, attempts, last.error if last else "", paced)
            found.append((not urgent, due, str(message.id), item))
    found.sort(key=lambda t: (t[0], t[1], t[2]))
    return [d for _, _, _, d in found[:limit]]


def _was_rate_limited(entry: DeliveryAttempt) -> bool:
    return entry.outcome is DeliveryOutcome.FAILED and entry.error.startswith(RATE_LIMITED)


def next_due(
    uow: UnitOfWork,
    *,
    dialect: SqlDialect,
    channels: Collection[str] | None = None,
    exclude: Collection[str] | None = None,
) -> dt.datetime | None:
    """When the next unsettled message (of ``channels``, not of ``exclude``) falls due.

    ``None`` if none is left.
    """
    if not dialect.runs_sql:
        logs = _logs(uow)
        times = [
            _due_at(m, logs.get(m.id, []))
            for m in uow.find(OutboxMessage)
            if (channels is None or m.channel in channels)
            and not (exclude and m.channel in exclude)
            and not any(a.outcome.final for a in logs.get(m.id, []))
        ]
        return min(times, default=None)
    conn = _sqlite(uow)
    where, params = _channel_filter(channels, exclude)
    if conn is not None:
        row = conn.execute(
            f"SELECT min(due_at) FROM outbox_pending q WHERE 1 = 1{where.replace('m.', 'q.')}",
            params,
        ).fetchone()
        return None if row is None else _ts(row[0])
    sql = dialect
    query = f"""
        SELECT min(COALESCE(l.due_at, m.not_before, m.at))
        FROM outbox m
        LEFT JOIN outbox_attempts l ON l.id = ({_LATEST})
        WHERE NOT {_SETTLED}{where}
    """
    row = next(iter(uow.query(sql.text(query), params)), None)
    return None if row is None else _ts(row[0])


def outbox_status(
    uow: UnitOfWork, now: dt.datetime, *, dialect: SqlDialect
) -> dict[str, dict[str, int]]:
    """Messages per channel and state: ``{"console": {"sent": 12, "pending": 1}}``.

    ``dialect`` is the store's (``ws.dialect``): a store that runs
    SQL counts in SQL, any other store in Python.
    """
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    if not dialect.runs_sql:
        logs = _logs(uow)
        for message in uow.find(OutboxMessage):
            counts[message.channel][state_of(logs.get(message.id, []), now).value] += 1
    else:
        sql = dialect
        query = f"""
            SELECT m.channel,
                   CASE WHEN EXISTS (SELECT 1 FROM outbox_attempts s
                                     WHERE s.message_id = m.id AND s.outcome = 'sent') THEN 'sent'
                        WHEN EXISTS (SELECT 1 FROM outbox_attempts d
                                     WHERE d.message_id = m.id AND d.outcome = 'dead') THEN 'dead'
                        WHEN l.outcome = 'claimed' AND l.due_at > ? THEN 'in_flight'
                        ELSE 'pending' END AS state,
                   count(*)
            FROM outbox m
            LEFT JOIN outbox_attempts l ON l.id = ({_LATEST})
            GROUP BY m.channel, state
        """
        for channel, state, n in uow.query(sql.text(query), [sql.ts(now)]):
            counts[str(channel)][str(state)] += int(n)
    return {channel: dict(sorted(c.items())) for channel, c in sorted(counts.items())}


def dead_letters(uow: UnitOfWork, *, dialect: SqlDialect) -> dict[str, dict[str, int]]:
    """Dead messages per channel and error: ``{"wecom": {"WeCom error 93000: ...": 2}}``.

    The error is the last one recorded (a vendor's code and message for a
    permanent refusal), so an operator sees why without reading the log.
    """
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    if not dialect.runs_sql:
        channel_of = {m.id: m.channel for m in uow.find(OutboxMessage)}
        for entry in uow.find(DeliveryAttempt, where={"outcome": DeliveryOutcome.DEAD}):
            counts[channel_of.get(entry.message_id, "?")][entry.error] += 1
    else:
        query = """
            SELECT m.channel, a.error, count(*)
            FROM outbox_attempts a JOIN outbox m ON m.id = a.message_id
            WHERE a.outcome = 'dead'
            GROUP BY m.channel, a.error
        """
        for channel, error, n in uow.query(query, []):
            counts[str(channel)][str(error)] += int(n)
    return {
        channel: dict(sorted(c.items(), key=lambda kv: (-kv[1], kv[0])))
        for channel, c in sorted(counts.items())
    }


def totals(status: dict[str, dict[str, int]]) -> dict[str, int]:
    """Messages per state over every channel of an :func:`outbox_status`."""
    out = {s.value: 0 for s in MessageState}
    for per_state in status.values():
        for state, n in per_state.items():
            out[state] = out.get(state, 0) + n
    return out


def recent_sends(
    uow: UnitOfWork, since: dt.datetime, *, dialect: SqlDialect, channels: Collection[str]
) -> list[tuple[str, dt.datetime]]:
    """``(channel, when)`` of each delivery to ``channels`` recorded after ``since``.

    What a dispatcher that starts (a cron run each minute) needs to know of
    the requests the run before it made, so as not to pace a robot from an
    empty window.
    """
    if not channels:
        return []
    if not dialect.runs_sql:
        channel_of = {m.id: m.channel for m in uow.find(OutboxMessage)}
        return [
            (channel_of[a.message_id], a.at)
            for a in uow.find(DeliveryAttempt, where={"outcome": DeliveryOutcome.SENT})
            if a.at > since and channel_of.get(a.message_id) in channels
        ]
    sql = dialect
    where, params = _channel_filter(channels)
    query = f"""
        SELECT m.channel, a."at" FROM outbox_attempts a JOIN outbox m ON m.id = a.message_id
        WHERE a.outcome = 'sent' AND a."at" > ?{where}
    """
    out: list[tuple[str, dt.datetime]] = []
    for channel, at in uow.query(sql.text(query), [sql.ts(since), *params]):
        when = _ts(at)
        if when is not None:
            out.append((str(channel), when))
    return out


def history(uow: UnitOfWork, message_id: uuid.UUID | str) -> list[DeliveryAttempt]:
    """The attempt log of one message, oldest first: its audit trail."""
    log = list(uow.find(DeliveryAttempt, where={"message_id": uuid.UUID(str(message_id))}))
    log.sort(key=_order)
    return log
