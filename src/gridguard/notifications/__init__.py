"""Notifications: the outbox messages wait in, who hears about what, and delivery.

A workflow calls :func:`~gridguard.notifications.outbox.enqueue` inside the
transaction that records the cause (or routes an
:class:`~gridguard.notifications.routing.Event` through a
:class:`~gridguard.notifications.routing.Router`); the
:class:`~gridguard.notifications.dispatcher.Dispatcher` delivers later
through notifier plugins (:mod:`gridguard.notify`), with retries, backoff,
an idempotency key per message and a dead-letter state.
:class:`~gridguard.notifications.service.Notifications` ties them together
for one campaign.
"""

from __future__ import annotations

from .dispatcher import Dispatcher, DispatchReport, RetryPolicy
from .outbox import MessageState, enqueue
from .routing import Event, Router
from .service import Notifications
from .settings import Contact, NotifyRole, NotifySettings, Route

__all__ = [
    "Contact",
    "DispatchReport",
    "Dispatcher",
    "Event",
    "MessageState",
    "Notifications",
    "NotifyRole",
    "NotifySettings",
    "RetryPolicy",
    "Route",
    "Router",
    "enqueue",
]
