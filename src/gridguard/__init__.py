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

if TYPE_CHECKING:
    from .hookspecs import hookimpl
    from .storage.base import SaveResult
    from .workspace import Workspace
    from .workspace import open_workspace as open

_LAZY = {
    "open": ("gridguard.workspace", "open_workspace"),
    "Workspace": ("gridguard.workspace", "Workspace"),
    "SaveResult": ("gridguard.storage.base", "SaveResult"),
    "hookimpl": ("gridguard.hookspecs", "hookimpl"),
}


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


def __getattr__(name: str) -> Any:
    """Import the storage and plugin machinery on first use, so ``import gridguard`` stays quick."""
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
