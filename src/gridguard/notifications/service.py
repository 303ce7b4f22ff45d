"""Notifications on a workspace: channels, routing, digest and dispatch in one place.

:class:`Notifications` builds every configured channel when it is created,
so a misconfigured channel (a bad URL, a missing secret) is refused at
start, with the setting named, and not at the first fever report.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, PluginError
from ..model import Area, Building, Household, Person
from ..notify.base import Notifier
from .config import settings_for
from .digest import enqueue_digest
from .dispatcher import Dispatcher, DispatchReport
from .outbox import dead_letters, outbox_status
from .routing import Event, Router
from .settings import NotifySettings
from .undeliverable import Undeliverable, find_undeliverable, relabel

if TYPE_CHECKING:
    from ..plugins import Registries
    from ..workspace import Workspace

__all__ = ["Notifications", "build_channel", "build_channels"]


def build_channel(registries: Registries, name: str, settings: Mapping[str, Any]) -> Notifier:
    """Build channel ``name`` from its settings (``type`` names the notifier, default ``name``).

    Any problem is a :class:`ConfigError` naming the setting as
    ``channels.<name>.<setting>``.
    """
    where = f"channels.{name}"
    if not isinstance(settings, Mapping):
        raise ConfigError(f"{where}: must be a table of settings")
    kind = settings.get("type", name)
    if not isinstance(kind, str):
        raise ConfigError(f"{where}.type: must be a notifier name (got {kind!r})")
    try:
        factory = registries.notifiers.get(kind)
    except PluginError as exc:
        raise ConfigError(f"{where}.type: {exc}") from None
    options = {k: v for k, v in settings.items() if k != "type"}
    try:
        notifier = factory(options)
    except ConfigError as exc:
        raise ConfigError(f"{where}.{exc}") from None
    except (TypeError, ValueError, KeyError) as exc:
        raise ConfigError(f"{where}: {type(exc).__name__}: {exc}") from None
    if not isinstance(notifier, Notifier):
        raise ConfigError(f"{where}.type: notifier {kind!r} built no object with a send() method")
    return notifier


def build_channels(
    registries: Registries, channels: Mapping[str, Mapping[str, Any]]
) -> dict[str, Notifier]:
    """Every channel of ``channels``, built and checked."""
    return {name: build_channel(registries, name, s) for name, s in channels.items()}


def _check_references(settings: NotifySettings) -> None:
    known = set(settings.channels)
    listed = ", ".join(sorted(known)) or "none"
    for n, route in enumerate(settings.routes):
        for m, channel in enumerate(route.channels):
            if channel not in known:
                raise ConfigError(
                    f"routes[{n}].channels[{m}]: no channel {channel!r} (configured: {listed})"
                )
    for m, channel in enumerate(settings.digest.channels):
        if channel not in known:
            raise ConfigError(
                f"digest.channels[{m}]: no channel {channel!r} (configured: {listed})"
            )


class Notifications:
    """One campaign's notifications on ``ws``: route events, enqueue, digest, dispatch.

    Creating it builds every channel, so bad settings fail here.
    """

    def __init__(self, ws: Workspace, settings: NotifySettings | None = None) -> None:
        self.ws = ws
        self.settings = settings_for(ws, settings)
        _check_references(self.settings)
        self.channels = build_channels(ws.registries, self.settings.channels)
        self.router = Router.for_workspace(ws, self.settings)

    def notify(self, events: Iterable[Event]) -> int:
        """Route ``events`` and enqueue their messages (joining an open transaction).

        Every place an event names (person, household, building, area) must
        be stored and inside the principal's scope, and a scoped principal's
        event must name one: otherwise the batch is refused (audited), with
        the same answer for an unknown place as for one outside the scope.
        """
        events = list(events)
        _authorize_events(self.ws, events)
        with self.ws._transaction() as uow:
            return self.router.notify(uow, events)

    def enqueue_digest(self, day: dt.date) -> int:
        """Enqueue the daily digest of ``day`` (a local date) for every community."""

        return enqueue_digest(self.ws, self.router, day)

    def dispatcher(self, *, fallback: Notifier | None = None, **options: Any) -> Dispatcher:
        """A :class:`~gridguard.notifications.dispatcher.Dispatcher` over these channels.

        ``options`` go to its constructor (``clock``, ``rng``, ``identity``...).
        """
        options.setdefault("mentions", self.router.mention)
        return Dispatcher(
            self.ws,
            self.channels,
            settings=options.pop("settings", self.settings.delivery),
            fallback=fallback,
            **options,
        )

    def dispatch(self, *, drain: bool = False, max_seconds: float | None = None) -> DispatchReport:
        """Deliver what is due: the call an embedder's scheduler makes every minute.

        The dispatcher checks (and audits) that the principal is unscoped.
        """
        return self.dispatcher().dispatch(drain=drain, max_seconds=max_seconds)

    def status(self) -> dict[str, dict[str, int]]:
        """Messages per channel and state; what no configured channel takes is ``undeliverable``.

        Counts over the whole outbox: for an unscoped principal only.
        """
        self.ws.authorize("notify.dispatch", "*")
        with self.ws._transaction(write=False) as uow:
            status = outbox_status(uow, dt.datetime.now(dt.UTC), dialect=self.ws.dialect)
        return relabel(status, self.channels)

    def undeliverable(self) -> list[Undeliverable]:
        """Every message no dispatcher of these channels will send, with the reason."""
        self.ws.authorize("notify.dispatch", "*")
        with self.ws._transaction(write=False) as uow:
            return find_undeliverable(uow, self.channels)

    def dead_letters(self) -> dict[str, dict[str, int]]:
        """Dead messages per channel and error (a vendor's code and message): why they died.

        Over the whole outbox: for an unscoped principal only.
        """
        self.ws.authorize("notify.dispatch", "*")
        with self.ws._transaction(write=False) as uow:
            return dead_letters(uow, dialect=self.ws.dialect)


def _authorize_events(ws: Workspace, events: Sequence[Event]) -> None:
    """Refuse (audited) events about places unknown or outside the principal's scope."""
    ws.authorize("notify.enqueue")
    places: dict[type[Any], set[str]] = {}
    for event in events:
        named = {
            Person: event.person_id,
            Household: event.household_id,
            Building: event.building_id,
            Area: event.area_id,
        }
        given = {cls: str(id) for cls, id in named.items() if id is not None}
        if not given and not ws.guard.everywhere:
            ws.authorize("notify.enqueue", "*")
        for cls, id in given.items():
            places.setdefault(cls, set()).add(id)
    for cls, ids in places.items():
        ws.authorize_known("notify.enqueue", cls, ids)
