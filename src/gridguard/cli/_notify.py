"""``gridguard notify``: configure routing, deliver the outbox, show its state, the digest.

Imports click only at the top, like every command module; the workspace and
the dispatcher are imported when a command runs.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from ._common import (
    EXIT_REFUSED,
    date_option,
    db_option,
    echo,
    echo_json,
    json_option,
    local_time,
    notify_config_option,
    notify_settings,
    open_existing,
    parse_date,
    role_word,
    say,
)

__all__ = ["notify"]

_config = notify_config_option(
    "Notification settings (TOML) for this run only; default: the workspace's "
    "configuration (notify configure)."
)

UNDELIVERABLE_EXIT = EXIT_REFUSED
"""``notify dispatch``'s exit code when messages wait that no channel will ever send: done,
but some refused, by the one convention (docs/cli.md)."""


@click.group()
def notify() -> None:
    """Notifications: routing (configure, config), delivery (dispatch), state, the digest."""


@notify.command()
@db_option()
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
def configure(target: str, file: str) -> None:
    """Store FILE (TOML) as the workspace's routing and channel configuration.

    Every channel is built and every route checked first; from then on every
    command that queues messages (screen, watch, quarantine, services, the
    digest) routes with it.
    """
    from ..notifications.config import configure as store
    from ..notifications.settings import read_toml

    with open_existing(target) as ws:
        settings = store(ws, read_toml(file), source=file)
    channels = ", ".join(settings.channels) or say("无", "none")
    echo(
        say(
            f"已配置：渠道 {channels}；路由 {len(settings.routes):,} 条；"
            f"联系人 {len(settings.contacts):,} 个",
            f"configured: channels {channels}; routes {len(settings.routes):,}; "
            f"contacts {len(settings.contacts):,}",
        )
    )


@notify.command()
@db_option()
@json_option()
def config(target: str, as_json: bool) -> None:
    """Show the workspace's notification configuration (secrets as ***)."""
    from ..notifications.config import masked_settings, stored_configuration

    with open_existing(target) as ws, ws.transaction(write=False) as uow:
        stored = stored_configuration(uow)
    if stored is None:
        if as_json:
            echo_json(None)
        else:
            echo(
                say(
                    "未配置：消息发往默认的 console 渠道；"
                    "用 `gridguard notify configure FILE` 配置",
                    "no configuration: messages go to the default console channel; "
                    "set one with `gridguard notify configure FILE`",
                )
            )
        return
    shown = masked_settings(stored.settings)
    if as_json:
        echo_json({"at": stored.at.isoformat(), "source": stored.source, "settings": shown})
        return
    zone = _zone_of(target)
    at = local_time(stored.at, zone, seconds=True)
    echo(say(f"配置于 {at}，来自 {stored.source}", f"configured {at} from {stored.source}"))
    for name, channel in (shown.get("channels") or {}).items():
        options = ", ".join(f"{_option(k)}={v}" for k, v in channel.items())
        echo(f"{say('渠道', 'channel')} {name}: {options}")
    for route in shown.get("routes") or []:
        roles = ", ".join(route.get("roles", []))
        where = ", ".join(route.get("channels", [])) or say("全部", "all")
        urgent = say("（紧急）", " urgent") if route.get("urgent") else ""
        echo(f"{say('路由', 'route')} {route.get('topic')}: {roles} -> {where}{urgent}")
    for contact in shown.get("contacts") or []:
        role = role_word(contact.get("role"))
        echo(f"{say('联系人', 'contact')} {role} @ {contact.get('area_id')}")


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

    overrides: dict[str, Any] = {
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
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with open_existing(target) as ws:
        service = Notifications(ws, notify_settings(config))
        try:
            delivery = attrs.evolve(service.settings.delivery, **overrides)
        except ValidationError as exc:
            problems = "; ".join(
                f"--{v.path[2:].replace('_', '-')}: {v.rule}" for v in exc.violations
            )
            raise ConfigError(problems) from None
        dispatcher = service.dispatcher(settings=delivery)
        report = dispatcher.dispatch(drain=drain, max_seconds=max_seconds, stop=stop)
        status = service.status()
        stuck = service.undeliverable()
    result = {**report.as_dict(), "outbox": status, "undeliverable": len(stuck)}
    if as_json:
        echo_json(result)
    else:
        limited = report.rate_limited
        paused = say(f"，限流 {limited:,}", f", rate limited {limited:,}") if limited else ""
        echo(
            say(
                f"已送达 {report.sent:,}，待重试 {report.retried:,}，投递失败 {report.dead:,}"
                f"{paused}，无法投递 {len(stuck):,}（{report.seconds:.1f} 秒）",
                f"sent {report.sent:,}, retry later {report.retried:,}, dead {report.dead:,}"
                f"{paused}, undeliverable {len(stuck):,} ({report.seconds:.1f} s)",
            )
        )
        for line in report.errors[:5]:
            echo(f"  {line}", err=True)
        _show_undeliverable(stuck)
    if stuck:
        sys.exit(UNDELIVERABLE_EXIT)


def _show_undeliverable(stuck: list[Any], limit: int = 10) -> None:
    """The first ``limit`` undeliverable messages and why, on stderr."""
    if not stuck:
        return
    echo(
        say(
            f"{len(stuck):,} 条消息无法投递（notify status 列出全部）：",
            f"{len(stuck):,} undeliverable message(s) (notify status lists them):",
        ),
        err=True,
    )
    for item in stuck[:limit]:
        m = item.message
        echo(f"  {m.topic} -> {m.recipient} [{m.channel}]: {item.reason}", err=True)


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
        stuck = service.undeliverable()
    if as_json:
        if dead:
            result["dead_letters"] = dead
        echo_json(
            {
                **result,
                "undeliverable": [
                    {
                        "id": str(u.message.id),
                        "topic": u.message.topic,
                        "recipient": u.message.recipient,
                        "channel": u.message.channel,
                        "at": u.message.at.isoformat(),
                        "reason": u.reason,
                    }
                    for u in stuck
                ],
            }
            if stuck
            else result
        )
        return
    if not result:
        echo(say("发件箱为空", "the outbox is empty"))
    for channel, states in result.items():
        shown = ", ".join(f"{_state(state)} {n:,}" for state, n in states.items())
        echo(f"{channel}: {shown}")
        for error, n in dead.get(channel, {}).items():
            echo(
                f"  {_state('dead')} {n:,}: {error or say('（未记录错误）', '(no error recorded)')}"
            )
    for item in stuck:
        m = item.message
        echo(f"{_state('undeliverable')}: {m.topic} -> {m.recipient} [{m.channel}]: {item.reason}")


def _option(key: str) -> str:
    """A channel option's name (``type``, ``path``...) in this run's language."""
    words = {"type": ("类型", "type"), "path": ("路径", "path"), "url": ("地址", "url"),
             "secret": ("密钥", "secret"), "to": ("收件人", "to"), "host": ("主机", "host"),
             "port": ("端口", "port")}  # fmt: skip
    zh, en = words.get(key, (key, key))
    return say(zh, en)


def _state(state: str) -> str:
    """A message state (``pending``, ``sent``...) in this run's language."""
    words = {
        "pending": ("待发送", "pending"),
        "in_flight": ("发送中", "in flight"),
        "sent": ("已送达", "sent"),
        "dead": ("投递失败", "dead"),
        "undeliverable": ("无法投递", "undeliverable"),
        "held": ("暂缓", "held"),
    }
    zh, en = words.get(state, (state, state))
    return say(zh, en)


def _zone_of(target: str) -> Any:
    """The time zone of the store's only campaign (else the default zone)."""
    from ..notifications.routing import campaign_zone

    with open_existing(target) as ws:
        return campaign_zone(ws, None)


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
    echo(
        say(f"{date} 日报摘要：{added:,} 条新消息", f"digest for {date}: {added:,} new message(s)")
    )
