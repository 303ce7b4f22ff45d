"""gridguard: grid-based epidemic screening for communities and cities.

The place tree down to the household, the teams that sweep it, the lines of
defense, and the facts they record, with storage, notification and
reporting backends as pluggy plugins. Start with :func:`gridguard.open`.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

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
from .principal import LOCAL_ADMIN, Principal, Role
from .storage.base import SaveResult
from .workspace import Workspace
from .workspace import open_workspace as open

try:
    __version__ = version("gridguard")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

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
