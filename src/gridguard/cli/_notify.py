"""``gridguard notify``: deliver the outbox, show its state, enqueue the daily digest.

Imports click only at the top, like every command module; the workspace and
the dispatcher are imported when a command runs.
"""

from __future__ import annotations

from typing import Any

import click

from ._common import (
    date_option,
    db_option,
    echo_json,
    json_option,
    notify_config_option,
    notify_settings,
    open_existing,
    parse_date,
)

__all__ = ["notify"]

_config = notify_config_option(
    "Notification settings (TOML): channels, routes, contacts, quiet hours, delivery."
)


@click.group()
def notify() -> None:
    """Notifications: deliver the outbox (dispatch), its state (status), the daily digest."""


@notify.command()
@db_option()
@_config
@click.option(
    "--drain", is_flag=True, help="Keep going until nothing is left, waiting for retries."
)
@click.option("--max-seconds", type=float, help="Stop after this long (with --drain).")
@click.option("--workers", type=int, help="Concurrent sends per channel.")
@click.option("--timeout", type=float, help="Seconds a send may take.")
@click.option("--lease", type=float, help="Seconds a claim holds a message.")
@click.option("--batch", type=int, help="Messages claimed at a time.")
@click.option("--max-attempts", type=int, help="Attempts before a message is dead-lettered.")
@json_option()
def dispatch(
    target: str,
    config: str | None,
    drain: bool,
    max_seconds: float | None,
    workers: int | None,
    timeout: float | None,
    lease: float | None,
    batch: int | None,
    max_attempts: int | None,
    as_json: bool,
) -> None:
    """Deliver the messages that are due, with retries, backoff and dead-lettering.

    Safe to run from cron and safe to kill: a message whose delivery was
    not recorded is sent again once its claim's lease runs out, with the
    same idempotency key.
    """
    import signal
    import threading

    import attrs

    from ..errors import ConfigError, ValidationError
    from ..notifications.service import Notifications

    settings = notify_settings(config)
    overrides = {
        k: v
        for k, v in {
            "workers": workers,
            "timeout": timeout,
            "lease": lease,
            "batch": batch,
            "max_attempts": max_attempts,
        }.items()
        if v is not None
    }
    try:
        delivery = attrs.evolve(settings.delivery, **overrides)
    except ValidationError as exc:
        problems = "; ".join(f"--{v.path[2:].replace('_', '-')}: {v.rule}" for v in exc.violations)
        raise ConfigError(problems) from None
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with open_existing(target) as ws:
        service = Notifications(ws, settings)
        dispatcher = service.dispatcher(settings=delivery)
        report = dispatcher.dispatch(drain=drain, max_seconds=max_seconds, stop=stop)
        status = service.status()
    result = {**report.as_dict(), "outbox": status}
    if as_json:
        echo_json(result)
        return
    paused = f", rate limited 限流 {report.rate_limited}" if report.rate_limited else ""
    click.echo(
        f"sent 已送达 {report.sent}, retry later 待重试 {report.retried}, "
        f"dead 投递失败 {report.dead}{paused} ({report.seconds:.1f} s)"
    )
    for line in report.errors[:5]:
        click.echo(f"  {line}", err=True)


@notify.command()
@db_option()
@_config
@json_option()
def status(target: str, config: str | None, as_json: bool) -> None:
    """Messages in the outbox per channel and state (pending, in flight, sent, dead).

    Under each channel with dead messages, why they died: the last error,
    with a vendor's code and message (``WeCom error 93000: invalid webhook
    url``), and how many died of it.
    """
    from ..notifications.service import Notifications

    with open_existing(target) as ws:
        service = Notifications(ws, notify_settings(config))
        result: dict[str, Any] = dict(service.status())
        dead = service.dead_letters()
    if as_json:
        if dead:
            result["dead_letters"] = dead
        echo_json(result)
        return
    if not result:
        click.echo("the outbox is empty 发件箱为空")
    for channel, states in result.items():
        shown = ", ".join(f"{state} {n}" for state, n in states.items())
        click.echo(f"{channel}: {shown}")
        for error, n in dead.get(channel, {}).items():
            click.echo(f"  dead {n}: {error or '(no error recorded)'}")


@notify.command()
@db_option()
@_config
@date_option("Local date of the digest (default: today in the campaign's time zone).")
def digest(target: str, config: str | None, day: str | None) -> None:
    """Enqueue the daily digest for every community (once per day, however often it runs)."""
    import datetime as dt

    from ..notifications.service import Notifications

    given = parse_date(day)
    with open_existing(target) as ws:
        service = Notifications(ws, notify_settings(config))
        date = given or dt.datetime.now(service.router.zone).date()
        added = service.enqueue_digest(date)
    click.echo(f"digest for {date}: {added} new message(s) 条新消息")
