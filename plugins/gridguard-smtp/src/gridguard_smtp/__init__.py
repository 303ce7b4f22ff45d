"""gridguard notifier ``email``: one e-mail per message, with smtplib.

Settings (checked when the channel is built; a bad one is a
:class:`~gridguard.errors.ConfigError` that names it):

``host`` (required), ``port`` (587; 465 with ``tls = "implicit"``)
    The SMTP server.
``tls``
    ``starttls`` (default): upgrade the connection before logging in;
    ``implicit``: TLS from the first byte (SMTPS); ``none``: clear text,
    allowed for loopback servers only.
``username``, ``password``
    Login (``password`` is required with a ``username``).
``sender`` (required)
    The From address, ``notify@example.org`` or ``华苑社区 <notify@example.org>``.
``cafile``
    A CA bundle to trust (a private mail relay); certificates are always verified.
``timeout``
    Seconds for the connection and each command (default 30).

The recipient of each message is its e-mail address. The message id goes
out as ``Message-ID`` and ``X-Gridguard-Idempotency-Key``. SMTP 4xx answers
and connection trouble raise :class:`~gridguard.notify.RetryableFailure`;
5xx answers (an unknown mailbox, a refused sender) raise
:class:`~gridguard.notify.PermanentFailure`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import gridguard
from gridguard.hookspecs import NotifierFactory

if TYPE_CHECKING:
    from ._notifier import SmtpNotifier, build_email

__all__ = ["SmtpNotifier", "build_email"]

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """The notifier is imported on first use, so loading the plugin does not import smtplib."""
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from . import _notifier

    value = getattr(_notifier, name)
    globals()[name] = value
    return value


@gridguard.hookimpl
def register_notifiers(register: Callable[[str, NotifierFactory], None]) -> None:
    from ._notifier import SmtpNotifier

    register("email", SmtpNotifier)
