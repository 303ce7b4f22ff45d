"""The audit log's record: one entry per operation, linked into a SHA-256 hash chain."""

from __future__ import annotations

import enum
from typing import Any, ClassVar

import attrs

from ._stored import Category, stored
from ._validate import bounded, enum_of, non_empty
from .facts import Fact

__all__ = ["GENESIS", "AuditEntry", "AuditOutcome"]

GENESIS = "0" * 64
"""The ``prev_hash`` of the first entry: there is nothing before it."""


class AuditOutcome(enum.StrEnum):
    """Whether the operation was allowed (and done) or denied."""

    ALLOWED = "allowed"
    DENIED = "denied"


def _outcome(value: Any) -> AuditOutcome:
    return enum_of(AuditOutcome, value, "outcome")


@stored("audit_log", Category.AUDIT)
@attrs.frozen(kw_only=True)
class AuditEntry(Fact):
    """Who did what, when, why and in which scope (and whether it was allowed).

    ``seq`` numbers entries from 1 without gaps; ``hash`` is SHA-256 over
    ``prev_hash`` and a canonical encoding of every other column, so an entry
    that is changed, deleted or moved breaks the chain (see
    :func:`gridguard.security.audit.verify`). One entry stands for one operation: a
    batch of 200,000 visits is one entry with ``count`` 200000.
    """

    kind: ClassVar[str] = "audit_entry"

    seq: int = attrs.field(validator=bounded(1, 2**62))
    principal: str = attrs.field(validator=non_empty)
    role: str = attrs.field(validator=non_empty)
    scope: str = attrs.field(validator=non_empty)
    """The principal's jurisdiction: ``*``, ``area:<id>`` or ``building:<id>``."""
    action: str = attrs.field(validator=non_empty)
    """``read``, ``write``, ``update``, ``load`` or a workflow's name (``sweep.record``)."""
    target: str = attrs.field(validator=non_empty)
    """What was touched: ``Person:p1``, ``Visit`` (a batch), ``area:c1``..."""
    count: int = attrs.field(default=1, validator=bounded(0, 2**62))
    outcome: AuditOutcome = attrs.field(default=AuditOutcome.ALLOWED, converter=_outcome)
    reason: str = ""
    """Why: the purpose the workspace was opened for, or the denial's reason."""
    prev_hash: str = GENESIS
    hash: str = ""
