"""The notifier contract suite: what every notification channel must do.

A notifier plugin proves itself by subclassing :class:`NotifierContract` in
its own tests and providing fixtures that point it at a real receiver (a
loopback HTTP server, a loopback SMTP server, a file)::

    from gridguard.testing import HttpReceiver, NotifierContract

    class TestMyChannel(NotifierContract):
        @pytest.fixture
        def receiver(self):
            with HttpReceiver() as receiver:
                yield receiver

        @pytest.fixture
        def notifier(self, receiver):
            return MyNotifier({"url": receiver.url + "/hook", "secret": "s3cret"})

        @pytest.fixture
        def received(self, receiver):
            return receiver.received

Fixtures:

``notifier`` (required)
    A notifier that delivers to a live receiver.
``received`` (required)
    A callable returning what the receiver got so far, oldest first: items
    with ``key`` (the idempotency key the channel carried, or ``None``) and
    ``text`` (the delivered content, readable: subject and body must appear
    in it).
``failing_notifier`` (required)
    A notifier whose receiver is busy (HTTP 503, SMTP 451, a disk gone...):
    its failure must be retryable.
``refusing_notifier`` (required)
    A notifier whose receiver refuses the message for good (HTTP 400, SMTP
    550, text it cannot encode...): its failure must be a
    :class:`~gridguard.notify.PermanentFailure`.
``bad_settings`` (required)
    ``(factory, settings, setting_name)`` triples, at least one: building
    the channel must raise :class:`~gridguard.errors.ConfigError` naming
    ``setting_name``.

Every channel can fail, be refused and be misconfigured, so a suite that
lacks one of these fixtures errors (naming it) rather than skipping: a skip
must never pass for a proof.

A notifier that declares limits (:class:`~gridguard.notify.Limited`: a
chat robot) is also held to them: its limits make sense, a message over
its size limit arrives as numbered parts that each fit, and the dispatcher
test runs on a test clock, sending whenever the pacing allows.

Set ``carries_idempotency_key = False`` on the subclass for a channel with
no place for the key (a console): its tests then check the text it
delivers instead of the key, and that a resend arrives again, unchanged.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, Protocol

import pytest

from ..errors import ConfigError
from ..notify.base import Message, Notifier, PermanentFailure
from ..notify.limits import ChannelLimits, Limited, split_message
from .sample import sample_records

__all__ = ["Delivered", "NotifierContract"]


class Delivered(Protocol):
    """What a receiver reports for one delivery."""

    @property
    def key(self) -> str | None: ...

    @property
    def text(self) -> str: ...


Received = Callable[[], Sequence[Any]]
"""Returns what the receiver got so far: items like :class:`Delivered`."""
BadSettings = list[tuple[Callable[[dict[str, Any]], Notifier], dict[str, Any], str]]


def _message(n: int = 0, *, recipient: str, **fields: Any) -> Message:
    values: dict[str, Any] = {
        "recipient": recipient,
        "subject": f"发热报告 Fever report #{n}",
        "body": f"居民 张*（138****8000）体温 38.{n % 10}°C. Please call.",
        "topic": "fever",
        "area_id": "c1",
        "channel": "contract",
    }
    values.update(fields)
    return Message(**values)


def _new(received: Received, before: int) -> list[Delivered]:
    return list(received()[before:])


class NotifierContract:
    """Tests every notifier passes. See the module docs for the fixtures to provide."""

    carries_idempotency_key: ClassVar[bool] = True
    recipient: ClassVar[str] = "community_doctor@hy.example.org"
    """The recipient of the suite's messages: an address the receiver accepts."""

    def message(self, n: int = 0, **fields: Any) -> Message:
        """A test message (Chinese and English text, masked personal data)."""
        return _message(n, recipient=fields.pop("recipient", self.recipient), **fields)

    @pytest.fixture
    def failing_notifier(self) -> Notifier:
        pytest.fail(f"{type(self).__name__}: provide a failing_notifier fixture (a busy receiver)")

    @pytest.fixture
    def refusing_notifier(self) -> Notifier:
        pytest.fail(f"{type(self).__name__}: provide a refusing_notifier fixture (a refusal)")

    @pytest.fixture
    def bad_settings(self) -> BadSettings:
        pytest.fail(f"{type(self).__name__}: provide a bad_settings fixture (settings to refuse)")

    # -- delivering ------------------------------------------------------------------------

    def test_is_a_notifier(self, notifier: Notifier) -> None:
        assert isinstance(notifier, Notifier)

    def test_delivers_one_message_once(self, notifier: Notifier, received: Received) -> None:
        before = len(received())
        message = self.message(1)
        assert notifier.send(message) is None  # type: ignore[func-returns-value]
        new = _new(received, before)
        assert len(new) == 1, f"one send made {len(new)} deliveries"
        assert message.subject in new[0].text
        assert message.body in new[0].text
        if self.carries_idempotency_key:
            assert new[0].key == str(message.id)

    def test_chinese_and_symbols_survive(self, notifier: Notifier, received: Received) -> None:
        before = len(received())
        message = self.message(
            2, subject="华苑社区 牡丹阁3栋：未报平安", body="观察员 王* 今天还没有报平安 ✓ 100%"
        )
        notifier.send(message)
        (delivered,) = _new(received, before)
        assert message.subject in delivered.text
        assert message.body in delivered.text

    def test_each_message_carries_its_own_key(self, notifier: Notifier, received: Received) -> None:
        """Each delivery is its own message: its key, or (a channel without one) its text."""
        before = len(received())
        messages = [self.message(n, subject=f"发热报告 Fever report #{n}/3") for n in range(3)]
        for message in messages:
            notifier.send(message)
        new = _new(received, before)
        assert len(new) == len(messages)
        for delivered, message in zip(new, messages, strict=True):
            assert message.subject in delivered.text
            if self.carries_idempotency_key:
                assert delivered.key == str(message.id)

    def test_a_resend_carries_the_same_key(self, notifier: Notifier, received: Received) -> None:
        """The dispatcher resends after a crash; the receiver must see the same key.

        A channel without a key delivers the message again, unchanged: at
        least once is all it can promise.
        """
        before = len(received())
        message = self.message(4)
        notifier.send(message)
        notifier.send(message)
        new = _new(received, before)
        assert new, "nothing was delivered"
        if self.carries_idempotency_key:
            assert {d.key for d in new} == {str(message.id)}
        else:
            assert len(new) == 2
            assert all(message.subject in d.text and message.body in d.text for d in new)

    def test_concurrent_sends_all_arrive(self, notifier: Notifier, received: Received) -> None:
        """The dispatcher sends from several threads at once."""
        before = len(received())
        messages = [self.message(n) for n in range(16)]
        errors: list[BaseException] = []

        def send(chunk: list[Message]) -> None:
            for message in chunk:
                try:
                    notifier.send(message)
                except BaseException as exc:
                    errors.append(exc)

        threads = [threading.Thread(target=send, args=(messages[i::4],)) for i in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert not errors, errors
        new = _new(received, before)
        assert len(new) == len(messages)
        if self.carries_idempotency_key:
            assert {d.key for d in new} == {str(m.id) for m in messages}

    # -- failing ---------------------------------------------------------------------------

    def test_a_busy_receiver_is_a_retryable_failure(self, failing_notifier: Notifier) -> None:
        with pytest.raises(Exception) as caught:  # noqa: PT011 - any exception but permanent
            failing_notifier.send(self.message(5))
        assert not isinstance(caught.value, PermanentFailure), caught.value

    def test_a_refusal_is_a_permanent_failure(self, refusing_notifier: Notifier) -> None:
        with pytest.raises(PermanentFailure):
            refusing_notifier.send(self.message(6))

    def test_bad_settings_are_refused_naming_the_setting(
        self,
        bad_settings: BadSettings,
    ) -> None:
        assert bad_settings, "bad_settings lists no settings to refuse"
        for factory, settings, name in bad_settings:
            with pytest.raises(ConfigError) as caught:
                factory(settings)
            assert name in str(caught.value), (settings, str(caught.value))

    # -- through the dispatcher ------------------------------------------------------------

    def test_delivers_the_outbox_through_the_dispatcher(
        self, notifier: Notifier, received: Received
    ) -> None:
        """Enqueue in a workspace, dispatch, and every message arrives; all are recorded sent.

        Time is a test clock: a channel with a rate limit is dispatched
        again whenever the dispatcher says it may send, as a scheduler would.
        """
        from ..notifications.dispatcher import Dispatcher
        from ..notifications.outbox import enqueue, outbox_status
        from ..notifications.settings import DeliverySettings
        from ..workspace import open_workspace

        before = len(received())
        start = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
        now = [start]
        with open_workspace("memory://") as ws:
            ws.add(sample_records())
            messages = [self.message(n, id=uuid.uuid4(), at=start) for n in range(12)]
            with ws.transaction() as uow:
                assert enqueue(uow, messages) == len(messages)
            settings = DeliverySettings(workers=4, timeout=30.0, max_attempts=1)
            dispatcher = Dispatcher(
                ws, {"contract": notifier}, settings=settings, clock=lambda: now[0]
            )
            sent = 0
            for _ in range(len(messages)):
                report = dispatcher.dispatch()
                assert report.dead == report.retried == 0, report.as_dict()
                sent += report.sent
                when = dispatcher.next_send()
                if when is None:
                    break
                now[0] = max(now[0], when)
            assert sent == len(messages)
            with ws.transaction(write=False) as uow:
                status = outbox_status(uow, now[0], dialect=ws.dialect)
            assert status == {"contract": {"sent": len(messages)}}
        new = _new(received, before)
        assert len(new) == len(messages)
        if self.carries_idempotency_key:
            assert {d.key for d in new} == {str(m.id) for m in messages}

    # -- limits (a channel that declares them: a chat robot) -------------------------------

    def test_declared_limits_are_whole_and_positive(self, notifier: Notifier) -> None:
        """A channel without limits declares none; one with them, numbers that make sense."""
        if not isinstance(notifier, Limited):
            return  # no limits to keep: any size, any rate
        limits = notifier.limits
        assert isinstance(limits, ChannelLimits)
        assert limits.max_bytes is None or limits.max_bytes >= 256
        for value in (limits.per_minute, limits.burst):
            assert value is None or (isinstance(value, int) and value >= 1)
        short, long = self.message(1), self.message(1, body=self.message(1).body * 10)
        assert 0 < notifier.size(short) < notifier.size(long)

    def test_a_message_over_the_size_limit_arrives_as_numbered_parts(
        self, notifier: Notifier, received: Received
    ) -> None:
        """Split at line boundaries into parts ``(k/n)`` that each fit, and arrive whole."""
        if not isinstance(notifier, Limited) or notifier.limits.max_bytes is None:
            return  # no size limit: a message goes in one piece
        limit = notifier.limits.max_bytes
        lines = [
            f"{n:03d} 华苑社区 牡丹阁{n}栋 居民 张*（138****8000）体温 37.{n % 10}°C"
            for n in range(2000)
        ]
        count = 0
        while sum(len(x.encode()) + 1 for x in lines[:count]) < 2.5 * limit:
            count += 1
        message = self.message(7, body="\n".join(lines[:count]))
        assert notifier.size(message) > limit
        parts = split_message(message, limit, notifier.size)
        assert len(parts) >= 3
        assert all(notifier.size(part) <= limit for part in parts)
        assert "\n".join(part.body for part in parts) == message.body
        before = len(received())
        for part in parts:
            notifier.send(part)
        new = _new(received, before)
        assert len(new) == len(parts)
        for k, (delivered, part) in enumerate(zip(new, parts, strict=True), 1):
            assert f"({k}/{len(parts)})" in delivered.text
            assert all(line in delivered.text for line in part.body.split("\n"))
            if self.carries_idempotency_key:
                assert delivered.key == str(part.id)
