"""The audit log: an append-only, hash-chained record of who read and wrote what.

Every write through a :class:`~gridguard.workspace.Workspace`, every read of
a person or household file, every workflow run and every denied attempt adds
one :class:`AuditEntry`. :func:`verify` walks the chain and names each entry
that was changed, deleted or moved.
"""

from ...model.audit import GENESIS, AuditEntry, AuditOutcome
from .chain import AuditDraft, AuditProblem, AuditReport, append, entry_hash, head, verify
from .service import recent_entries, verify_log

__all__ = [
    "GENESIS",
    "AuditDraft",
    "AuditEntry",
    "AuditOutcome",
    "AuditProblem",
    "AuditReport",
    "append",
    "entry_hash",
    "head",
    "recent_entries",
    "verify",
    "verify_log",
]
