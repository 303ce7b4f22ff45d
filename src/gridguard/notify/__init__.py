"""Notifications: messages, the outbox they wait in, and the channels that deliver them.

A workflow calls :func:`~gridguard.notify.outbox.enqueue` inside the
transaction that records the cause (or routes an
:class:`~gridguard.notify.routing.Event` through a
:class:`~gridguard.notify.routing.Router`); the
:class:`~gridguard.notify.dispatcher.Dispatcher` delivers later through
notifier plugins, with retries, backoff, an idempotency key per message and
a dead-letter state. :class:`~gridguard.notify.service.Notifications` ties
them together for one campaign. All of these can be imported from
``gridguard.notify``.

The message and record types load eagerly (the storage schema needs them);
the rest loads on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports
from .base import (
    DeliveryError,
    Message,
    Notifier,
    PermanentFailure,
    RateLimited,
    RetryableFailure,
)
from .records import DeliveryAttempt, DeliveryOutcome, OutboxMessage

if TYPE_CHECKING:
    from .dispatcher import Dispatcher, DispatchReport, RetryPolicy
    from .limits import ChannelLimits, Limited, RobotPacer, split_message
    from .outbox import MessageState, enqueue
    from .routing import Event, Router
    from .service import Notifications
    from .settings import Contact, NotifyRole, NotifySettings, Route

_LAZY = {
    "enqueue": "outbox",
    "MessageState": "outbox",
    "Dispatcher": "dispatcher",
    "DispatchReport": "dispatcher",
    "RetryPolicy": "dispatcher",
    "ChannelLimits": "limits",
    "Limited": "limits",
    "RobotPacer": "limits",
    "split_message": "limits",
    "Event": "routing",
    "Router": "routing",
    "Notifications": "service",
    "Contact": "settings",
    "NotifyRole": "settings",
    "NotifySettings": "settings",
    "Route": "settings",
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())


__all__ = [
    "ChannelLimits",
    "Contact",
    "DeliveryAttempt",
    "DeliveryError",
    "DeliveryOutcome",
    "DispatchReport",
    "Dispatcher",
    "Event",
    "Limited",
    "Message",
    "MessageState",
    "Notifications",
    "Notifier",
    "NotifyRole",
    "NotifySettings",
    "OutboxMessage",
    "PermanentFailure",
    "RateLimited",
    "RetryPolicy",
    "RetryableFailure",
    "RobotPacer",
    "Route",
    "Router",
    "enqueue",
    "split_message",
]
