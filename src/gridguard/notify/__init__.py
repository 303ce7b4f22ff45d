"""Notification channels: the message type and the notifier protocol plugins implement."""

from .base import Message, Notifier

__all__ = ["Message", "Notifier"]
