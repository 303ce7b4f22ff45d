"""The chat-robot and webhook notifiers (see :mod:`gridguard_webhook`)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar
from urllib.parse import parse_qs, quote_plus

import gridguard
from gridguard.errors import ConfigError
from gridguard.notify import Message, PermanentFailure, RetryableFailure

from ._http import Answer, HttpPoster, check_status, check_url, number, safe_url, text_setting

__all__ = [
    "DingTalkNotifier",
    "FeishuNotifier",
    "JsonWebhookNotifier",
    "WeComNotifier",
    "dingtalk_sign",
    "feishu_sign",
    "webhook_signature",
]

_COMMON = {"url", "timeout", "allow_http", "cafile"}


def _flag(settings: Mapping[str, Any], name: str, default: bool = False) -> bool:
    value = settings.get(name, default)
    if not isinstance(value, bool):
        raise ConfigError(f"{name}: must be true or false (got {value!r})")
    return value


def _choice(settings: Mapping[str, Any], name: str, allowed: tuple[str, ...]) -> str:
    value = settings.get(name, allowed[0])
    if value not in allowed:
        raise ConfigError(f"{name}: must be one of {', '.join(allowed)} (got {value!r})")
    return str(value)


def _known(settings: Mapping[str, Any], known: set[str]) -> None:
    extra = sorted(set(settings) - known - {"type"})
    if extra:
        raise ConfigError(f"{extra[0]}: unknown setting (known: {', '.join(sorted(known))})")


def _headers(message: Message) -> dict[str, str]:
    return {
        "Content-Type": "application/json; charset=utf-8",
        "Idempotency-Key": str(message.id),
        "User-Agent": f"gridguard/{gridguard.__version__}",
    }


def _json(payload: Mapping[str, Any]) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class _Robot:
    """Shared settings and posting of the robot notifiers."""

    extra: ClassVar[frozenset[str]] = frozenset()

    def __init__(self, settings: Mapping[str, Any]) -> None:
        _known(settings, _COMMON | self.extra)
        parts = check_url(settings, allow_http=_flag(settings, "allow_http"))
        self.url = safe_url(parts.geturl())
        cafile = text_setting(settings, "cafile")
        self.poster = HttpPoster(parts, timeout=number(settings, "timeout", 10.0), cafile=cafile)
        self.query = parse_qs(parts.query)

    def _post(self, message: Message, payload: Mapping[str, Any], target: str | None = None) -> Any:
        answer = self.poster.post(_json(payload), _headers(message), target=target)
        check_status(answer)
        return answer


def _robot_code(
    answer: Answer, field: str, retry: frozenset[int], name: str, *alternatives: str
) -> None:
    """Robots answer HTTP 200 with an error code: 0 is success, ``retry`` codes are transient."""
    data = answer.json()
    if not isinstance(data, dict):
        raise RetryableFailure(f"{name} answered {data!r}, not an object")
    code = data.get(field)
    for other in alternatives:
        if code is None:
            code = data.get(other)
    if code == 0:
        return
    text = data.get("errmsg") or data.get("msg") or data.get("StatusMessage") or ""
    if not isinstance(code, int):
        raise RetryableFailure(f"{name} answered without an error code: {data!r}")
    if code in retry:
        raise RetryableFailure(f"{name} error {code}: {text}")
    raise PermanentFailure(f"{name} error {code}: {text}")


class WeComNotifier(_Robot):
    """A WeCom (企业微信) group robot.

    Settings: ``url`` (the robot's webhook, with ``key=``), ``msgtype``
    (``text`` or ``markdown``), ``mention_all`` (``@all`` in text
    messages), ``timeout``.
    """

    extra: ClassVar[frozenset[str]] = frozenset({"msgtype", "mention_all"})
    RETRY: ClassVar[frozenset[int]] = frozenset({-1, 45009, 45033})
    """System busy, API frequency limit, too many concurrent calls."""

    def __init__(self, settings: Mapping[str, Any]) -> None:
        super().__init__(settings)
        if not self.query.get("key"):
            raise ConfigError(f"url: a WeCom robot URL carries key=... (got {self.url!r})")
        self.msgtype = _choice(settings, "msgtype", ("text", "markdown"))
        self.mention_all = _flag(settings, "mention_all")

    def payload(self, message: Message) -> dict[str, Any]:
        if self.msgtype == "markdown":
            return {
                "msgtype": "markdown",
                "markdown": {"content": f"**{message.subject}**\n{message.body}"},
            }
        text: dict[str, Any] = {"content": f"{message.subject}\n{message.body}"}
        if self.mention_all:
            text["mentioned_list"] = ["@all"]
        return {"msgtype": "text", "text": text}

    def send(self, message: Message) -> None:
        _robot_code(self._post(message, self.payload(message)), "errcode", self.RETRY, "WeCom")


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature: base64(HMAC-SHA256(secret, "<timestamp>\\n<secret>"))."""
    to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode("utf-8"), to_sign, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


class DingTalkNotifier(_Robot):
    """A DingTalk (钉钉) custom robot.

    Settings: ``url`` (with ``access_token=``), ``secret`` (the robot's
    signing secret, ``SEC...``: requests then carry ``timestamp`` and
    ``sign``), ``msgtype`` (``text`` or ``markdown``), ``mention_all``,
    ``timeout``.
    """

    extra: ClassVar[frozenset[str]] = frozenset({"secret", "msgtype", "mention_all"})
    RETRY: ClassVar[frozenset[int]] = frozenset({-1, 130101})
    """System busy, sending too fast."""

    def __init__(self, settings: Mapping[str, Any], *, clock: Callable[[], float] = time.time):
        super().__init__(settings)
        if not self.query.get("access_token"):
            raise ConfigError(
                f"url: a DingTalk robot URL carries access_token=... (got {self.url!r})"
            )
        self.secret = text_setting(settings, "secret", secret=True)
        self.msgtype = _choice(settings, "msgtype", ("text", "markdown"))
        self.mention_all = _flag(settings, "mention_all")
        self.clock = clock

    def payload(self, message: Message) -> dict[str, Any]:
        at = {"isAtAll": self.mention_all}
        if self.msgtype == "markdown":
            return {
                "msgtype": "markdown",
                "markdown": {
                    "title": message.subject,
                    "text": f"#### {message.subject}\n\n{message.body}",
                },
                "at": at,
            }
        return {
            "msgtype": "text",
            "text": {"content": f"{message.subject}\n{message.body}"},
            "at": at,
        }

    def target(self) -> str:
        target = self.poster.target
        if self.secret:
            stamp = int(self.clock() * 1000)
            sign = quote_plus(dingtalk_sign(self.secret, stamp))
            target += f"&timestamp={stamp}&sign={sign}"
        return target

    def send(self, message: Message) -> None:
        answer = self._post(message, self.payload(message), self.target())
        _robot_code(answer, "errcode", self.RETRY, "DingTalk")


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu's signature: base64(HMAC-SHA256(key="<timestamp>\\n<secret>", message=""))."""
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode("ascii")


class FeishuNotifier(_Robot):
    """A Feishu/Lark (飞书) custom bot.

    Settings: ``url`` (``.../open-apis/bot/v2/hook/<token>``), ``secret``
    (signature check: requests then carry ``timestamp`` and ``sign``),
    ``timeout``.
    """

    extra: ClassVar[frozenset[str]] = frozenset({"secret"})
    RETRY: ClassVar[frozenset[int]] = frozenset({9499, 11232})
    """Too many requests, frequency limited."""

    def __init__(self, settings: Mapping[str, Any], *, clock: Callable[[], float] = time.time):
        super().__init__(settings)
        if "/hook/" not in self.poster.target:
            raise ConfigError(f"url: a Feishu bot URL ends in /hook/<token> (got {self.url!r})")
        self.secret = text_setting(settings, "secret", secret=True)
        self.clock = clock

    def payload(self, message: Message) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "msg_type": "text",
            "content": {"text": f"{message.subject}\n{message.body}"},
        }
        if self.secret:
            stamp = int(self.clock())
            payload["timestamp"] = str(stamp)
            payload["sign"] = feishu_sign(self.secret, stamp)
        return payload

    def send(self, message: Message) -> None:
        answer = self._post(message, self.payload(message))
        _robot_code(answer, "code", self.RETRY, "Feishu", "StatusCode")


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """The generic webhook's signature: ``sha256=`` hex HMAC-SHA256 of ``"<timestamp>." + body``."""
    mac = hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


class JsonWebhookNotifier:
    """Posts each message as JSON to any HTTPS endpoint, signed with a shared secret.

    Settings: ``url``, ``secret`` (required), ``signature_header`` (default
    ``X-Gridguard-Signature``), ``timeout``. Headers: ``Idempotency-Key``
    (the message id), ``X-Gridguard-Timestamp`` (Unix seconds) and the
    signature, ``sha256=<hex HMAC of "<timestamp>." + body>``. A receiver
    checks the signature and the timestamp's age, and acts once per key.
    """

    def __init__(self, settings: Mapping[str, Any], *, clock: Callable[[], float] = time.time):
        _known(settings, _COMMON | {"secret", "signature_header"})
        parts = check_url(settings, allow_http=_flag(settings, "allow_http"))
        self.url = safe_url(parts.geturl())
        secret = text_setting(settings, "secret", secret=True)
        if secret is None:
            raise ConfigError("secret: required, the shared secret that signs each request")
        self.secret = secret
        self.header = text_setting(settings, "signature_header") or "X-Gridguard-Signature"
        self.poster = HttpPoster(
            parts,
            timeout=number(settings, "timeout", 10.0),
            cafile=text_setting(settings, "cafile"),
        )
        self.clock = clock

    @staticmethod
    def payload(message: Message) -> dict[str, Any]:
        return {
            "id": str(message.id),
            "at": message.at.isoformat(),
            "topic": message.topic,
            "channel": message.channel,
            "area_id": message.area_id,
            "recipient": message.recipient,
            "subject": message.subject,
            "body": message.body,
            "data": dict(message.data),
        }

    def send(self, message: Message) -> None:
        body = _json(self.payload(message))
        stamp = str(int(self.clock()))
        headers = _headers(message)
        headers["X-Gridguard-Timestamp"] = stamp
        headers[self.header] = webhook_signature(self.secret, stamp, body)
        check_status(self.poster.post(body, headers))
