"""gridguard notifiers for chat robots and webhooks.

Registers four notifiers through gridguard's ``register_notifiers`` hook:

* ``wecom``: a WeCom (企业微信) group robot, text or markdown;
* ``dingtalk``: a DingTalk (钉钉) custom robot, signed with timestamp +
  HMAC-SHA256 when a ``secret`` is set;
* ``feishu``: a Feishu/Lark (飞书) custom bot, signed the same way;
* ``webhook``: any HTTPS endpoint, the message as JSON, signed with an
  HMAC-SHA256 header (``secret`` required).

Every request carries ``Idempotency-Key: <message id>``. The robots'
"too fast" codes (WeCom 45009, DingTalk 130101, Feishu 11232) and HTTP 429
raise :class:`~gridguard.notify.RateLimited`, so the dispatcher pauses the
robot; HTTP 5xx and the robots' "busy" codes raise
:class:`~gridguard.notify.RetryableFailure`; other 4xx answers and the
robots' other error codes (an invalid key or token, a keyword or signature
mismatch, a robot removed from its group) raise
:class:`~gridguard.notify.PermanentFailure` with the vendor's code and
message. The robots declare their vendors' limits
(:class:`~gridguard.notify.ChannelLimits`: bytes per message, messages a
minute and a second), which the dispatcher keeps. A message whose data
names a mobile number (``mention``) @-mentions that person the vendor's
way. Settings are checked when the channel is built: a missing or bad one
is a :class:`~gridguard.errors.ConfigError` that names it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import gridguard
from gridguard.hookspecs import NotifierFactory

if TYPE_CHECKING:
    from ._notifiers import (
        DingTalkNotifier,
        FeishuNotifier,
        JsonWebhookNotifier,
        WeComNotifier,
        dingtalk_sign,
        feishu_sign,
        webhook_signature,
    )

__all__ = [
    "DingTalkNotifier",
    "FeishuNotifier",
    "JsonWebhookNotifier",
    "WeComNotifier",
    "dingtalk_sign",
    "feishu_sign",
    "webhook_signature",
]

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    """The notifiers are imported on first use: loading the plugin does not import http.client."""
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from . import _notifiers

    value = getattr(_notifiers, name)
    globals()[name] = value
    return value


@gridguard.hookimpl
def register_notifiers(register: Callable[[str, NotifierFactory], None]) -> None:
    from ._notifiers import DingTalkNotifier, FeishuNotifier, JsonWebhookNotifier, WeComNotifier

    register("wecom", WeComNotifier)
    register("dingtalk", DingTalkNotifier)
    register("feishu", FeishuNotifier)
    register("webhook", JsonWebhookNotifier)
