"""Appending to the audit hash chain and checking it.

The chain lives in the ``audit_log`` table of whatever backend holds the
workspace. Appending reads the last entry inside the writing transaction, so
on SQLite (one writer at a time) entries never fork; on a server database two
concurrent writers collide on the unique ``seq`` and one of them retries.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from ...model._validate import aware, to_utc
from ...model.audit import GENESIS, AuditEntry
from ...storage import schema as _schema

if TYPE_CHECKING:
    from ...storage.base import UnitOfWork
    from ...storage.dialect import SqlDialect
    from ...storage.schema import Row

__all__ = ["AuditDraft", "AuditProblem", "AuditReport", "append", "entry_hash", "head", "verify"]

_WINDOW = 4096
"""Recent hashes kept to tell an entry moved out of order from a broken link."""


@attrs.frozen(kw_only=True)
class AuditDraft:
    """An entry before it has its place in the chain (``seq``, hashes).

    Its ``id`` is the entry's id: a draft kept in a store's queue
    (:class:`~gridguard.storage.capabilities.DeferredWrites`) and taken in
    twice is stored once.
    """

    id: str = attrs.field(factory=lambda: str(uuid.uuid4()))
    principal: str
    role: str
    scope: str
    action: str
    target: str
    count: int = 1
    outcome: str = "allowed"
    reason: str = ""
    at: dt.datetime = attrs.field(
        factory=lambda: dt.datetime.now(dt.UTC), converter=to_utc, validator=aware
    )
    """When it happened (an entry may be written a little later)."""


@attrs.frozen(kw_only=True)
class AuditProblem:
    """One place where the chain does not hold: which entry, and what is wrong."""

    seq: int
    """The entry's sequence number; for an ``unreadable`` one, the number it should have."""
    kind: str
    """``changed``, ``missing``, ``reordered``, ``broken`` or ``unreadable``."""
    detail: str
    position: int | None = None
    """For an ``unreadable`` entry: its place (1 = first) among the entries as read."""

    def __str__(self) -> str:
        if self.position is not None:
            return f"entry at position {self.position}: {self.kind}: {self.detail}"
        return f"entry {self.seq}: {self.kind}: {self.detail}"


@attrs.frozen(kw_only=True)
class AuditReport:
    """What :func:`verify` found: entries read, problems, and the head of the chain."""

    entries: int
    problems: tuple[AuditProblem, ...]
    head_seq: int
    head_hash: str

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "head": {"seq": self.head_seq, "hash": self.head_hash},
            "problems": [attrs.asdict(p) for p in self.problems],
        }


def _columns() -> tuple[str, ...]:
    return _schema.spec_for(AuditEntry).column_names


def entry_hash(row: Sequence[Any]) -> str:
    """SHA-256 of the entry's encoded row (every column but ``hash``) after ``prev_hash``.

    The encoding is the stored row as JSON (text, numbers, ``null``), the
    same on every backend, so a chain written on SQLite verifies after a
    copy to PostgreSQL.
    """
    names = _columns()
    values = dict(zip(names, row, strict=True))
    prev = str(values.pop("prev_hash"))
    values.pop("hash")
    canonical = json.dumps(
        [[k, values[k]] for k in names if k in values], ensure_ascii=False, separators=(",", ":")
    )
    return hashlib.sha256((prev + canonical).encode("utf-8")).hexdigest()


def _sql_rows(uow: UnitOfWork, sql: str, params: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
    return uow.query(sql, params)


_HEAD_SQL = "SELECT seq, hash FROM {table} ORDER BY seq DESC"


def head(uow: UnitOfWork, dialect: SqlDialect) -> tuple[int, str]:
    """``(seq, hash)`` of the last entry, ``(0, GENESIS)`` for an empty log.

    An entry whose ``seq`` is not a whole number (a log changed by hand:
    SQLite keeps any value in any column, and sorts text after numbers) is
    passed over here, so the log can still be appended to;
    :func:`verify` names it.
    """
    table = _schema.spec_for(AuditEntry).table
    if dialect.runs_sql:
        # The last few entries are enough unless the log was changed by hand; only
        # then is the rest read (each append would otherwise read the whole log).
        for sql in (f"{_HEAD_SQL.format(table=table)} LIMIT 8", _HEAD_SQL.format(table=table)):
            for seq, digest in _sql_rows(uow, sql):
                number = _whole(seq)
                if number is not None:
                    return number, str(digest)
        return 0, GENESIS
    last: AuditEntry | None = None
    for entry in uow.find(AuditEntry):
        if last is None or entry.seq > last.seq:
            last = entry
    return (0, GENESIS) if last is None else (last.seq, last.hash)


def _whole(value: Any) -> int | None:
    """``value`` as a sequence number, or ``None`` when it is not a whole number."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    try:
        return int(str(value), 10)
    except ValueError:
        return None


def _sealed(entry: AuditEntry, digest: str) -> AuditEntry:
    """``entry``, made just now and held by no one else, with its ``hash`` set.

    ``attrs.evolve`` would build the entry again and run every validator a
    second time (a third of an append's cost) for a field whose value is the
    SHA-256 digest made just above.
    """
    object.__setattr__(entry, "hash", digest)
    return entry


def append(uow: UnitOfWork, dialect: SqlDialect, drafts: Iterable[AuditDraft]) -> list[AuditEntry]:
    """Link ``drafts`` to the end of the chain and save them in ``uow``'s transaction."""
    drafts = list(drafts)
    if not drafts:
        return []
    spec = _schema.spec_for(AuditEntry)
    if dialect.append_lock is not None:
        # Concurrent appends wait for each other here, until commit, where the
        # database does not serialise writers itself (PostgreSQL); appends come
        # at the end of a write transaction, so the wait is short.
        list(uow.query(dialect.append_lock))
    seq, prev = head(uow, dialect)
    entries = []
    for draft in drafts:
        seq += 1
        fields = attrs.asdict(draft)
        entry = AuditEntry(seq=seq, prev_hash=prev, **{**fields, "id": uuid.UUID(draft.id)})
        prev = entry_hash(spec.encode(entry))
        entries.append(_sealed(entry, prev))
    uow.save_facts(AuditEntry, entries)
    return entries


def _rows(uow: UnitOfWork, dialect: SqlDialect) -> Iterator[Row]:
    spec = _schema.spec_for(AuditEntry)
    if dialect.runs_sql:
        cols = ", ".join(f'"{c}"' for c in spec.column_names)
        for row in _sql_rows(uow, f"SELECT {cols} FROM {spec.table} ORDER BY seq, id"):
            yield spec.as_stored(row)
        return
    at_seq = spec.column_names.index("seq")
    yield from sorted((spec.encode(e) for e in uow.find(AuditEntry)), key=lambda r: r[at_seq])


def verify(
    uow: UnitOfWork, dialect: SqlDialect, *, anchor: tuple[int, str] | None = None
) -> AuditReport:
    """Walk the chain from the first entry and report every place it does not hold.

    A changed entry no longer matches its hash; a deleted one leaves a gap in
    ``seq`` and a link that points at nothing; entries moved out of order
    break the links around them. Deleting the *last* entries leaves a valid
    but shorter chain: pass the ``anchor`` ``(seq, hash)`` noted earlier
    (``gridguard audit show --head``) to detect that too.
    """
    names = _columns()
    at_seq, at_prev, at_hash = names.index("seq"), names.index("prev_hash"), names.index("hash")
    problems: list[AuditProblem] = []
    expected_seq, prev_hash, entries = 1, GENESIS, 0
    recent: dict[str, int] = {}
    anchored: str | None = None
    for row in _rows(uow, dialect):
        entries += 1
        whole = _whole(row[at_seq])
        if whole is None:
            problems.append(
                AuditProblem(
                    seq=expected_seq,
                    kind="unreadable",
                    detail=f"id {row[0]}: its sequence number {row[at_seq]!r} "
                    "is not a whole number",
                    position=entries,
                )
            )
            continue
        seq = whole
        stored = str(row[at_hash])
        if entry_hash(row) != stored:
            problems.append(
                AuditProblem(seq=seq, kind="changed", detail="content does not match its hash")
            )
        if seq != expected_seq:
            if seq > expected_seq:
                missing = f"{expected_seq}" + (f"-{seq - 1}" if seq - 1 > expected_seq else "")
                problems.append(
                    AuditProblem(seq=seq, kind="missing", detail=f"entries {missing} are gone")
                )
            else:
                problems.append(
                    AuditProblem(seq=seq, kind="reordered", detail="sequence number repeated")
                )
        if str(row[at_prev]) != prev_hash:
            kind = "reordered" if str(row[at_prev]) in recent else "broken"
            problems.append(
                AuditProblem(seq=seq, kind=kind, detail="does not link to the entry before it")
            )
        recent[stored] = seq
        if len(recent) > _WINDOW:
            del recent[next(iter(recent))]
        if anchor is not None and seq == anchor[0]:
            anchored = stored
        prev_hash = stored
        expected_seq = seq + 1
    head_seq = expected_seq - 1
    if anchor is not None:
        a_seq, a_hash = anchor
        if a_seq > head_seq:
            problems.append(
                AuditProblem(
                    seq=a_seq,
                    kind="missing",
                    detail=f"the log ends at {head_seq}, before the anchor {a_seq}",
                )
            )
        elif anchored != a_hash:
            problems.append(
                AuditProblem(seq=a_seq, kind="changed", detail="does not match the anchor hash")
            )
    return AuditReport(
        entries=entries, problems=tuple(problems), head_seq=head_seq, head_hash=prev_hash
    )
