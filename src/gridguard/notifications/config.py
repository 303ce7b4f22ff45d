"""The workspace's notification configuration: set once, read by every workflow.

``gridguard notify configure FILE`` (or :func:`configure`) checks a settings
file (every channel is built, every route's channels must exist) and stores
it with the workspace as a
:class:`~gridguard.model.messages.NotifyConfiguration` fact. Screening,
watch, quarantine, services, targeting and the digest then route with
:func:`settings_for`: the settings a caller passes, else the stored ones,
else the defaults. One configuration means a message is never queued for a
channel nobody declared because one command was run without ``--config``.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from ..model.messages import NotifyConfiguration
from .settings import NotifySettings

if TYPE_CHECKING:
    from ..storage.base import UnitOfWork
    from ..workspace import Workspace

__all__ = ["configure", "masked_settings", "settings_for", "stored_configuration"]

_SECRET_KEYS = ("secret", "password", "token", "key")


def _absolute_paths(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with every channel's relative ``path`` made absolute (from the current folder)."""
    out = dict(data)
    channels = out.get("channels")
    if isinstance(channels, Mapping):
        fixed: dict[str, Any] = {}
        for name, settings in channels.items():
            if isinstance(settings, Mapping) and isinstance(settings.get("path"), str):
                settings = {**settings, "path": os.path.abspath(settings["path"])}
            fixed[name] = settings
        out["channels"] = fixed
    return out


def configure(ws: Workspace, data: Mapping[str, Any], *, source: str = "") -> NotifySettings:
    """Check ``data`` and store it as the workspace's notification configuration.

    The settings are parsed and every channel is built (a bad URL or a
    missing secret is a :class:`~gridguard.errors.ConfigError` naming the
    setting) before anything is stored. Returns the settings now in force.
    """
    from .service import Notifications

    plain = _absolute_paths(data)
    settings = NotifySettings.from_dict(plain)
    Notifications(ws, settings)  # builds and checks every channel and route
    ws.authorize("notify.configure", "*")
    with ws._transaction() as uow:
        uow.save_facts(
            NotifyConfiguration,
            [NotifyConfiguration(at=dt.datetime.now(dt.UTC), settings=plain, source=source)],
        )
    return settings


def stored_configuration(uow: UnitOfWork) -> NotifyConfiguration | None:
    """The configuration in force (the latest stored), or ``None`` when none was set."""
    stored = list(uow.find(NotifyConfiguration))
    if not stored:
        return None
    return max(stored, key=lambda c: (c.at, str(c.id)))


def settings_for(
    ws: Workspace, given: NotifySettings | None = None, *, campaign_id: str | None = None
) -> NotifySettings:
    """The settings a workflow routes with: ``given``, else the stored ones, else the defaults.

    ``campaign_id`` fills in settings that name no campaign, so that quiet
    hours and local days use that campaign's time zone.
    """
    settings = given
    if settings is None:
        with ws._transaction(write=False) as uow:
            stored = stored_configuration(uow)
        settings = NotifySettings.from_dict(stored.settings) if stored else NotifySettings()
    if campaign_id and settings.campaign is None:
        settings = attrs.evolve(settings, campaign=campaign_id)
    return settings


def masked_settings(data: Mapping[str, Any]) -> dict[str, Any]:
    """``data`` with secrets (robot keys, passwords, signing secrets) shown as ``***``.

    What ``gridguard notify config`` prints: enough to check the routing, not
    enough to post to a robot.
    """

    def mask(key: str, value: Any) -> Any:
        if isinstance(value, Mapping):
            return {k: mask(str(k), v) for k, v in value.items()}
        if isinstance(value, list):
            return [mask(key, v) for v in value]
        if isinstance(value, str):
            if any(word in key.lower() for word in _SECRET_KEYS):
                return "***"
            if key == "url" and "?" in value:
                return value.split("?", 1)[0] + "?***"
        return value

    return {str(k): mask(str(k), v) for k, v in data.items()}
