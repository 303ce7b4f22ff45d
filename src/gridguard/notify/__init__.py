"""The notifier protocol: what a channel plugin implements, and the message it sends.

A notifier plugin (``gridguard-smtp``, ``gridguard-webhook``) imports this
package and the model only. A channel whose receiver has limits (a chat
robot) declares them here too
(:class:`~gridguard.notify.limits.ChannelLimits`,
:class:`~gridguard.notify.limits.Limited`), with the splitting and pacing
that keep them. The workflow that queues,
routes and delivers messages (the outbox, the router, the dispatcher) is
:mod:`gridguard.notifications`.
"""

from __future__ import annotations

from ..model.messages import DeliveryAttempt, DeliveryOutcome, OutboxMessage
from .base import (
    DeliveryError,
    Message,
    Notifier,
    PermanentFailure,
    RateLimited,
    RetryableFailure,
)
from .limits import ChannelLimits, Limited, RobotPacer, split_message

__all__ = [
    "ChannelLimits",
    "DeliveryAttempt",
    "DeliveryError",
    "DeliveryOutcome",
    "Limited",
    "Message",
    "Notifier",
    "OutboxMessage",
    "PermanentFailure",
    "RateLimited",
    "RetryableFailure",
    "RobotPacer",
    "split_message",
]
