"""Undeliverable messages: a route that reaches no one, or a channel nobody configured.

A message is undeliverable when it is stored on the
:data:`~gridguard.notifications.settings.UNDELIVERABLE` channel (its route
found no person holding the role: no grid worker on file, no observer for
the building) or when it waits on a channel the workspace's configuration
does not have. Either way no dispatcher will ever send it, so it is
counted and listed (``notify status``), makes ``notify dispatch`` exit
non-zero, and appears in the daily report and the demo summary as
``notifications_undeliverable``; it never sits silently pending.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

import attrs

from ..model.messages import OutboxMessage
from .outbox import history
from .settings import UNDELIVERABLE

if TYPE_CHECKING:
    from ..storage.base import UnitOfWork

__all__ = ["Undeliverable", "find_undeliverable", "relabel", "why_undeliverable"]


@attrs.frozen
class Undeliverable:
    """One message no dispatcher will send, and why."""

    message: OutboxMessage
    reason: str


def why_undeliverable(message: OutboxMessage, channels: Collection[str]) -> str | None:
    """Why ``message`` cannot be delivered with ``channels`` configured, or ``None`` if it can."""
    if message.channel == UNDELIVERABLE:
        return str(message.data.get("undeliverable") or "its route reaches no one")
    if message.channel not in channels:
        return f"channel {message.channel!r} is not configured"
    return None


def find_undeliverable(uow: UnitOfWork, channels: Collection[str]) -> list[Undeliverable]:
    """Every message no dispatcher with ``channels`` will send, oldest first.

    A message on a channel that is no longer configured but was sent or
    dead-lettered before is settled, not undeliverable.
    """
    out: list[Undeliverable] = []
    for message in uow.find(OutboxMessage):
        reason = why_undeliverable(message, channels)
        if reason is None:
            continue
        if message.channel != UNDELIVERABLE and any(
            a.outcome.final for a in history(uow, message.id)
        ):
            continue
        out.append(Undeliverable(message, reason))
    out.sort(key=lambda u: (u.message.at, str(u.message.id)))
    return out


def relabel(
    status: dict[str, dict[str, int]], channels: Collection[str]
) -> dict[str, dict[str, int]]:
    """An outbox status with what waits on unconfigured channels shown as ``undeliverable``."""
    waiting = ("pending", "in_flight")
    out: dict[str, dict[str, int]] = {}
    for channel, states in status.items():
        if channel in channels:
            out[channel] = dict(states)
            continue
        shown: dict[str, int] = {}
        for state, n in states.items():
            key = "undeliverable" if state in waiting or channel == UNDELIVERABLE else state
            shown[key] = shown.get(key, 0) + n
        out[channel] = dict(sorted(shown.items()))
    return out
