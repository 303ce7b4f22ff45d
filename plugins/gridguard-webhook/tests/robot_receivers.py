"""Loopback chat robots that keep their vendors' published rules, for the tests.

Each is a :data:`~gridguard.testing.receiver.Responder` for an
:class:`~gridguard.testing.HttpReceiver`: it answers a request the way the
vendor's robot does, from the vendor's documentation and not from
gridguard's code.

* WeCom group robot (``/cgi-bin/webhook/send?key=...``): text content up to
  2,048 bytes and markdown up to 4,096 (errcode 40058 beyond); 20 messages
  a minute (45009 beyond); an unknown key is 93000.
* DingTalk custom robot (``/robot/send?access_token=...``): with a secret,
  ``timestamp`` (ms) within an hour of the robot's clock and
  ``sign = base64(HMAC-SHA256(secret, "<timestamp>\\n<secret>"))`` (310000
  otherwise); a custom keyword must be in the text (310000); 20 messages a
  minute, and a robot that sends more is held back for 10 minutes (130101);
  content over 20,000 bytes is refused (460101); an unknown token is 300001.
* Feishu custom bot (``/open-apis/bot/v2/hook/<token>``): with a secret,
  ``timestamp`` (s) within an hour and
  ``sign = base64(HMAC-SHA256(key="<timestamp>\\n<secret>", msg=""))``
  (19021 otherwise); keyword (19024); a body over 20 KB (9499); 100
  requests a minute and 5 a second (11232); an unknown token is 19001.

Time is the test's clock (``clock()`` in Unix seconds), so a test can run
fifty minutes of traffic in a second and assert on what the robot saw.
"""

from __future__ import annotations

import abc
import base64
import hashlib
import hmac
import json
import threading
from collections import deque
from collections.abc import Callable
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit

from gridguard.testing.receiver import Received

Answer = tuple[int, bytes, dict[str, str]]


def _answer(payload: dict[str, Any]) -> Answer:
    return 200, json.dumps(payload, ensure_ascii=False).encode(), {}


class _Window:
    """Requests accepted within the last ``seconds``: the vendor's rate limit."""

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit = limit
        self.seconds = seconds
        self.times: deque[float] = deque()

    def full(self, now: float) -> bool:
        while self.times and self.times[0] <= now - self.seconds:
            self.times.popleft()
        return len(self.times) >= self.limit

    def add(self, now: float) -> None:
        self.times.append(now)


class VendorRobot(abc.ABC):
    """What the robots share: the clock, a log of accepted and refused requests."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.accepted: list[tuple[float, Received]] = []
        self.refused: list[tuple[float, int, Received]] = []
        self.lock = threading.Lock()

    def __call__(self, record: Received) -> Answer:
        with self.lock:
            now = self.clock()
            code, text = self.judge(record, now)
            if code == 0:
                self.accepted.append((now, record))
            else:
                self.refused.append((now, code, record))
            return self.reply(code, text)

    @abc.abstractmethod
    def judge(self, record: Received, now: float) -> tuple[int, str]:
        """The vendor's answer to ``record`` at ``now``: ``(errcode, errmsg)``."""

    def reply(self, code: int, text: str) -> Answer:
        return _answer({"errcode": code, "errmsg": text})

    def refused_codes(self) -> list[int]:
        with self.lock:
            return [code for _, code, _ in self.refused]


class WeComRobot(VendorRobot):
    """A WeCom group robot with key ``key``."""

    LIMITS: ClassVar[dict[str, int]] = {"text": 2048, "markdown": 4096}

    def __init__(self, clock: Callable[[], float], key: str = "robot-key") -> None:
        super().__init__(clock)
        self.key = key
        self.window = _Window(20, 60.0)

    def judge(self, record: Received, now: float) -> tuple[int, str]:
        parts = urlsplit(record.path)
        if parts.path != "/cgi-bin/webhook/send" or parse_qs(parts.query).get("key") != [self.key]:
            return (
                93000,
                "invalid webhook url, hint: [x], more info at https://open.work.weixin.qq.com/devtool/query?e=93000",
            )
        body = record.json()
        kind = body.get("msgtype")
        if kind not in self.LIMITS or not isinstance(body.get(kind), dict):
            return 40008, "invalid message type"
        content = body[kind].get("content", "")
        if len(content.encode()) > self.LIMITS[kind]:
            return 40058, f"{kind}.content exceed max length {self.LIMITS[kind]}"
        if self.window.full(now):
            return 45009, "api freq out of limit"
        self.window.add(now)
        return 0, "ok"


def dingtalk_signature(secret: str, timestamp_ms: str) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


class DingTalkRobot(VendorRobot):
    """A DingTalk custom robot with ``token``, and the security settings given."""

    def __init__(
        self,
        clock: Callable[[], float],
        token: str = "robot-token",
        *,
        secret: str | None = None,
        keyword: str | None = None,
    ) -> None:
        super().__init__(clock)
        self.token = token
        self.secret = secret
        self.keyword = keyword
        self.window = _Window(20, 60.0)
        self.held_until = 0.0

    def judge(self, record: Received, now: float) -> tuple[int, str]:
        parts = urlsplit(record.path)
        query = parse_qs(parts.query)
        if parts.path != "/robot/send" or query.get("access_token") != [self.token]:
            return 300001, "token is not exist"
        if self.secret is not None:
            stamp = (query.get("timestamp") or [""])[0]
            if not stamp.isdigit() or abs(now * 1000 - int(stamp)) > 3600 * 1000:
                return 310000, "invalid timestamp"
            sign = (query.get("sign") or [""])[0]
            if not hmac.compare_digest(sign, dingtalk_signature(self.secret, stamp)):
                return 310000, "sign not match"
        body = record.json()
        kind = body.get("msgtype")
        if kind == "text":
            text = body["text"]["content"]
        elif kind == "markdown":
            text = body["markdown"]["title"] + body["markdown"]["text"]
        else:
            return 400105, "not supported msgtype"
        if self.keyword is not None and self.keyword not in text:
            return 310000, "keywords not in content"
        if len(text.encode()) > 20000:
            return 460101, "message too long, exceed 20000 bytes"
        if now < self.held_until:
            return 130101, "send too fast, exceed 20 times per minute"
        if self.window.full(now):
            self.held_until = now + 600  # DingTalk holds the robot back for ten minutes
            return 130101, "send too fast, exceed 20 times per minute"
        self.window.add(now)
        return 0, "ok"


def feishu_signature(secret: str, timestamp_s: str) -> str:
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


class FeishuRobot(VendorRobot):
    """A Feishu custom bot with ``token``, and the security settings given."""

    def __init__(
        self,
        clock: Callable[[], float],
        token: str = "bot-token",
        *,
        secret: str | None = None,
        keyword: str | None = None,
    ) -> None:
        super().__init__(clock)
        self.token = token
        self.secret = secret
        self.keyword = keyword
        self.minute = _Window(100, 60.0)
        self.second = _Window(5, 1.0)

    def reply(self, code: int, text: str) -> Answer:
        return _answer({"code": code, "msg": text, "data": {}})

    def judge(self, record: Received, now: float) -> tuple[int, str]:
        if urlsplit(record.path).path != f"/open-apis/bot/v2/hook/{self.token}":
            return 19001, "param invalid: incoming webhook access token invalid"
        if len(record.body) > 20 * 1024:
            return 9499, "Bad Request"
        body = record.json()
        if self.secret is not None:
            stamp = str(body.get("timestamp", ""))
            fresh = stamp.isdigit() and abs(now - int(stamp)) <= 3600
            if not fresh or not hmac.compare_digest(
                str(body.get("sign", "")), feishu_signature(self.secret, stamp)
            ):
                return 19021, (
                    "sign match fail or timestamp is not within one hour from current time"
                )
        text = body.get("content", {}).get("text", "")
        if self.keyword is not None and self.keyword not in text:
            return 19024, "Key Words Not Found"
        if self.minute.full(now) or self.second.full(now):
            return 11232, "frequency limited psm[lark.oapi.app_platform_runtime]appID[1]"
        self.minute.add(now)
        self.second.add(now)
        return 0, "success"
