"""The vocabulary of gridguard: every stored record, as attrs value objects with no I/O.

Places, people and teams (registry entries), the facts the lines of defense
record, and what the workflows derive and store (assessments, quarantine
orders, tasks, outside lists and matches, messages, audit entries) all live
here, each with its table and access category declared beside the class. The
storage layer imports this package and nothing above it; workflows own
behaviour, not record types.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._stored import Category, Ref, Storing, stored, storing_of
from .campaign import DEFAULT_TIME_ZONE, Campaign, OutbreakArea
from .enums import (
    AnomalyKind,
    AreaLevel,
    Channel,
    CheckInStatus,
    ExposureKind,
    MemberRole,
    Residency,
    ServiceKind,
    Sex,
    TeamKind,
    VisitOutcome,
)
from .facts import (
    Anomaly,
    CheckIn,
    Exposure,
    Fact,
    HealthReport,
    Screening,
    ServiceRequest,
    Trip,
    Visit,
    new_fact_id,
)
from .identity import (
    GB11643,
    IdentityScheme,
    ResidentId,
    get_identity_scheme,
    identity_schemes,
    identity_schemes_in_use,
    register_identity_scheme,
)
from .lines import BUILDING_WATCH, BUILTIN_LINES, DATA_TARGETING, DOOR_TO_DOOR, LineOfDefense
from .people import Person
from .phone import normalize_phone
from .places import Area, Building, Household, Stairwell
from .teams import CompositionPolicy, Team, TeamMember

if TYPE_CHECKING:
    STORED_TYPES: tuple[type[Any], ...]
    """Every stored record class, parents before children (loaded on first use)."""
    from .assessments import (
        Assessment,
        FiredRule,
        OrderStatus,
        QuarantineKind,
        QuarantineOrder,
        RiskLevel,
        ScreeningRun,
        Task,
        TaskKind,
        TaskStatus,
    )
    from .audit import AuditEntry, AuditOutcome
    from .messages import DeliveryAttempt, DeliveryOutcome, NotifyConfiguration, OutboxMessage
    from .quarantine import QuarantineExtension, QuarantinePolicy, QuarantineRelease
    from .services import ServiceAssignment, ServiceCompletion
    from .targeting import (
        Candidate,
        ListEntry,
        Match,
        MatchPass,
        OutsideList,
        ReviewDecision,
        ReviewItem,
        Target,
    )
    from .watch import MonitoringPoint, PointReport

_LAZY = {
    "Assessment": "assessments",
    "FiredRule": "assessments",
    "OrderStatus": "assessments",
    "QuarantineKind": "assessments",
    "QuarantineOrder": "assessments",
    "RiskLevel": "assessments",
    "ScreeningRun": "assessments",
    "Task": "assessments",
    "TaskKind": "assessments",
    "TaskStatus": "assessments",
    "AuditEntry": "audit",
    "AuditOutcome": "audit",
    "DeliveryAttempt": "messages",
    "DeliveryOutcome": "messages",
    "NotifyConfiguration": "messages",
    "OutboxMessage": "messages",
    "QuarantineExtension": "quarantine",
    "QuarantinePolicy": "quarantine",
    "QuarantineRelease": "quarantine",
    "ServiceAssignment": "services",
    "ServiceCompletion": "services",
    "Candidate": "targeting",
    "ListEntry": "targeting",
    "Match": "targeting",
    "MatchPass": "targeting",
    "OutsideList": "targeting",
    "ReviewDecision": "targeting",
    "ReviewItem": "targeting",
    "Target": "targeting",
    "MonitoringPoint": "watch",
    "PointReport": "watch",
}
"""Derived records (what workflows store) by the module that defines them: loaded on first
use, so that ``import gridguard`` pays only for the registry entries and facts."""


def __getattr__(name: str) -> Any:
    if name == "STORED_TYPES":
        value: Any = _stored_types()
        globals()[name] = value
        return value
    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY, "STORED_TYPES"})


REGISTRY_TYPES = (Area, Building, Stairwell, Household, Person, Team, Campaign)
"""Mutable registry entries, in the order a fresh database must receive them."""
FACT_TYPES = (Visit, Screening, CheckIn, HealthReport, ServiceRequest)
"""Immutable facts."""


def _stored_types() -> tuple[type[Any], ...]:
    """Every stored record class (each declares its table with ``@stored``), parents before
    children: the order a fresh database creates and receives them."""
    from .assessments import Assessment, QuarantineOrder, ScreeningRun, Task
    from .audit import AuditEntry
    from .messages import DeliveryAttempt, NotifyConfiguration, OutboxMessage
    from .quarantine import QuarantineExtension, QuarantineRelease
    from .services import ServiceAssignment, ServiceCompletion
    from .targeting import ListEntry, Match, OutsideList, ReviewDecision, ReviewItem, Target
    from .watch import MonitoringPoint, PointReport

    return (
        *REGISTRY_TYPES,
        *FACT_TYPES,
        Assessment,
        QuarantineOrder,
        Task,
        ScreeningRun,
        OutboxMessage,
        DeliveryAttempt,
        OutsideList,
        ListEntry,
        Match,
        ReviewItem,
        ReviewDecision,
        Target,
        MonitoringPoint,
        PointReport,
        QuarantineRelease,
        QuarantineExtension,
        ServiceAssignment,
        ServiceCompletion,
        AuditEntry,
        NotifyConfiguration,
    )


__all__ = [
    "BUILDING_WATCH",
    "BUILTIN_LINES",
    "DATA_TARGETING",
    "DEFAULT_TIME_ZONE",
    "DOOR_TO_DOOR",
    "FACT_TYPES",
    "GB11643",
    "REGISTRY_TYPES",
    "STORED_TYPES",
    "Anomaly",
    "AnomalyKind",
    "Area",
    "AreaLevel",
    "Assessment",
    "AuditEntry",
    "AuditOutcome",
    "Building",
    "Campaign",
    "Candidate",
    "Category",
    "Channel",
    "CheckIn",
    "CheckInStatus",
    "CompositionPolicy",
    "DeliveryAttempt",
    "DeliveryOutcome",
    "Exposure",
    "ExposureKind",
    "Fact",
    "FiredRule",
    "HealthReport",
    "Household",
    "IdentityScheme",
    "LineOfDefense",
    "ListEntry",
    "Match",
    "MatchPass",
    "MemberRole",
    "MonitoringPoint",
    "NotifyConfiguration",
    "OrderStatus",
    "OutboxMessage",
    "OutbreakArea",
    "OutsideList",
    "Person",
    "PointReport",
    "QuarantineExtension",
    "QuarantineKind",
    "QuarantineOrder",
    "QuarantinePolicy",
    "QuarantineRelease",
    "Ref",
    "Residency",
    "ResidentId",
    "ReviewDecision",
    "ReviewItem",
    "RiskLevel",
    "Screening",
    "ScreeningRun",
    "ServiceAssignment",
    "ServiceCompletion",
    "ServiceKind",
    "ServiceRequest",
    "Sex",
    "Stairwell",
    "Storing",
    "Target",
    "Task",
    "TaskKind",
    "TaskStatus",
    "Team",
    "TeamKind",
    "TeamMember",
    "Trip",
    "Visit",
    "VisitOutcome",
    "get_identity_scheme",
    "identity_schemes",
    "identity_schemes_in_use",
    "new_fact_id",
    "normalize_phone",
    "register_identity_scheme",
    "stored",
    "storing_of",
]
