"""The chat-robot and webhook notifiers (see :mod:`gridguard_webhook`)."""

from __future__ import annotations

import abc
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
from gridguard.notify import ChannelLimits, Message, PermanentFailure, RateLimited, RetryableFailure

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


def _utf8(text: str) -> int:
    return len(text.encode("utf-8"))


def _mobile(message: Message) -> str | None:
    """The mobile number to @-mention, as the vendors take it (no ``+86``, digits only)."""
    mobile = message.mention
    if mobile is None:
        return None
    digits = "".join(c for c in mobile if c.isdigit() or c == "+")
    if digits.startswith("+86"):
        digits = digits[3:]
    return digits.lstrip("+") or None


def _keyword(settings: Mapping[str, Any]) -> str | None:
    keyword = text_setting(settings, "keyword")
    if keyword is not None and ("\n" in keyword or len(keyword) > 20):
        raise ConfigError(
            f"keyword: one word or short phrase of at most 20 characters (got {keyword!r})"
        )
    return keyword


def _with_keyword(keyword: str | None, subject: str, body: str) -> str:
    """The subject line, starting with the robot's keyword unless the text holds it already."""
    if keyword is None or keyword in subject or keyword in body:
        return subject
    return f"【{keyword}】{subject}"


class _Robot(abc.ABC):
    """Shared settings, limits and posting of the robot notifiers."""

    extra: ClassVar[frozenset[str]] = frozenset()
    PER_MINUTE: ClassVar[int | None] = 20
    BURST: ClassVar[int | None] = None

    def __init__(self, settings: Mapping[str, Any]) -> None:
        _known(settings, _COMMON | self.extra)
        parts = check_url(settings, allow_http=_flag(settings, "allow_http"))
        self.url = safe_url(parts.geturl())
        cafile = text_setting(settings, "cafile")
        self.poster = HttpPoster(parts, timeout=number(settings, "timeout", 10.0), cafile=cafile)
        self.query = parse_qs(parts.query)
        # One budget per robot: the whole URL (key or token included) names it.
        digest = hashlib.sha256(parts.geturl().encode()).hexdigest()[:16]
        self.robot = f"{type(self).__name__}:{digest}"

    @abc.abstractmethod
    def max_bytes(self) -> int:
        """The most bytes one message may take, as :meth:`size` counts them."""

    @property
    def limits(self) -> ChannelLimits:
        """The vendor's published limits for this robot."""
        return ChannelLimits(
            max_bytes=self.max_bytes(),
            per_minute=self.PER_MINUTE,
            burst=self.BURST,
            robot=self.robot,
        )

    def _post(self, message: Message, payload: Mapping[str, Any], target: str | None = None) -> Any:
        answer = self.poster.post(_json(payload), _headers(message), target=target)
        check_status(answer)
        return answer


def _robot_code(
    answer: Answer,
    field: str,
    retry: frozenset[int],
    name: str,
    *alternatives: str,
    rate: frozenset[int] = frozenset(),
    pause: float | None = None,
) -> None:
    """Robots answer HTTP 200 with an error code: 0 is success, ``retry`` codes are transient.

    ``rate`` codes say "too fast": :class:`RateLimited`, with ``pause``
    seconds when the vendor says how long it holds the robot back. Any
    other code is permanent (an invalid key, a keyword mismatch, a robot
    removed), reported with the vendor's code and message.
    """
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
    if code in rate:
        raise RateLimited(f"{name} error {code}: {text}", retry_after=pause)
    if code in retry:
        raise RetryableFailure(f"{name} error {code}: {text}")
    raise PermanentFailure(f"{name} error {code}: {text}")


class WeComNotifier(_Robot):
    """A WeCom (企业微信) group robot.

    Settings: ``url`` (the robot's webhook, with ``key=``), ``msgtype``
    (``text`` or ``markdown``), ``mention_all`` (``@all`` in text
    messages), ``timeout``. Limits: 20 messages a minute; text content up
    to 2,048 bytes, markdown up to 4,096 (errcode 40058 beyond). A text
    message @-mentions its recipient's mobile (``mentioned_mobile_list``);
    markdown has no way to mention by mobile.
    """

    extra: ClassVar[frozenset[str]] = frozenset({"msgtype", "mention_all"})
    RETRY: ClassVar[frozenset[int]] = frozenset({-1, 45033})
    """System busy, too many concurrent calls."""
    RATE: ClassVar[frozenset[int]] = frozenset({45009})
    """API frequency out of limit (20 a minute)."""
    MAX_BYTES: ClassVar[dict[str, int]] = {"text": 2048, "markdown": 4096}

    def __init__(self, settings: Mapping[str, Any]) -> None:
        super().__init__(settings)
        if not self.query.get("key"):
            raise ConfigError(f"url: a WeCom robot URL carries key=... (got {self.url!r})")
        self.msgtype = _choice(settings, "msgtype", ("text", "markdown"))
        self.mention_all = _flag(settings, "mention_all")

    def max_bytes(self) -> int:
        return self.MAX_BYTES[self.msgtype]

    def content(self, message: Message) -> str:
        """The text WeCom counts against its limit."""
        if self.msgtype == "markdown":
            return f"**{message.subject}**\n{message.body}"
        return f"{message.subject}\n{message.body}"

    def size(self, message: Message) -> int:
        return _utf8(self.content(message))

    def payload(self, message: Message) -> dict[str, Any]:
        if self.msgtype == "markdown":
            return {"msgtype": "markdown", "markdown": {"content": self.content(message)}}
        text: dict[str, Any] = {"content": self.content(message)}
        if self.mention_all:
            text["mentioned_list"] = ["@all"]
        mobile = _mobile(message)
        if mobile is not None:
            text["mentioned_mobile_list"] = [mobile]
        return {"msgtype": "text", "text": text}

    def send(self, message: Message) -> None:
        answer = self._post(message, self.payload(message))
        _robot_code(answer, "errcode", self.RETRY, "WeCom", rate=self.RATE)


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature: base64(HMAC-SHA256(secret, "<timestamp>\\n<secret>"))."""
    to_sign = f"{timestamp_ms}\n{secret}".encode()
    digest = hmac.new(secret.encode("utf-8"), to_sign, hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


class DingTalkNotifier(_Robot):
    """A DingTalk (钉钉) custom robot.

    Settings: ``url`` (with ``access_token=``), ``secret`` (the robot's
    signing secret, ``SEC...``: requests then carry ``timestamp`` and
    ``sign``), ``keyword`` (the robot's "custom keyword" security setting:
    put in every message that does not hold it), ``msgtype`` (``text`` or
    ``markdown``), ``mention_all``, ``timeout``. Limits: 20 messages a
    minute (beyond, errcode 130101 and the robot is held back for 10
    minutes); gridguard keeps a message's content under 20,000 bytes. A
    message @-mentions its recipient's mobile (``at.atMobiles`` and
    ``@<mobile>`` in the text, as DingTalk asks).
    """

    extra: ClassVar[frozenset[str]] = frozenset({"secret", "msgtype", "mention_all", "keyword"})
    RETRY: ClassVar[frozenset[int]] = frozenset({-1})
    """System busy."""
    RATE: ClassVar[frozenset[int]] = frozenset({130101})
    """Sending too fast: more than 20 a minute."""
    HELD_BACK: ClassVar[float] = 600.0
    """Seconds DingTalk holds back a robot that sent too fast."""

    def __init__(self, settings: Mapping[str, Any], *, clock: Callable[[], float] = time.time):
        super().__init__(settings)
        if not self.query.get("access_token"):
            raise ConfigError(
                f"url: a DingTalk robot URL carries access_token=... (got {self.url!r})"
            )
        self.secret = text_setting(settings, "secret", secret=True)
        self.msgtype = _choice(settings, "msgtype", ("text", "markdown"))
        self.mention_all = _flag(settings, "mention_all")
        self.keyword = _keyword(settings)
        self.clock = clock

    def max_bytes(self) -> int:
        return 20_000

    def content(self, message: Message) -> str:
        """The text of the message as DingTalk shows it: keyword, subject, body, mention."""
        subject = _with_keyword(self.keyword, message.subject, message.body)
        mobile = _mobile(message)
        mention = f"\n@{mobile}" if mobile else ""
        if self.msgtype == "markdown":
            return f"#### {subject}\n\n{message.body}{mention}"
        return f"{subject}\n{message.body}{mention}"

    def size(self, message: Message) -> int:
        return _utf8(self.content(message))

    def payload(self, message: Message) -> dict[str, Any]:
        at: dict[str, Any] = {"isAtAll": self.mention_all}
        mobile = _mobile(message)
        if mobile is not None:
            at["atMobiles"] = [mobile]
        if self.msgtype == "markdown":
            title = _with_keyword(self.keyword, message.subject, message.body)
            return {
                "msgtype": "markdown",
                "markdown": {"title": title, "text": self.content(message)},
                "at": at,
            }
        return {"msgtype": "text", "text": {"content": self.content(message)}, "at": at}

    def target(self) -> str:
        target = self.poster.target
        if self.secret:
            stamp = int(self.clock() * 1000)
            sign = quote_plus(dingtalk_sign(self.secret, stamp))
            target += f"&timestamp={stamp}&sign={sign}"
        return target

    def send(self, message: Message) -> None:
        answer = self._post(message, self.payload(message), self.target())
        _robot_code(answer, "errcode", self.RETRY, "DingTalk", rate=self.RATE, pause=self.HELD_BACK)


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu's signature: base64(HMAC-SHA256(key="<timestamp>\\n<secret>", message=""))."""
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode("ascii")


class FeishuNotifier(_Robot):
    """A Feishu/Lark (飞书) custom bot.

    Settings: ``url`` (``.../open-apis/bot/v2/hook/<token>``), ``secret``
    (signature check: requests then carry ``timestamp`` and ``sign``),
    ``keyword`` (the bot's keyword security setting), ``timeout``. Limits:
    100 requests a minute and 5 a second (code 11232 beyond); a request
    body up to 20 KB (code 9499 beyond). Feishu's custom bots mention
    people by their Feishu id, not by mobile: a recipient whose address on
    the channel is an open id (``ou_...``) is mentioned with ``<at>``.
    """

    extra: ClassVar[frozenset[str]] = frozenset({"secret", "keyword"})
    RETRY: ClassVar[frozenset[int]] = frozenset()
    RATE: ClassVar[frozenset[int]] = frozenset({11232})
    """Frequency limited."""
    PER_MINUTE: ClassVar[int | None] = 100
    BURST: ClassVar[int | None] = 5

    def __init__(self, settings: Mapping[str, Any], *, clock: Callable[[], float] = time.time):
        super().__init__(settings)
        if "/hook/" not in self.poster.target:
            raise ConfigError(f"url: a Feishu bot URL ends in /hook/<token> (got {self.url!r})")
        self.secret = text_setting(settings, "secret", secret=True)
        self.keyword = _keyword(settings)
        self.clock = clock

    def max_bytes(self) -> int:
        return 20 * 1024

    def size(self, message: Message) -> int:
        """The request body's bytes: Feishu's limit is on the whole body."""
        return len(_json(self.payload(message)))

    def text(self, message: Message) -> str:
        subject = _with_keyword(self.keyword, message.subject, message.body)
        mention = ""
        if message.recipient.startswith("ou_") and message.recipient.isascii():
            mention = f'<at user_id="{message.recipient}"></at> '
        return f"{mention}{subject}\n{message.body}"

    def payload(self, message: Message) -> dict[str, Any]:
        payload: dict[str, Any] = {"msg_type": "text", "content": {"text": self.text(message)}}
        if self.secret:
            stamp = int(self.clock())
            payload["timestamp"] = str(stamp)
            payload["sign"] = feishu_sign(self.secret, stamp)
        return payload

    def send(self, message: Message) -> None:
        answer = self._post(message, self.payload(message))
        _robot_code(answer, "code", self.RETRY, "Feishu", "StatusCode", rate=self.RATE)


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
