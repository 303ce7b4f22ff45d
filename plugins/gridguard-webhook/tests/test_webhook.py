"""gridguard-webhook against a real HTTP server on loopback: the contract suite and more."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from gridguard_webhook import (
    DingTalkNotifier,
    FeishuNotifier,
    JsonWebhookNotifier,
    WeComNotifier,
    dingtalk_sign,
    feishu_sign,
    webhook_signature,
)

import gridguard
from gridguard.errors import ConfigError
from gridguard.notify import Message, PermanentFailure, RateLimited, RetryableFailure
from gridguard.plugins import collect_registries, get_plugin_manager
from gridguard.testing import HttpReceiver, NotifierContract

SECRET = "SECd1f2e3-test-secret"


@pytest.fixture
def receiver() -> Iterator[HttpReceiver]:
    with HttpReceiver() as running:
        yield running


def _message(**fields: Any) -> Message:
    values: dict[str, Any] = {
        "recipient": "grid_worker@g1",
        "subject": "发热报告",
        "body": "体温 38.5°C",
    }
    values.update(fields)
    return Message(**values)


# -- the contract suite, once per notifier --------------------------------------------------


class _Contract(NotifierContract):
    factory: Callable[[dict[str, Any]], Any]
    path = "/hook"

    def settings(self, receiver: HttpReceiver) -> dict[str, Any]:
        return {"url": receiver.url + self.path}

    @pytest.fixture
    def notifier(self, receiver: HttpReceiver) -> Any:
        return type(self).factory(self.settings(receiver))

    @pytest.fixture
    def received(self, receiver: HttpReceiver) -> Callable[[], list[Any]]:
        return receiver.received

    @pytest.fixture
    def failing_notifier(self, receiver: HttpReceiver) -> Any:
        receiver.answer(503, headers={"Retry-After": "7"})
        return type(self).factory(self.settings(receiver))

    @pytest.fixture
    def refusing_notifier(self, receiver: HttpReceiver) -> Any:
        receiver.answer(400)
        return type(self).factory(self.settings(receiver))


class TestWeComContract(_Contract):
    factory = WeComNotifier
    path = "/cgi-bin/webhook/send?key=test-key"

    @pytest.fixture
    def bad_settings(self) -> list[tuple[Any, dict[str, Any], str]]:
        return [
            (WeComNotifier, {}, "url"),
            (WeComNotifier, {"url": "ftp://example.org/x?key=1"}, "url"),
            (WeComNotifier, {"url": "http://qyapi.example.org/send?key=1"}, "url"),
            (WeComNotifier, {"url": "https://qyapi.example.org/send"}, "url"),
            (WeComNotifier, {"url": "https://x.org/send?key=1", "msgtype": "card"}, "msgtype"),
            (WeComNotifier, {"url": "https://x.org/send?key=1", "timeout": 0}, "timeout"),
            (WeComNotifier, {"url": "https://x.org/send?key=1", "colour": "red"}, "colour"),
        ]


class TestDingTalkContract(_Contract):
    factory = DingTalkNotifier
    path = "/robot/send?access_token=test-token"

    def settings(self, receiver: HttpReceiver) -> dict[str, Any]:
        return {"url": receiver.url + self.path, "secret": SECRET}

    @pytest.fixture
    def bad_settings(self) -> list[tuple[Any, dict[str, Any], str]]:
        return [
            (DingTalkNotifier, {"url": "https://oapi.example.org/robot/send"}, "url"),
            (DingTalkNotifier, {"url": "https://o.org/r?access_token=t", "secret": ""}, "secret"),
            (DingTalkNotifier, {"url": "https://o.org/r?access_token=t", "secret": 5}, "secret"),
        ]


class TestFeishuContract(_Contract):
    factory = FeishuNotifier
    path = "/open-apis/bot/v2/hook/test-token"

    def settings(self, receiver: HttpReceiver) -> dict[str, Any]:
        return {"url": receiver.url + self.path, "secret": SECRET}

    @pytest.fixture
    def bad_settings(self) -> list[tuple[Any, dict[str, Any], str]]:
        return [
            (FeishuNotifier, {"url": "https://open.example.org/open-apis/bot/v2/"}, "url"),
            (FeishuNotifier, {"url": "https://o.org/hook/t", "secret": "  "}, "secret"),
        ]


class TestJsonWebhookContract(_Contract):
    factory = JsonWebhookNotifier

    def settings(self, receiver: HttpReceiver) -> dict[str, Any]:
        return {"url": receiver.url + self.path, "secret": SECRET}

    @pytest.fixture
    def bad_settings(self) -> list[tuple[Any, dict[str, Any], str]]:
        return [
            (JsonWebhookNotifier, {"url": "https://hooks.example.org/in"}, "secret"),
            (JsonWebhookNotifier, {"secret": SECRET}, "url"),
            (JsonWebhookNotifier, {"url": "not a url", "secret": SECRET}, "url"),
            (JsonWebhookNotifier, {"url": "https://h.org:99999/", "secret": SECRET}, "url"),
        ]


# -- what each robot receives ---------------------------------------------------------------


def test_the_plugin_registers_its_notifiers_through_the_entry_point() -> None:
    registries = collect_registries(get_plugin_manager())
    for name in ("wecom", "dingtalk", "feishu", "webhook"):
        assert registries.notifiers.entry(name).plugin == "webhook"


def test_wecom_text_and_markdown_payloads(receiver: HttpReceiver) -> None:
    url = receiver.url + "/cgi-bin/webhook/send?key=k1"
    WeComNotifier({"url": url, "mention_all": True}).send(_message())
    WeComNotifier({"url": url, "msgtype": "markdown"}).send(_message())
    text, markdown = (r.json() for r in receiver.received())
    assert text == {
        "msgtype": "text",
        "text": {"content": "发热报告\n体温 38.5°C", "mentioned_list": ["@all"]},
    }
    assert markdown == {"msgtype": "markdown", "markdown": {"content": "**发热报告**\n体温 38.5°C"}}
    assert receiver.received()[0].path == "/cgi-bin/webhook/send?key=k1"


def test_dingtalk_signs_with_timestamp_and_hmac(receiver: HttpReceiver) -> None:
    url = receiver.url + "/robot/send?access_token=tok"
    notifier = DingTalkNotifier({"url": url, "secret": SECRET}, clock=lambda: 1580000000.123)
    notifier.send(_message())
    (request,) = receiver.received()
    query = parse_qs(urlsplit(request.path).query)
    assert query["access_token"] == ["tok"]
    assert query["timestamp"] == ["1580000000123"]
    expected = base64.b64encode(
        hmac.new(SECRET.encode(), f"1580000000123\n{SECRET}".encode(), hashlib.sha256).digest()
    ).decode()
    assert query["sign"] == [expected] == [dingtalk_sign(SECRET, 1580000000123)]
    assert request.json()["text"] == {"content": "发热报告\n体温 38.5°C"}


def test_dingtalk_without_a_secret_sends_no_signature(receiver: HttpReceiver) -> None:
    DingTalkNotifier({"url": receiver.url + "/robot/send?access_token=tok"}).send(_message())
    (request,) = receiver.received()
    assert request.path == "/robot/send?access_token=tok"


def test_feishu_signs_in_the_body(receiver: HttpReceiver) -> None:
    url = receiver.url + "/open-apis/bot/v2/hook/tok"
    FeishuNotifier({"url": url, "secret": SECRET}, clock=lambda: 1580000000.9).send(_message())
    body = receiver.received()[0].json()
    expected = base64.b64encode(
        hmac.new(f"1580000000\n{SECRET}".encode(), b"", hashlib.sha256).digest()
    ).decode()
    assert body["timestamp"] == "1580000000"
    assert body["sign"] == expected == feishu_sign(SECRET, 1580000000)
    assert body["msg_type"] == "text"
    assert body["content"] == {"text": "发热报告\n体温 38.5°C"}


def test_the_generic_webhook_signature_verifies(receiver: HttpReceiver) -> None:
    message = _message(data={"temperature": 38.5})
    JsonWebhookNotifier({"url": receiver.url + "/in", "secret": SECRET}).send(message)
    (request,) = receiver.received()
    stamp = request.headers["X-Gridguard-Timestamp"]
    mac = hmac.new(SECRET.encode(), stamp.encode() + b"." + request.body, hashlib.sha256)
    assert request.headers["X-Gridguard-Signature"] == "sha256=" + mac.hexdigest()
    assert webhook_signature(SECRET, stamp, request.body) == "sha256=" + mac.hexdigest()
    assert webhook_signature("other", stamp, request.body) != "sha256=" + mac.hexdigest()
    assert request.headers["Idempotency-Key"] == str(message.id)
    payload = request.json()
    assert payload["id"] == str(message.id)
    assert payload["data"] == {"temperature": 38.5}


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_429_and_5xx_are_retried(receiver: HttpReceiver, status: int) -> None:
    receiver.answer(status, headers={"Retry-After": "12"})
    notifier = JsonWebhookNotifier({"url": receiver.url + "/in", "secret": SECRET})
    with pytest.raises(RetryableFailure) as caught:
        notifier.send(_message())
    assert not isinstance(caught.value, PermanentFailure)
    assert isinstance(caught.value, RateLimited) is (status == 429)
    assert caught.value.retry_after == 12.0
    notifier.send(_message())  # the next answer is a success again


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 422])
def test_other_4xx_are_permanent(receiver: HttpReceiver, status: int) -> None:
    receiver.answer(status)
    with pytest.raises(PermanentFailure, match=f"HTTP {status}"):
        JsonWebhookNotifier({"url": receiver.url + "/in", "secret": SECRET}).send(_message())


@pytest.mark.parametrize(
    ("factory", "path", "answer", "retryable"),
    [
        (WeComNotifier, "/s?key=k", {"errcode": 45009, "errmsg": "api freq out of limit"}, True),
        (WeComNotifier, "/s?key=k", {"errcode": 93000, "errmsg": "invalid webhook url"}, False),
        (WeComNotifier, "/s?key=k", {"errcode": -1, "errmsg": "system busy"}, True),
        (DingTalkNotifier, "/r?access_token=t", {"errcode": 130101, "errmsg": "too fast"}, True),
        (DingTalkNotifier, "/r?access_token=t", {"errcode": 310000, "errmsg": "sign"}, False),
        (FeishuNotifier, "/hook/t", {"code": 11232, "msg": "frequency limited"}, True),
        (FeishuNotifier, "/hook/t", {"code": 9499, "msg": "Bad Request"}, False),
        (FeishuNotifier, "/hook/t", {"code": 19021, "msg": "sign match fail"}, False),
    ],
)
def test_robot_error_codes(
    receiver: HttpReceiver, factory: Any, path: str, answer: dict[str, Any], retryable: bool
) -> None:
    receiver.answer_body([json.dumps(answer).encode()])
    expected = RetryableFailure if retryable else PermanentFailure
    with pytest.raises(expected) as caught:
        factory({"url": receiver.url + path}).send(_message())
    assert isinstance(caught.value, PermanentFailure) is not retryable
    # The robots' "too fast" codes pause the robot instead of counting as a failed attempt.
    too_fast = answer.get("errcode", answer.get("code")) in (45009, 130101, 11232)
    assert isinstance(caught.value, RateLimited) is too_fast
    assert str(answer.get("errcode", answer.get("code"))) in str(caught.value)


def test_a_robot_answering_garbage_is_retried(receiver: HttpReceiver) -> None:
    receiver.answer_body([b"<html>gateway</html>"])
    with pytest.raises(RetryableFailure, match="not JSON"):
        WeComNotifier({"url": receiver.url + "/s?key=k"}).send(_message())


def test_an_unreachable_receiver_is_retried() -> None:
    with HttpReceiver() as gone:
        url = gone.url
    with pytest.raises(RetryableFailure):
        JsonWebhookNotifier({"url": url + "/in", "secret": SECRET, "timeout": 2}).send(_message())


def test_a_secret_never_shows_in_a_config_error() -> None:
    with pytest.raises(ConfigError) as caught:
        WeComNotifier({"url": "https://qyapi.example.org/send?key=SUPERSECRET", "msgtype": "x"})
    assert "SUPERSECRET" not in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        WeComNotifier({"url": "http://qyapi.example.org/send?key=SUPERSECRET"})
    assert "SUPERSECRET" not in str(caught.value)


def test_a_misconfigured_channel_is_refused_when_notifications_start(tmp_path: Any) -> None:
    from gridguard.notifications.service import Notifications
    from gridguard.notifications.settings import NotifySettings

    settings = NotifySettings.from_dict(
        {
            "channels": {"hook": {"type": "webhook", "url": "https://hooks.example.org/in"}},
            "routes": [],
            "digest": {"channels": ["hook"]},
        }
    )
    with gridguard.open(tmp_path / "w.db") as ws, pytest.raises(ConfigError, match=r"hook\.secret"):
        Notifications(ws, settings)
