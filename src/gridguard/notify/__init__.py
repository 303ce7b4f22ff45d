"""The notifier protocol: what a channel plugin implements, and the message it sends.

A notifier plugin (``gridguard-smtp``, ``gridguard-webhook``) imports this
package and the model only. The workflow that queues, routes and delivers
messages (the outbox, the router, the dispatcher) is
:mod:`gridguard.notifications`.
"""

from __future__ import annotations

from ..model.messages import DeliveryAttempt, DeliveryOutcome, OutboxMessage
from .base import DeliveryError, Message, Notifier, PermanentFailure, RetryableFailure

__all__ = [
    "DeliveryAttempt",
    "DeliveryError",
    "DeliveryOutcome",
    "Message",
    "Notifier",
    "OutboxMessage",
    "PermanentFailure",
    "RetryableFailure",
]
