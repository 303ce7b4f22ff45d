"""gridguard: grid-based epidemic screening for communities and cities.

The place tree down to the household, the teams that sweep it, the lines of
defense, and the facts they record, with storage, notification and
reporting backends as pluggy plugins. Start with :func:`gridguard.open`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__
from .errors import (
    AccessDenied,
    ConfigError,
    ConflictError,
    GridGuardError,
    NotFoundError,
    PluginError,
    StorageError,
    ValidationError,
    Violation,
)

if TYPE_CHECKING:
    from .hookspecs import hookimpl
    from .model import (
        Anomaly,
        Area,
        AreaLevel,
        Building,
        Campaign,
        Channel,
        CheckIn,
        CheckInStatus,
        CompositionPolicy,
        Exposure,
        ExposureKind,
        HealthReport,
        Household,
        LineOfDefense,
        MemberRole,
        OutbreakArea,
        Person,
        Residency,
        ResidentId,
        Screening,
        ServiceKind,
        ServiceRequest,
        Sex,
        Stairwell,
        Team,
        TeamKind,
        TeamMember,
        Trip,
        Visit,
        VisitOutcome,
    )
    from .security.principal import LOCAL_ADMIN, Principal, Role
    from .storage.base import SaveResult
    from .workspace import Workspace
    from .workspace import open_workspace as open

_LAZY = {
    "Anomaly": ("gridguard.model", "Anomaly"),
    "Area": ("gridguard.model", "Area"),
    "AreaLevel": ("gridguard.model", "AreaLevel"),
    "Building": ("gridguard.model", "Building"),
    "Campaign": ("gridguard.model", "Campaign"),
    "Channel": ("gridguard.model", "Channel"),
    "CheckIn": ("gridguard.model", "CheckIn"),
    "CheckInStatus": ("gridguard.model", "CheckInStatus"),
    "CompositionPolicy": ("gridguard.model", "CompositionPolicy"),
    "Exposure": ("gridguard.model", "Exposure"),
    "ExposureKind": ("gridguard.model", "ExposureKind"),
    "HealthReport": ("gridguard.model", "HealthReport"),
    "Household": ("gridguard.model", "Household"),
    "LineOfDefense": ("gridguard.model", "LineOfDefense"),
    "MemberRole": ("gridguard.model", "MemberRole"),
    "OutbreakArea": ("gridguard.model", "OutbreakArea"),
    "Person": ("gridguard.model", "Person"),
    "Residency": ("gridguard.model", "Residency"),
    "ResidentId": ("gridguard.model", "ResidentId"),
    "Screening": ("gridguard.model", "Screening"),
    "ServiceKind": ("gridguard.model", "ServiceKind"),
    "ServiceRequest": ("gridguard.model", "ServiceRequest"),
    "Sex": ("gridguard.model", "Sex"),
    "Stairwell": ("gridguard.model", "Stairwell"),
    "Team": ("gridguard.model", "Team"),
    "TeamKind": ("gridguard.model", "TeamKind"),
    "TeamMember": ("gridguard.model", "TeamMember"),
    "Trip": ("gridguard.model", "Trip"),
    "Visit": ("gridguard.model", "Visit"),
    "VisitOutcome": ("gridguard.model", "VisitOutcome"),
    "LOCAL_ADMIN": ("gridguard.security.principal", "LOCAL_ADMIN"),
    "Principal": ("gridguard.security.principal", "Principal"),
    "Role": ("gridguard.security.principal", "Role"),
    "open": ("gridguard.workspace", "open_workspace"),
    "Workspace": ("gridguard.workspace", "Workspace"),
    "SaveResult": ("gridguard.storage.base", "SaveResult"),
    "hookimpl": ("gridguard.hookspecs", "hookimpl"),
}


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


def __getattr__(name: str) -> Any:
    """Import the model, the storage and the plugin machinery on first use, so that
    ``import gridguard`` (and ``gridguard --help``) stays quick."""
    try:
        module_name, attribute = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'gridguard' has no attribute {name!r}") from None
    import importlib

    value = getattr(importlib.import_module(module_name), attribute)
    globals()[name] = value
    return value


__all__ = [
    "LOCAL_ADMIN",
    "AccessDenied",
    "Anomaly",
    "Area",
    "AreaLevel",
    "Building",
    "Campaign",
    "Channel",
    "CheckIn",
    "CheckInStatus",
    "CompositionPolicy",
    "ConfigError",
    "ConflictError",
    "Exposure",
    "ExposureKind",
    "GridGuardError",
    "HealthReport",
    "Household",
    "LineOfDefense",
    "MemberRole",
    "NotFoundError",
    "OutbreakArea",
    "Person",
    "PluginError",
    "Principal",
    "Residency",
    "ResidentId",
    "Role",
    "SaveResult",
    "Screening",
    "ServiceKind",
    "ServiceRequest",
    "Sex",
    "Stairwell",
    "StorageError",
    "Team",
    "TeamKind",
    "TeamMember",
    "Trip",
    "ValidationError",
    "Violation",
    "Visit",
    "VisitOutcome",
    "Workspace",
    "__version__",
    "hookimpl",
    "open",
]
