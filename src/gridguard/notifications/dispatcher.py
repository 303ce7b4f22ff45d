"""The dispatcher: delivers the outbox through the channels, and never loses a message.

Each round it *claims* a batch of due messages (appending a claim with a
lease to each one's attempt log, in one short transaction), hands them to
the channels, and records each result (sent, failed with a retry time, or
dead) in batches. A process killed at any point loses nothing: a claimed
message whose result was never recorded falls due again when its lease
runs out, and the next run sends it again. Receivers de-duplicate by the
idempotency key (the message id), so "again" never means "twice" to a
person.

Every channel has its own worker threads (a *lane*). A send runs with a
timeout: a notifier that hangs is abandoned after ``timeout`` seconds (its
thread is replaced), one that raises or returns something other than
``None`` is a failure; none of them holds up another channel. Failures are
retried with exponential backoff and jitter; a
:class:`~gridguard.notify.PermanentFailure`, or ``max_attempts`` attempts,
dead-letters the message.

A channel whose notifier declares limits (:class:`~gridguard.notify.limits.Limited`:
a chat robot) is *paced*: each round claims, robot by robot, only as many
requests as its :class:`~gridguard.notify.limits.RobotPacer` allows now,
urgent messages first; a message too long for one request goes as numbered
parts, one request each. A robot's "too fast" reply
(:class:`~gridguard.notify.RateLimited`) pauses that robot until its window
resets and does not count as a failed attempt.
"""

from __future__ import annotations

import concurrent.futures as cf
import datetime as dt
import os
import queue
import random
import re
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from ..errors import ConflictError
from ..model.messages import DeliveryAttempt, DeliveryOutcome, attempt_id
from ..notify.base import Message, Notifier, PermanentFailure, RateLimited, RetryableFailure
from ..notify.limits import Limited, RobotPacer, split_message
from .outbox import (
    RATE_LIMITED,
    Due,
    due_messages,
    next_due,
    recent_sends,
    record_attempts,
    to_message,
)
from .settings import DeliverySettings

if TYPE_CHECKING:
    from ..storage.base import UnitOfWork
    from ..workspace import Workspace

__all__ = ["DispatchReport", "Dispatcher", "RetryPolicy"]

Clock = Callable[[], dt.datetime]
Mentions = Callable[["UnitOfWork", Mapping[str, Any]], "str | None"]
"""Reads the mobile number a message's ``mention_of`` points at (a router's :meth:`mention`)."""


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@attrs.frozen
class RetryPolicy:
    """When to try again: exponential backoff with jitter, up to ``max_attempts``."""

    max_attempts: int = 8
    base_delay: float = 30.0
    factor: float = 2.0
    max_delay: float = 3600.0
    jitter: float = 0.5

    @classmethod
    def from_settings(cls, settings: DeliverySettings) -> RetryPolicy:
        return cls(
            settings.max_attempts,
            settings.base_delay,
            settings.factor,
            settings.max_delay,
            settings.jitter,
        )

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based).

        ``base_delay * factor**(attempt-1)``, capped at ``max_delay``, of
        which a random share up to ``jitter`` is taken off, so that messages
        that failed together do not all come back together.
        """
        full = min(self.max_delay, self.base_delay * self.factor ** max(attempt - 1, 0))
        return full * (1.0 - self.jitter * rng.random())


@attrs.define
class DispatchReport:
    """What one dispatch run did."""

    claimed: int = 0
    sent: int = 0
    retried: int = 0
    """Failed, to be tried again later."""
    dead: int = 0
    timed_out: int = 0
    """Sends abandoned after the timeout (counted in ``retried`` or ``dead`` too)."""
    rate_limited: int = 0
    """Refused for coming too fast: the robot paused, the message due again (not a failure)."""
    parts: int = 0
    """Requests made for messages sent in numbered parts (counted once each in ``sent``)."""
    rounds: int = 0
    seconds: float = 0.0
    by_channel: dict[str, Counter[str]] = attrs.field(factory=dict)
    errors: list[str] = attrs.field(factory=list)
    """A sample of failure messages (at most 20)."""

    def count(self, channel: str, outcome: str) -> None:
        self.by_channel.setdefault(channel, Counter())[outcome] += 1

    def as_dict(self) -> dict[str, Any]:
        return {
            "claimed": self.claimed,
            "sent": self.sent,
            "retried": self.retried,
            "dead": self.dead,
            "timed_out": self.timed_out,
            "rate_limited": self.rate_limited,
            "parts": self.parts,
            "rounds": self.rounds,
            "seconds": round(self.seconds, 3),
            "by_channel": {c: dict(v) for c, v in sorted(self.by_channel.items())},
            "errors": list(self.errors),
        }


class SendTimeout(RetryableFailure):
    """A send took longer than the dispatcher's timeout and was abandoned."""


class BadReturn(RetryableFailure):
    """A notifier returned something other than ``None``: not a promise of delivery."""


@attrs.define(eq=False)
class _Task:
    message: Message
    attempt: int
    parts: list[Message] = attrs.field(factory=list)
    """What to send, in order: the message itself, or its numbered parts."""
    rate_limited: int = 0
    """Earlier attempts refused for coming too fast (they do not count)."""
    future: cf.Future[None] = attrs.field(factory=cf.Future)
    started: float | None = None
    abandoned: bool = False


def _settle(future: cf.Future[None], error: BaseException | None) -> None:
    try:
        if error is None:
            future.set_result(None)
        else:
            future.set_exception(error)
    except cf.InvalidStateError:
        pass  # already settled by the watchdog (timed out)


class _Lane:
    """One channel's worker threads; a hung or slow channel holds up only its own lane.

    Threads are daemons, so a send that hangs forever cannot keep the
    process alive after the run.
    """

    def __init__(self, name: str, notifier: Notifier, workers: int, timeout: float) -> None:
        self.name = name
        self.notifier = notifier
        self.workers = workers
        self.timeout = timeout
        self._queue: queue.SimpleQueue[_Task | None] = queue.SimpleQueue()
        self._running: set[_Task] = set()
        self._lock = threading.Lock()
        self._threads = 0
        self.hung = 0
        for _ in range(workers):
            self._spawn()

    @property
    def jammed(self) -> bool:
        """Every worker hung at least once: the channel is not answering."""
        return self.hung >= self.workers

    def _spawn(self) -> None:
        self._threads += 1
        thread = threading.Thread(
            target=self._work, name=f"gridguard-notify-{self.name}", daemon=True
        )
        thread.start()

    def submit(self, task: _Task) -> None:
        if self.jammed:
            _settle(
                task.future,
                RetryableFailure(
                    f"channel {self.name!r} is not answering ({self.hung} sends hung)"
                ),
            )
            return
        self._queue.put(task)

    def _work(self) -> None:
        while True:
            task = self._queue.get()
            if task is None:
                return
            if not task.future.set_running_or_notify_cancel():
                continue
            with self._lock:
                task.started = time.monotonic()
                self._running.add(task)
            error: BaseException | None = None
            try:
                for part in task.parts or [task.message]:
                    returned: object = self._send(part)
                    if returned is not None:
                        error = BadReturn(
                            f"notifier returned {_short(repr(returned))} instead of None"
                        )
                        break
            except BaseException as exc:  # a notifier's failure must not end the worker
                error = exc
            with self._lock:
                self._running.discard(task)
                abandoned = task.abandoned
            _settle(task.future, error)
            if abandoned:
                return  # a replacement thread took this one's place

    def _send(self, message: Message) -> object:
        # Typed as object: a misbehaving notifier may return anything.
        send: Callable[[Message], object] = self.notifier.send
        return send(message)

    def check_timeouts(self, now: float) -> int:
        """Abandon sends running longer than the timeout; returns how many."""
        late: list[_Task] = []
        with self._lock:
            for task in self._running:
                allowed = self.timeout * max(len(task.parts), 1)
                if task.started is not None and now - task.started > allowed:
                    task.abandoned = True
                    late.append(task)
            for task in late:
                self._running.discard(task)
        for task in late:
            self.hung += 1
            _settle(task.future, SendTimeout(f"no answer within {self.timeout:g} s"))
            if not self.jammed:
                self._spawn()
        if self.jammed:
            self._fail_queued()
        return len(late)

    def _fail_queued(self) -> None:
        while True:
            try:
                task = self._queue.get_nowait()
            except queue.Empty:
                return
            if task is None:
                continue
            _settle(
                task.future,
                RetryableFailure(
                    f"channel {self.name!r} is not answering ({self.hung} sends hung)"
                ),
            )

    def close(self) -> None:
        for _ in range(self._threads):
            self._queue.put(None)


def _short(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _describe(error: BaseException) -> str:
    try:
        text = str(error)
    except Exception:
        text = ""
    return _short(f"{type(error).__name__}: {text}" if text else type(error).__name__)


class Dispatcher:
    """Delivers the outbox of a workspace through named channels.

    ``channels`` maps channel names (as messages name them) to notifiers;
    ``fallback`` (optional) takes messages of any other channel, otherwise
    those stay in the outbox for a dispatcher that has their channel. For
    embedders' schedulers: call :meth:`dispatch` every minute, or run
    ``gridguard notify dispatch``.
    """

    def __init__(
        self,
        ws: Workspace,
        channels: Mapping[str, Notifier],
        *,
        settings: DeliverySettings | None = None,
        fallback: Notifier | None = None,
        clock: Clock = _utcnow,
        rng: random.Random | None = None,
        identity: str | None = None,
        mentions: Mentions | None = None,
    ) -> None:
        self.ws = ws
        self.channels = dict(channels)
        self.fallback = fallback
        self.settings = settings or DeliverySettings()
        self.policy = RetryPolicy.from_settings(self.settings)
        self.clock = clock
        self.rng = rng or random.Random()
        self.identity = _identity(identity or f"{socket.gethostname()}:{os.getpid()}")
        self.mentions = mentions
        lease = self.settings.lease
        if lease is None:
            per_worker = -(-self.settings.batch // self.settings.workers)
            lease = self.settings.timeout * (per_worker + 2) + 5.0
        self.lease = lease
        self.limited: dict[str, Limited] = {
            name: n for name, n in self.channels.items() if isinstance(n, Limited)
        }
        self.pacers: dict[str, RobotPacer] = {}
        """The pacer of each paced channel; channels posting to one robot share it."""
        self._seeded = False
        robots: dict[str, RobotPacer] = {}
        for name, notifier in self.limited.items():
            limits = notifier.limits
            if limits.paced:
                key = limits.robot or f"channel:{name}"
                self.pacers[name] = robots.setdefault(key, RobotPacer(limits))

    def robots(self) -> dict[RobotPacer, list[str]]:
        """Each robot's pacer with the channels that post to it."""
        out: dict[RobotPacer, list[str]] = {}
        for name, pacer in self.pacers.items():
            out.setdefault(pacer, []).append(name)
        return out

    # -- claiming and recording ---------------------------------------------------------------

    def _seed_pacers(self) -> None:
        """Count in each robot's window what was delivered to it in the last minute.

        A dispatcher run from cron each minute starts with empty windows;
        without this, it would send a robot's whole minute again right after
        the run before it did. (A message sent in parts counts once here.)
        """
        self._seeded = True
        if not self.pacers:
            return
        now = self.clock()
        since = now - max(p.minute for p in self.pacers.values())
        with self.ws._transaction(write=False) as uow:
            sent = recent_sends(uow, since, dialect=self.ws.dialect, channels=self.pacers)
        for channel, at in sorted(sent, key=lambda item: item[1]):
            self.pacers[channel].take(at)

    def _claim(self, limit: int, report: DispatchReport) -> list[_Task]:
        if not self._seeded:
            self._seed_pacers()
        channels = None if self.fallback is not None else list(self.channels)
        for _ in range(5):
            try:
                return self._claim_once(limit, channels, report)
            except ConflictError:
                continue  # another dispatcher claimed some of them first: look again
        return []

    def _claim_once(
        self, limit: int, channels: list[str] | None, report: DispatchReport
    ) -> list[_Task]:
        now = self.clock()
        tasks: list[_Task] = []
        entries: list[DeliveryAttempt] = []
        dialect = self.ws.dialect
        paced = list(self.pacers)
        if channels is not None:
            channels = [c for c in channels if c not in self.pacers]
        with self.ws._transaction() as uow:
            due: list[Due] = due_messages(
                uow, now, dialect=dialect, limit=limit, channels=channels, exclude=paced
            )
            lease_end = now + dt.timedelta(seconds=self.lease)
            for item in due:
                self._take(uow, item, now, lease_end, tasks, entries, report)
            for pacer, names in self.robots().items():
                room = min(pacer.room(now), max(limit - len(tasks), 0))
                if room < pacer.needed:
                    continue
                waiting = due_messages(
                    uow, now, dialect=dialect, limit=room, channels=names, urgent_first=True
                )
                pacer.needed = 1
                for item in waiting:
                    needed = self._take(uow, item, now, lease_end, tasks, entries, report, room)
                    if needed > room:
                        # The next in line waits for room for all its parts: nothing jumps
                        # the queue, and the robot's next time counts them.
                        pacer.needed = needed
                        break
                    pacer.take(now, needed)
                    room -= needed
            if entries:
                record_attempts(uow, entries)
        report.claimed += len(tasks)
        return tasks

    def _take(
        self,
        uow: UnitOfWork,
        item: Due,
        now: dt.datetime,
        lease_end: dt.datetime,
        tasks: list[_Task],
        entries: list[DeliveryAttempt],
        report: DispatchReport,
        room: int | None = None,
    ) -> int:
        """Claim (or dead-letter) ``item`` if it fits in ``room`` requests; returns its requests.

        A message that needs more requests than ``room`` is left alone; one
        too long ever to go (more parts than its robot takes at once, or a
        subject that fills a part alone) is dead-lettered, with the reason.
        """
        attempt = item.attempts + 1
        mid = item.message.id
        channel = item.message.channel
        if attempt - item.rate_limited > self.policy.max_attempts:
            why = item.last_error or "the dispatcher delivering it stopped"
            entries.append(self._entry(mid, item.attempts, DeliveryOutcome.DEAD, now, why))
            report.dead += 1
            report.count(channel, "dead")
            return 0
        message = self._mentioning(uow, to_message(item.message))
        try:
            parts = self._parts(message)
        except ValueError as exc:
            why = f"too long for channel {channel!r}: {exc}"
            entries.append(self._entry(mid, attempt, DeliveryOutcome.DEAD, now, why))
            report.dead += 1
            report.count(channel, "dead")
            return 0
        if room is not None and len(parts) > room:
            return len(parts)
        entries.append(self._entry(mid, attempt, DeliveryOutcome.CLAIMED, now, due=lease_end))
        tasks.append(_Task(message, attempt, parts, item.rate_limited))
        return len(parts)

    def _mentioning(self, uow: UnitOfWork, message: Message) -> Message:
        """``message`` with the mobile number to @-mention, read from where it is on file.

        Only in the message handed to the notifier: the stored copy keeps
        the reference (``mention_of``), never the number.
        """
        on_file = message.data.get("mention_of")
        if self.mentions is None or not isinstance(on_file, Mapping):
            return message
        phone = self.mentions(uow, on_file)
        if not phone:
            return message
        return attrs.evolve(message, data={**message.data, "mention": phone})

    def _parts(self, message: Message) -> list[Message]:
        """``message`` as the requests its channel takes: itself, or its numbered parts.

        Raises :class:`ValueError` when it can never go (see :meth:`_take`).
        """
        notifier = self.limited.get(message.channel)
        if notifier is None:
            return [message]
        limits = notifier.limits
        if limits.max_bytes is None:
            return [message]
        parts = split_message(message, limits.max_bytes, notifier.size)
        most = limits.most_at_once
        if most is not None and len(parts) > most:
            raise ValueError(
                f"{len(parts)} parts of at most {limits.max_bytes} bytes, and its robot "
                f"takes at most {most} requests at a time; shorten the message"
            )
        return parts

    def _entry(
        self,
        message_id: Any,
        attempt: int,
        outcome: DeliveryOutcome,
        at: dt.datetime,
        error: str = "",
        due: dt.datetime | None = None,
    ) -> DeliveryAttempt:
        return DeliveryAttempt(
            id=attempt_id(message_id, attempt, outcome),
            at=at,
            recorded_by=self.identity,
            message_id=message_id,
            attempt=attempt,
            outcome=outcome,
            due_at=due,
            error=error,
        )

    def _result(self, task: _Task, report: DispatchReport) -> DeliveryAttempt:
        now = self.clock()
        error = task.future.exception()
        channel = task.message.channel
        if error is None:
            report.sent += 1
            report.count(channel, "sent")
            if len(task.parts) > 1:
                report.parts += len(task.parts)
            return self._entry(task.message.id, task.attempt, DeliveryOutcome.SENT, now)
        text = _describe(error)
        pacer = self.pacers.get(channel)
        if isinstance(error, RateLimited) and pacer is not None:
            # Not the message's fault: pause its robot, and try again once the window resets.
            retry_after = error.retry_after
            until = pacer.pause(now, retry_after if isinstance(retry_after, int | float) else None)
            report.rate_limited += 1
            report.count(channel, "rate_limited")
            why = _short(RATE_LIMITED + text)
            return self._entry(
                task.message.id, task.attempt, DeliveryOutcome.FAILED, now, why, until
            )
        if len(report.errors) < 20:
            report.errors.append(f"{channel}: {text}")
        if isinstance(error, SendTimeout):
            report.timed_out += 1
        counted = task.attempt - task.rate_limited
        if isinstance(error, PermanentFailure) or counted >= self.policy.max_attempts:
            report.dead += 1
            report.count(channel, "dead")
            return self._entry(task.message.id, task.attempt, DeliveryOutcome.DEAD, now, text)
        delay = self.policy.delay(task.attempt, self.rng)
        retry_after = getattr(error, "retry_after", None)
        if isinstance(retry_after, int | float) and retry_after > delay:
            delay = min(float(retry_after), self.policy.max_delay)
        report.retried += 1
        report.count(channel, "retried")
        due = now + dt.timedelta(seconds=delay)
        return self._entry(task.message.id, task.attempt, DeliveryOutcome.FAILED, now, text, due)

    def _record(self, entries: list[DeliveryAttempt]) -> None:
        if entries:
            with self.ws._transaction() as uow:
                record_attempts(uow, entries)
            entries.clear()

    # -- the run ------------------------------------------------------------------------------

    def _lane_for(self, lanes: dict[str, _Lane], channel: str) -> _Lane:
        lane = lanes.get(channel)
        if lane is None:
            notifier = self.channels.get(channel, self.fallback)
            assert notifier is not None  # only configured channels are claimed
            lane = _Lane(channel, notifier, self.settings.workers, self.settings.timeout)
            lanes[channel] = lane
        return lane

    def dispatch(
        self,
        *,
        drain: bool = False,
        max_seconds: float | None = None,
        stop: threading.Event | None = None,
    ) -> DispatchReport:
        """Deliver every message that is due now; returns what happened.

        With ``drain`` it keeps going until nothing is left to deliver on
        its channels (sleeping until retries fall due), or ``max_seconds``
        have passed, or ``stop`` is set. Without, one pass over what is due.
        The outbox is the whole store's: only an unscoped principal
        dispatches (``notify.dispatch``, audited).
        """
        self.ws.authorize("notify.dispatch", "*")  # the whole store
        report = DispatchReport()
        started = time.monotonic()
        deadline = None if max_seconds is None else started + max_seconds
        lanes: dict[str, _Lane] = {}
        try:
            while True:
                self._pass(lanes, report, deadline, stop)
                if not drain or _stopped(stop, deadline):
                    break
                wait = self._until_next_due()
                if wait is None:
                    break
                if deadline is not None:
                    wait = min(wait, deadline - time.monotonic())
                if wait > 0:
                    if stop is not None:
                        if stop.wait(wait):
                            break
                    else:
                        time.sleep(wait)
                if _stopped(stop, deadline):
                    break
        finally:
            for lane in lanes.values():
                lane.close()
        report.seconds = time.monotonic() - started
        return report

    def next_send(self) -> dt.datetime | None:
        """When something is next due that may go (a paced robot's room counted), or ``None``.

        Like :meth:`dispatch`, for an unscoped principal only.
        """
        self.ws.authorize("notify.dispatch", "*")  # the whole store
        dialect = self.ws.dialect
        now = self.clock()
        paced = list(self.pacers)
        times: list[dt.datetime] = []
        with self.ws._transaction(write=False) as uow:
            if self.fallback is not None or len(paced) < len(self.channels):
                channels = None if self.fallback is not None else list(self.channels)
                when = next_due(uow, dialect=dialect, channels=channels, exclude=paced)
                if when is not None:
                    times.append(when)
            for pacer, names in self.robots().items():
                when = next_due(uow, dialect=dialect, channels=names)
                if when is not None:
                    times.append(max(when, pacer.next_room(now)))
        return min(times, default=None)

    def _until_next_due(self) -> float | None:
        when = self.next_send()
        if when is None:
            return None
        return max((when - self.clock()).total_seconds(), 0.0) + 0.01

    def _pass(
        self,
        lanes: dict[str, _Lane],
        report: DispatchReport,
        deadline: float | None,
        stop: threading.Event | None,
    ) -> None:
        """Claim, send and record until nothing is due right now."""
        batch = self.settings.batch
        finished: queue.SimpleQueue[_Task] = queue.SimpleQueue()
        inflight = 0
        results: list[DeliveryAttempt] = []
        exhausted = False
        last_flush = time.monotonic()
        while True:
            if _stopped(stop, deadline):
                exhausted = True
            if not exhausted and inflight <= batch // 2:
                tasks = self._claim(batch - inflight, report)
                report.rounds += 1
                if not tasks:
                    exhausted = True
                for task in tasks:
                    inflight += 1
                    task.future.add_done_callback(_reporting_to(finished, task))
                    self._lane_for(lanes, task.message.channel).submit(task)
            if not inflight:
                self._record(results)
                return
            try:
                done = [finished.get(timeout=0.05)]
            except queue.Empty:
                done = []
            while True:
                try:
                    done.append(finished.get_nowait())
                except queue.Empty:
                    break
            for task in done:
                inflight -= 1
                results.append(self._result(task, report))
            now = time.monotonic()
            for lane in lanes.values():
                lane.check_timeouts(now)
            if len(results) >= batch // 2 or (results and now - last_flush > 0.25):
                self._record(results)
                last_flush = now


def _reporting_to(
    finished: queue.SimpleQueue[_Task], task: _Task
) -> Callable[[cf.Future[None]], None]:
    def done(_: cf.Future[None]) -> None:
        finished.put(task)

    return done


def _stopped(stop: threading.Event | None, deadline: float | None) -> bool:
    if stop is not None and stop.is_set():
        return True
    return deadline is not None and time.monotonic() >= deadline


def _identity(text: str) -> str:
    """``text`` as an id the attempt log accepts in ``recorded_by``."""
    cleaned = re.sub(r"[^A-Za-z0-9_.:\-/]", "-", text).strip("-_.:/") or "dispatcher"
    return cleaned[:128]
