"""The audit recorder: a workspace's audit entries, and when each one is written.

An allowed write is audited in the transaction that did it, so the entry
and the write are wholly in or wholly out. A read's entry is held back and
goes in with the next write (or after a while, see
:meth:`AuditRecorder.commit`), so that a reader never waits for a long
write to finish. A refusal is written at once in a transaction of its own,
because the transaction it interrupted rolls back.

Entries written outside a write transaction (reads, refusals, workflow
runs) never wait for another writer either: on a store with one writer at
a time (:class:`~gridguard.storage.capabilities.DeferredWrites`, SQLite)
they are written only if the store is free at that moment, and otherwise
kept in the store's queue, which the next write transaction of any process
takes into the chain. An entry's id is kept with it, so one taken in twice
(a crash between the two commits) is stored once.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable

import attrs

from ..errors import StoreBusy
from ..model.audit import AuditEntry
from ..security.audit import AuditDraft
from ..security.audit import append as append_audit
from ..security.principal import Principal
from ..storage.base import Storage, UnitOfWork
from ..storage.capabilities import DeferredWrites

__all__ = ["AuditRecorder"]


class AuditRecorder:
    """The audit entries of one workspace's principal, held until they can be written.

    ``in_transaction`` tells whether the workspace has a transaction open:
    entries made inside one wait for it (:meth:`commit`), entries made
    outside are written at once. ``purpose`` gives why the workspace is
    used, each allowed entry's *reason*.
    """

    def __init__(
        self,
        storage: Storage,
        principal: Principal,
        *,
        purpose: Callable[[], str],
        in_transaction: Callable[[], bool],
    ) -> None:
        self.storage = storage
        self.principal = principal
        self._purpose = purpose
        self._in_transaction = in_transaction
        self._now: list[AuditDraft] = []
        """Entries of the open transaction, written with it."""
        self._later: list[AuditDraft] = []
        """Entries written in a transaction of their own once none is open."""
        self._reads: list[AuditDraft] = []
        """Reads held back until the next write (or a full batch, or enough time)."""
        self._reads_since = 0.0
        self._taken: list[str] = []
        """Ids of queued entries the open write transaction took in: unqueued once it commits."""
        self._deferred = storage if isinstance(storage, DeferredWrites) else None

    def draft(self, action: str, target: str, count: int, outcome: str, reason: str) -> AuditDraft:
        """An entry for this principal."""
        return AuditDraft(
            principal=self.principal.name,
            role=self.principal.role.value,
            scope=self.principal.scope,
            action=action,
            target=target,
            count=count,
            outcome=outcome,
            reason=reason,
        )

    def allowed(self, action: str, target: str, count: int = 1) -> None:
        """Note an allowed operation: written with the transaction that did it."""
        draft = self.draft(action, target, count, "allowed", self._purpose())
        if self._in_transaction():
            self._now.append(draft)
        else:
            self._later.append(draft)
            self.write_pending()

    def refused(self, action: str, target: str, why: str) -> None:
        """Note a refused operation; it is written even though its transaction rolls back."""
        self._later[:0], self._reads = self._reads, []
        self._later.append(self.draft(action, target, 0, "denied", why))
        if not self._in_transaction():
            self.write_pending()

    def commit(
        self, uow: UnitOfWork, *, write: bool, reads_held: int, reads_seconds: float
    ) -> None:
        """The open transaction ``uow`` is about to commit: a write takes its entries along.

        A write transaction writes the held-back reads and its own entries;
        a read transaction holds its reads back (until ``reads_held`` wait or
        the oldest is ``reads_seconds`` old) and leaves anything else to
        :meth:`write_pending`.
        """
        drafts, self._now = self._now, []
        if write:
            reads, self._reads = self._reads, []
            append_audit(uow, self.storage.dialect, self._take_queued(uow) + reads + drafts)
        else:
            self._hold_back(drafts, reads_held, reads_seconds)

    def _take_queued(self, uow: UnitOfWork) -> list[AuditDraft]:
        """The store's queued entries not yet in the chain, to append in ``uow``."""
        if self._deferred is None:
            return []
        queued = self._deferred.queued()
        if not queued:
            return []
        ids = {i for i, _ in queued}
        stored = uow.existing_ids(AuditEntry, ids)
        self._taken = sorted(ids)
        return [_draft(body) for i, body in queued if i not in stored]

    def committed(self) -> None:
        """The write transaction committed: the queued entries it took in leave the queue."""
        taken, self._taken = self._taken, []
        if taken and self._deferred is not None:
            self._deferred.unqueue(taken)

    def discard(self) -> None:
        """The open transaction ended: entries that did not go in with it are void."""
        self._now = []
        self._taken = []

    def _hold_back(self, drafts: list[AuditDraft], reads_held: int, reads_seconds: float) -> None:
        """Entries of a read transaction: reads wait a little, anything else goes now."""
        for draft in drafts:
            if draft.action == "read":
                if not self._reads:
                    self._reads_since = time.monotonic()
                self._reads.append(draft)
            else:
                self._later.append(draft)
        if self._reads and (
            len(self._reads) >= reads_held or time.monotonic() - self._reads_since >= reads_seconds
        ):
            self._later[:0], self._reads = self._reads, []

    def write_pending(self) -> None:
        """Write entries that could not join a write transaction (reads, refusals)."""
        if not self._later or self._in_transaction():
            return
        drafts, self._later = self._later, []
        if self._deferred is None:
            with self.storage.transaction() as uow:
                append_audit(uow, self.storage.dialect, drafts)
            return
        try:
            with self._deferred.try_write() as uow:
                append_audit(uow, self.storage.dialect, self._take_queued(uow) + drafts)
        except StoreBusy:
            self._taken = []
            self._deferred.queue_later([(d.id, _body(d)) for d in drafts])
            return
        except BaseException:
            self._taken = []
            raise
        self.committed()

    def flush(self) -> None:
        """Write every entry held back, the waiting reads too (not inside a transaction)."""
        if self._in_transaction():
            return
        self._later[:0], self._reads = self._reads, []
        self.write_pending()


def _body(draft: AuditDraft) -> str:
    """A draft as the text kept in the queue."""
    fields = attrs.asdict(draft)
    fields["at"] = draft.at.isoformat()
    return json.dumps(fields, ensure_ascii=False)


def _draft(body: str) -> AuditDraft:
    """A draft kept in the queue."""
    fields = json.loads(body)
    fields["at"] = dt.datetime.fromisoformat(fields["at"])
    return AuditDraft(**fields)
