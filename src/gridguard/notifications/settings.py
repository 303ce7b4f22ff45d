"""Notification settings for one campaign: channels, routes, contacts, quiet hours, digest.

Read from a TOML file (``tomllib``) or a dict; an unknown key or a wrong
value is a :class:`~gridguard.errors.ConfigError` that names the setting
(``routes[1].roles[0]``), so a typo never passes silently::

    campaign = "huayuan-2020"
    locale = "zh-CN"

    [channels.file]
    type = "jsonl"
    path = "notifications.jsonl"

    [[routes]]
    topic = "fever"
    roles = ["community_doctor", "grid_worker"]
    channels = ["file"]
    urgent = true

    [quiet_hours]
    start = "22:00"
    end = "07:00"
"""

from __future__ import annotations

import datetime as dt
import enum
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs

from ..errors import ConfigError, ValidationError
from ..model._masked import name_repr, phone_repr
from ..model._validate import bounded, fail, identifier, non_empty
from ..serialization import from_dict

__all__ = [
    "DEFAULT_ROUTES",
    "UNDELIVERABLE",
    "Contact",
    "DeliverySettings",
    "DigestSettings",
    "NotifyRole",
    "NotifySettings",
    "QuietHours",
    "Route",
    "parse_clock",
    "read_toml",
]


class NotifyRole(enum.StrEnum):
    """Who may be told, by their role on the place tree."""

    GRID_WORKER = "grid_worker"
    """网格员: owns a grid."""
    BUILDING_OBSERVER = "building_observer"
    """楼幢观察员: watches one building (``Building.observer_id``)."""
    COMMUNITY_DOCTOR = "community_doctor"
    """社区医生: the community health service centre's doctor."""
    COMMUNITY_SECRETARY = "community_secretary"
    """社区书记: runs the community's response."""
    TEAM_LEADER = "team_leader"
    """小分队队长: the cadre leading the sweep team of a grid."""


UNDELIVERABLE = "undeliverable"
"""The channel of a message no one can receive: its route reaches no person.

Such a message is stored all the same (so that it is counted and listed,
never silently dropped) and is never sent; no configured channel may take
this name.
"""


def parse_clock(text: str) -> dt.time:
    """``"22:00"`` -> ``time(22, 0)``; ``ValueError`` for anything else."""
    if not isinstance(text, str):
        raise ValueError("must be a time of day as text, HH:MM")
    try:
        hours, minutes = text.strip().split(":")
        return dt.time(int(hours), int(minutes))
    except ValueError:
        raise ValueError("must be a time of day, HH:MM from 00:00 to 23:59") from None


def _clock(_: object, attribute: attrs.Attribute[Any], value: str) -> None:
    try:
        parse_clock(value)
    except ValueError as exc:
        fail(attribute, value, str(exc))


def _dict(value: Mapping[str, Any]) -> dict[str, Any]:
    return dict(value)


def _tuple(value: Any) -> tuple[Any, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def _roles(_: object, attribute: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
    allowed = {r.value for r in NotifyRole}
    for n, role in enumerate(value):
        if role not in allowed:
            raise ValidationError.single(
                f"$.{attribute.name}[{n}]",
                repr(role),
                "must be one of: " + ", ".join(r.value for r in NotifyRole),
            )


def _role(_: object, attribute: attrs.Attribute[Any], value: str) -> None:
    if value not in {r.value for r in NotifyRole}:
        fail(attribute, value, "must be one of: " + ", ".join(r.value for r in NotifyRole))


def _names(_: object, attribute: attrs.Attribute[Any], value: tuple[str, ...]) -> None:
    for n, name in enumerate(value):
        if not isinstance(name, str) or not name.strip():
            raise ValidationError.single(f"$.{attribute.name}[{n}]", repr(name), "must be a name")


@attrs.frozen(kw_only=True)
class Route:
    """Who hears about a topic, and on which channels.

    ``urgent`` routes (a fever) ignore quiet hours; the others wait for the
    morning.
    """

    topic: str = attrs.field(validator=non_empty)
    roles: tuple[str, ...] = attrs.field(converter=_tuple, validator=_roles)
    channels: tuple[str, ...] = attrs.field(default=(), converter=_tuple, validator=_names)
    """Channel names; none means every configured channel."""
    urgent: bool = False


DEFAULT_ROUTES: tuple[Route, ...] = (
    Route(topic="fever", roles=("community_doctor", "grid_worker"), urgent=True),
    Route(topic="exposure", roles=("community_doctor", "grid_worker"), urgent=True),
    Route(topic="anomaly", roles=("grid_worker", "building_observer")),
    Route(topic="missing_checkin", roles=("grid_worker",)),
    Route(topic="checkin_reminder", roles=("building_observer",)),
    Route(topic="missing_checkin_escalated", roles=("community_secretary",)),
    Route(topic="missing_point_report", roles=("grid_worker",)),
    Route(topic="stranger", roles=("grid_worker",)),
    Route(topic="service_request", roles=("grid_worker", "team_leader")),
    Route(topic="digest", roles=("community_secretary",)),
)
"""Routes used when the settings give none (on every configured channel)."""


@attrs.frozen(kw_only=True)
class Contact:
    """A person holding a role at a place, with an address per channel.

    Roles the place tree does not record (grid worker, community doctor,
    community secretary) are given this way; a contact also overrides who
    the tree says holds a role (a building's observer, a team's leader).
    ``addresses`` maps channel names to the recipient on that channel (an
    e-mail address for ``email``); a channel without one gets the role and
    place as recipient (a chat robot posts to its group anyway).
    """

    role: str = attrs.field(validator=_role)
    area_id: str = attrs.field(validator=identifier)
    """The area or building the role is held at; it covers everything below it."""
    name: str = attrs.field(validator=non_empty, repr=name_repr)
    phone: str | None = attrs.field(default=None, repr=phone_repr)
    addresses: Mapping[str, str] = attrs.field(factory=dict, converter=_dict)


@attrs.frozen(kw_only=True)
class QuietHours:
    """Local times (campaign time zone) between which non-urgent messages wait."""

    start: str = attrs.field(default="22:00", validator=_clock)
    end: str = attrs.field(default="07:00", validator=_clock)


@attrs.frozen(kw_only=True)
class DigestSettings:
    """The daily digest: when (local time) and to whom."""

    at: str = attrs.field(default="20:00", validator=_clock)
    roles: tuple[str, ...] = attrs.field(
        default=("community_secretary",), converter=_tuple, validator=_roles
    )
    channels: tuple[str, ...] = attrs.field(default=(), converter=_tuple, validator=_names)
    """Channel names; none means every configured channel."""


@attrs.frozen(kw_only=True)
class DeliverySettings:
    """How the dispatcher delivers: attempts, backoff, timeouts and parallelism."""

    max_attempts: int = attrs.field(default=8, validator=bounded(1, 100))
    """Attempts before a message is dead-lettered."""
    base_delay: float = attrs.field(default=30.0, validator=bounded(0.0, 86400.0))
    """Seconds before the first retry; each later retry waits ``factor`` times longer."""
    factor: float = attrs.field(default=2.0, validator=bounded(1.0, 10.0))
    max_delay: float = attrs.field(default=3600.0, validator=bounded(0.0, 7 * 86400.0))
    jitter: float = attrs.field(default=0.5, validator=bounded(0.0, 1.0))
    """Up to this share of each delay is random, so that retries spread out."""
    timeout: float = attrs.field(default=10.0, validator=bounded(0.01, 3600.0))
    """Seconds one send may take before it counts as failed."""
    workers: int = attrs.field(default=8, validator=bounded(1, 256))
    """Concurrent sends per channel."""
    batch: int = attrs.field(default=256, validator=bounded(1, 100_000))
    """Messages claimed at a time."""
    lease: float | None = attrs.field(default=None, validator=bounded(0.01, 86400.0))
    """Seconds a claim holds a message; by default long enough for a whole batch."""


@attrs.frozen(kw_only=True)
class NotifySettings:
    """Everything notifications need for one campaign."""

    campaign: str | None = attrs.field(
        default=None, validator=attrs.validators.optional(identifier)
    )
    """The campaign whose time zone quiet hours and digest days use (default: the only one)."""
    locale: str = attrs.field(default="zh-CN")
    mask_personal_data: bool = True
    """Names as ``张*`` and phones as ``138****8000`` in messages; turn off only with cause."""
    fever_threshold: float = attrs.field(default=37.3, validator=bounded(35.0, 42.0))
    channels: Mapping[str, Mapping[str, Any]] = attrs.field(
        factory=lambda: {"console": {"type": "console"}}, converter=_dict
    )
    """Channel name -> settings; ``type`` names the notifier (default: the channel name)."""
    routes: tuple[Route, ...] = attrs.field(default=DEFAULT_ROUTES, converter=_tuple)
    contacts: tuple[Contact, ...] = attrs.field(default=(), converter=_tuple)
    quiet_hours: QuietHours | None = None
    digest: DigestSettings = attrs.field(factory=DigestSettings)
    delivery: DeliverySettings = attrs.field(factory=DeliverySettings)
    templates: Mapping[str, Mapping[str, Mapping[str, str]]] = attrs.field(
        factory=dict, converter=_dict
    )
    """Overrides: ``templates["en"]["fever"] = {"subject": ..., "body": ...}``."""

    @locale.validator
    def _locale(self, attribute: attrs.Attribute[Any], value: str) -> None:
        if value not in ("zh-CN", "en"):
            fail(attribute, value, "must be zh-CN or en")

    @channels.validator
    def _channel_names(self, attribute: attrs.Attribute[Any], value: Mapping[str, Any]) -> None:
        if UNDELIVERABLE in value:
            raise ValidationError.single(
                f"$.channels.{UNDELIVERABLE}",
                repr(UNDELIVERABLE),
                "is reserved for messages no one can receive: name the channel otherwise",
            )

    def channels_of(self, named: tuple[str, ...]) -> tuple[str, ...]:
        """``named`` channels, or every configured one when none are named."""
        return named or tuple(self.channels)

    def route(self, topic: str) -> Route | None:
        """The route for ``topic``, or ``None`` when nobody is to hear about it."""
        for route in self.routes:
            if route.topic == topic:
                return route
        return None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> NotifySettings:
        """Settings from plain data; :class:`ConfigError` names each bad setting."""

        try:
            return from_dict(cls, dict(data))
        except ValidationError as exc:
            problems = "; ".join(
                f"{_setting(v.path)}: {v.rule}" + (f" (got {v.value})" if v.value else "")
                for v in exc.violations
            )
            raise ConfigError(f"notification settings: {problems}") from None

    @classmethod
    def from_toml(cls, path: str | Path) -> NotifySettings:
        """Settings from a TOML file; relative channel ``path`` settings are relative to it."""
        return cls.from_dict(read_toml(path))


def read_toml(path: str | Path) -> dict[str, Any]:
    """The settings of a TOML file as plain data; relative channel paths are relative to it.

    What :meth:`NotifySettings.from_toml` reads, and what
    ``gridguard notify configure`` stores with the workspace.
    """
    file = Path(path)
    try:
        with open(file, "rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{file}: cannot read the settings: {exc.strerror}") from None
    channels = data.get("channels")
    if isinstance(channels, dict):
        for settings in channels.values():
            if isinstance(settings, dict) and isinstance(settings.get("path"), str):
                target = Path(settings["path"])
                if not target.is_absolute():
                    settings["path"] = str(file.parent / target)
    return data


def _setting(path: str) -> str:
    """``$.routes[1].roles`` -> ``routes[1].roles``: the setting as the file spells it."""
    return path[2:] if path.startswith("$.") else path.lstrip("$") or "(top level)"
