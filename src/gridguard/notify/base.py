"""What a notifier plugin implements: send one message, once.

Delivery, retries and idempotency live in gridguard; a notifier only has to
deliver a single :class:`Message` or raise. The dispatcher tells a retryable
failure (a timeout, a busy server) from a permanent one (a refused address)
by the exception: :class:`PermanentFailure` is never retried, anything else
is; :class:`RateLimited` (a robot's "too fast" reply) pauses the channel's
robot instead of counting as a failed attempt.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import attrs

from ..errors import GridGuardError
from ..model._validate import aware, optional_aware, to_utc

__all__ = [
    "DeliveryError",
    "Message",
    "Notifier",
    "PermanentFailure",
    "RateLimited",
    "RetryableFailure",
]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@attrs.frozen(kw_only=True)
class Message:
    """A rendered message for one recipient on one channel.

    ``id`` doubles as the idempotency key: a receiver that sees the same id
    twice must act once. ``channel`` names a configured channel (``console``,
    ``file``, ``wecom-huayuan``...); ``area_id`` is the place the message
    concerns, whose community owns the stored copy in the outbox.
    ``not_before`` holds a message back (quiet hours); ``topic`` says what
    it is about (``fever``, ``anomaly``, ``digest``...).

    Keys of ``data`` that mean something to delivery: ``urgent`` (true for
    a fever or a positive contact: the dispatcher sends it before the
    others waiting for the same robot) and ``mention`` (the recipient's
    mobile number, which chat robots @-mention in their own way). A routed
    message stores ``mention_of`` instead, where the number is on file,
    and the dispatcher fills in ``mention`` as it sends: the outbox holds
    no phone number.
    """

    id: uuid.UUID = attrs.field(factory=uuid.uuid4)
    recipient: str
    subject: str
    body: str
    data: Mapping[str, Any] = attrs.field(factory=dict)
    channel: str = "console"
    area_id: str | None = None
    topic: str = "notice"
    at: dt.datetime = attrs.field(factory=_now, converter=to_utc, validator=aware)
    not_before: dt.datetime | None = attrs.field(
        default=None, converter=to_utc, validator=optional_aware
    )

    @property
    def urgent(self) -> bool:
        """Whether the message goes before the others waiting for its channel's robot."""
        return self.data.get("urgent") is True

    @property
    def mention(self) -> str | None:
        """The mobile number of the recipient to @-mention, when one is on file."""
        value = self.data.get("mention")
        return value if isinstance(value, str) and value.strip() else None


class DeliveryError(GridGuardError):
    """A notifier could not deliver a message."""


class RetryableFailure(DeliveryError):
    """Delivery failed for now (timeout, HTTP 429 or 5xx): try again later.

    ``retry_after`` (seconds) is the receiver's own hint (an HTTP
    ``Retry-After``); the dispatcher waits at least that long.
    """

    def __init__(self, message: str = "", *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RateLimited(RetryableFailure):
    """The receiver refused the message for coming too fast (WeCom 45009, DingTalk 130101...).

    Not the message's fault: the dispatcher pauses the channel's robot until
    its window resets (``retry_after`` seconds when the receiver says, a
    whole window otherwise) and sends the message again then, without
    counting the refusal as a failed attempt.
    """


class PermanentFailure(DeliveryError):
    """Delivery can never succeed as asked (HTTP 4xx, a refused address): do not retry."""


@runtime_checkable
class Notifier(Protocol):
    """A channel that delivers messages (console, file, e-mail, a chat robot...)."""

    def send(self, message: Message) -> None:
        """Deliver ``message`` or raise; returning means delivered.

        Raise :class:`PermanentFailure` when trying again cannot help; any
        other exception is retried with backoff. Send ``message.id`` along
        as the idempotency key where the channel has a place for it.
        """
