"""What a channel's receiver takes: message size, requests a minute and a second.

Chat robots refuse what is too long (WeCom: markdown over 4,096 bytes,
errcode 40058) and what comes too fast (20 messages a minute per robot,
errcode 45009). A notifier that has such limits declares them as
:class:`ChannelLimits` (it is then :class:`Limited`), and the dispatcher
keeps them:

* a message too long for one request is sent as numbered parts,
  ``主题 (1/3)``, split at line boundaries by :func:`split_message`; a
  single line too long for any part is shortened with a marker (the full
  text stays in the outbox);
* a :class:`RobotPacer` per robot (per webhook URL) says how many requests
  may go now, so the dispatcher never sends faster than the vendor allows
  and a robot's "too fast" reply pauses that robot alone.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import deque
from collections.abc import Callable
from typing import Protocol, runtime_checkable

import attrs

from .base import Message

__all__ = ["TRUNCATED", "ChannelLimits", "Limited", "RobotPacer", "split_message"]

TRUNCATED = "…[truncated 已截断]"
"""Ends a line that was too long for any part; the outbox keeps the whole line."""

_PARTS = uuid.UUID("5d1b0a8e-2f4c-4e0b-8a67-0c9e3f6d2b14")


def _positive(_: object, attribute: attrs.Attribute[int | None], value: int | None) -> None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"{attribute.name}: must be a whole number of at least 1 (got {value!r})")


@attrs.frozen(kw_only=True)
class ChannelLimits:
    """A receiver's published limits, as a notifier declares them.

    ``max_bytes`` is the largest message the receiver takes, in UTF-8
    bytes as the notifier's ``size`` counts them; ``per_minute`` the most
    requests in any 60 seconds and ``burst`` the most in any one second
    (``None``: no limit of that kind). ``robot`` names whose budget the
    requests count against, a digest of the webhook URL: two channels
    posting to the same robot share it. ``margin`` (seconds) widens each
    window, for the clocks and the network between us and the vendor.
    """

    max_bytes: int | None = attrs.field(default=None, validator=_positive)
    per_minute: int | None = attrs.field(default=None, validator=_positive)
    burst: int | None = attrs.field(default=None, validator=_positive)
    robot: str = ""
    margin: float = 1.0

    @property
    def paced(self) -> bool:
        """Whether requests must be paced at all."""
        return self.per_minute is not None or self.burst is not None

    @property
    def most_at_once(self) -> int | None:
        """The most requests (parts of one message) that can ever go together."""
        found = [n for n in (self.per_minute, self.burst) if n is not None]
        return min(found) if found else None


@runtime_checkable
class Limited(Protocol):
    """A notifier whose receiver has limits: an optional capability of a notifier."""

    @property
    def limits(self) -> ChannelLimits:
        """The receiver's limits, fixed when the channel is built."""

    def size(self, message: Message) -> int:
        """How many bytes of ``message`` count against ``limits.max_bytes`` (as sent)."""


def _numbered(message: Message, part: int, parts: int, body: str) -> Message:
    data = dict(message.data)
    data.update(part=part, parts=parts, message_id=str(message.id))
    return attrs.evolve(
        message,
        id=uuid.uuid5(_PARTS, f"{message.id}:{part}/{parts}"),
        subject=f"{message.subject} ({part}/{parts})",
        body=body,
        data=data,
    )


def _cut(text: str, budget: int) -> str:
    """``text`` shortened to at most ``budget`` UTF-8 bytes with the marker, on a character."""
    keep = budget - len(TRUNCATED.encode())
    head = text.encode()[: max(keep, 0)].decode("utf-8", "ignore")
    return head + TRUNCATED


def split_message(
    message: Message, max_bytes: int, size: Callable[[Message], int]
) -> list[Message]:
    """``message`` as parts that each fit ``max_bytes``: ``[message]`` when it fits already.

    The body is split at line boundaries; each part's subject ends in
    ``(k/n)``, and its body is a run of whole lines, so the parts' bodies
    joined with newlines give the whole body again. A line too long for
    any part on its own is shortened with :data:`TRUNCATED`, never cut in
    the middle of a character. ``size`` measures a message as the
    receiver counts it (the notifier's :meth:`Limited.size`). Parts get ids
    derived from the message's (their idempotency keys) and
    ``data["part"]``, ``data["parts"]``. Raises :class:`ValueError` when
    not even an empty part fits (a subject that is too long on its own).
    """
    if size(message) <= max_bytes:
        return [message]
    lines = message.body.split("\n")
    parts, slack = 2, 0
    for _ in range(12):
        label = _numbered(message, parts, parts, "")
        budget = max_bytes - size(label) - slack
        if budget <= len(TRUNCATED.encode()):
            raise ValueError(
                f"a part cannot hold any text: its subject alone takes {size(label)} of "
                f"{max_bytes} bytes"
            )
        chunks = _pack(lines, budget)
        if len(str(len(chunks))) > len(str(parts)):
            parts = len(chunks)  # the label's width grows with the number of parts
            continue
        out = [_numbered(message, k, len(chunks), c) for k, c in enumerate(chunks, 1)]
        over = max(size(part) for part in out) - max_bytes
        if over <= 0:
            return out
        # The receiver counts more than the text's bytes (escapes in JSON): leave room,
        # in steps large enough to move a line boundary.
        slack += max(2 * over, max_bytes // 100)
    raise ValueError(f"cannot split the message into parts of at most {max_bytes} bytes")


def _pack(lines: list[str], budget: int) -> list[str]:
    """Whole lines, in order, packed into chunks of at most ``budget`` UTF-8 bytes."""
    chunks: list[str] = []
    current: list[str] = []
    used = 0
    for line in lines:
        length = len(line.encode())
        if length > budget:
            line, length = _cut(line, budget), budget
        extra = length + (1 if current else 0)
        if current and used + extra > budget:
            chunks.append("\n".join(current))
            current, used = [], 0
            extra = length
        current.append(line)
        used += extra
    chunks.append("\n".join(current))
    return chunks


class RobotPacer:
    """How many requests one robot may take now: a sliding window over what was sent.

    The vendors count requests in a window (WeCom and DingTalk: 20 a
    minute), so the pacer remembers the times of the last requests and
    allows one when fewer than ``per_minute`` went in the last minute and
    fewer than ``burst`` in the last second. A token bucket refilled at 20
    a minute would let through up to twice that in some minute, which the
    vendor refuses; one small enough never to, falls short of the rate.
    ``pause`` (a "too fast" reply) stops the robot until a given time.
    """

    def __init__(self, limits: ChannelLimits) -> None:
        self.limits = limits
        self.minute = dt.timedelta(seconds=60 + limits.margin)
        self.second = dt.timedelta(seconds=1 + limits.margin / 60)
        most = max((n for n in (limits.per_minute, limits.burst) if n is not None), default=1)
        self.sent: deque[dt.datetime] = deque(maxlen=most)
        self.paused_until: dt.datetime | None = None
        self.pauses = 0
        self.needed = 1
        """Requests the message next in line needs (its parts): set by the dispatcher."""

    def _within(self, now: dt.datetime, window: dt.timedelta) -> int:
        return sum(1 for t in self.sent if t > now - window)

    def room(self, now: dt.datetime) -> int:
        """How many requests may go at ``now`` (0 while paused)."""
        if self.paused_until is not None and now < self.paused_until:
            return 0
        room: int | None = None
        if self.limits.per_minute is not None:
            room = self.limits.per_minute - self._within(now, self.minute)
        if self.limits.burst is not None:
            burst = self.limits.burst - self._within(now, self.second)
            room = burst if room is None else min(room, burst)
        return max(room if room is not None else 1_000_000, 0)

    def take(self, now: dt.datetime, count: int = 1) -> None:
        """Count ``count`` requests sent at ``now``."""
        for _ in range(count):
            self.sent.append(now)

    def pause(self, now: dt.datetime, seconds: float | None = None) -> dt.datetime:
        """Stop the robot for ``seconds`` (a whole window when not given); returns until when."""
        wait = self.minute if seconds is None else dt.timedelta(seconds=seconds)
        until = now + max(wait, dt.timedelta(0))
        if self.paused_until is None or until > self.paused_until:
            self.paused_until = until
        self.pauses += 1
        return self.paused_until

    def next_room(self, now: dt.datetime, count: int | None = None) -> dt.datetime:
        """The earliest time from ``now`` at which ``count`` requests may go together.

        ``count`` defaults to what the message next in line needs
        (:attr:`needed`, one unless a long message is waiting for room for
        all its parts).
        """
        count = self.needed if count is None else count
        when = now
        if self.paused_until is not None and self.paused_until > when:
            when = self.paused_until
        windows = ((self.limits.per_minute, self.minute), (self.limits.burst, self.second))
        for limit, window in windows:
            if limit is None:
                continue
            recent = sorted(t for t in self.sent if t > when - window)
            leave = len(recent) + min(count, limit) - limit  # requests that must age out first
            if leave > 0:
                when = max(when, recent[leave - 1] + window)
        return when
