"""What a notifier plugin implements: send one message, once.

Delivery, retries and idempotency live in gridguard; a notifier only has to
deliver a single :class:`Message` or raise.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import attrs

__all__ = ["Message", "Notifier"]


@attrs.frozen(kw_only=True)
class Message:
    """A rendered message for one recipient on one channel.

    ``id`` doubles as the idempotency key: a receiver that sees the same id
    twice must act once.
    """

    id: uuid.UUID = attrs.field(factory=uuid.uuid4)
    recipient: str
    subject: str
    body: str
    data: Mapping[str, Any] = attrs.field(factory=dict)


@runtime_checkable
class Notifier(Protocol):
    """A channel that delivers messages (console, file, e-mail, a chat robot...)."""

    def send(self, message: Message) -> None:
        """Deliver ``message`` or raise; returning means delivered."""
