"""The outbox as stored facts: a message, and the log of attempts to deliver it.

Both are insert-once facts. A message never changes once enqueued; its
delivery state (pending, in flight, sent, dead) is derived from its attempt
log, which is also its audit trail. Re-enqueuing a message that was already
sent therefore cannot reset it: there is nothing to reset.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from collections.abc import Mapping
from typing import Any, ClassVar

import attrs

from ._stored import Category, Ref, stored
from ._validate import enum_of, identifier, non_empty, optional_aware, to_utc
from .facts import Fact

__all__ = [
    "DeliveryAttempt",
    "DeliveryOutcome",
    "NotifyConfiguration",
    "OutboxMessage",
    "attempt_id",
]

_NAMESPACE = uuid.UUID("8f4f8a55-3c1e-4f61-9d0e-4b1e2a6f0c11")


class DeliveryOutcome(enum.StrEnum):
    """What one entry of a message's attempt log says."""

    CLAIMED = "claimed"
    """A dispatcher took the message; it is in flight until ``due_at`` (the lease)."""
    SENT = "sent"
    """The channel accepted the message. Final."""
    FAILED = "failed"
    """The attempt failed; the message is due again at ``due_at``."""
    DEAD = "dead"
    """Given up (too many attempts, or a permanent failure). Final."""

    @property
    def final(self) -> bool:
        return self in (DeliveryOutcome.SENT, DeliveryOutcome.DEAD)


def _outcome(value: Any) -> DeliveryOutcome:
    return enum_of(DeliveryOutcome, value, "outcome")


def _data(value: Any) -> dict[str, Any]:
    return dict(value)


def attempt_id(message_id: uuid.UUID, attempt: int, outcome: DeliveryOutcome) -> uuid.UUID:
    """The id of a log entry: the same message, attempt and stage give the same id.

    A claim and its result are the two stages of an attempt. Because the id
    is deterministic, two dispatchers that race to claim the same attempt
    write the same fact id, and the second one is refused: a claim is
    exclusive without locks, on any backend.
    """
    stage = "claim" if outcome is DeliveryOutcome.CLAIMED else "result"
    return uuid.uuid5(_NAMESPACE, f"{message_id}:{attempt}:{stage}")


@stored("outbox", Category.OUTBOX, parent=Ref("area_id", "Area"))
@attrs.frozen(kw_only=True)
class OutboxMessage(Fact):
    """A message waiting in (or gone from) the outbox, as it was enqueued.

    ``at`` is when the message was made; ``area_id`` the place it concerns
    (its community owns the row); ``not_before`` holds it back until then.
    """

    kind: ClassVar[str] = "outbox_message"

    area_id: str = attrs.field(validator=identifier)
    channel: str = attrs.field(validator=non_empty)
    recipient: str = attrs.field(validator=non_empty)
    topic: str = attrs.field(default="notice", validator=non_empty)
    subject: str = ""
    body: str = ""
    data: Mapping[str, Any] = attrs.field(factory=dict, converter=_data)
    not_before: dt.datetime | None = attrs.field(
        default=None, converter=to_utc, validator=optional_aware
    )


@stored("outbox_attempts", Category.OUTBOX, parent=Ref("message_id", "OutboxMessage"))
@attrs.frozen(kw_only=True)
class DeliveryAttempt(Fact):
    """One entry in a message's attempt log: a claim, or the result of an attempt.

    ``attempt`` counts from 1. ``due_at`` is when the message is due again
    (the end of a claim's lease, or the retry time after a failure); it is
    ``None`` once the message is sent or dead.
    """

    kind: ClassVar[str] = "delivery_attempt"

    message_id: uuid.UUID
    attempt: int
    outcome: DeliveryOutcome = attrs.field(converter=_outcome)
    due_at: dt.datetime | None = attrs.field(
        default=None, converter=to_utc, validator=optional_aware
    )
    error: str = ""


@stored("notify_configurations", Category.OUTBOX)
@attrs.frozen(kw_only=True)
class NotifyConfiguration(Fact):
    """The routing and channel configuration of a workspace, as set at ``at``.

    Every workflow that queues messages (screening, watch, quarantine,
    services, targeting, the digest) reads the latest one, so a workspace is
    configured once (``gridguard notify configure FILE``) and not per
    command. ``settings`` is the configuration as plain data (what
    :meth:`gridguard.notifications.settings.NotifySettings.from_dict` reads),
    with relative file paths already made absolute; ``source`` names the
    file it was read from. Insert-once: a new configuration is a new fact,
    and the earlier ones stay as the record of who was told what, when.
    """

    kind: ClassVar[str] = "notify_configuration"

    settings: Mapping[str, Any] = attrs.field(factory=dict, converter=_data)
    source: str = ""
