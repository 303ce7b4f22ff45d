"""The vocabulary of gridguard: attrs value objects with validation and no I/O."""

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
    register_identity_scheme,
)
from .lines import BUILDING_WATCH, BUILTIN_LINES, DATA_TARGETING, DOOR_TO_DOOR, LineOfDefense
from .people import Person
from .phone import normalize_phone
from .places import Area, Building, Household, Stairwell
from .teams import CompositionPolicy, Team, TeamMember

REGISTRY_TYPES = (Area, Building, Stairwell, Household, Person, Team, Campaign)
"""Mutable registry entries, in the order a fresh database must receive them."""
FACT_TYPES = (Visit, Screening, CheckIn, HealthReport, ServiceRequest)
"""Immutable facts."""

__all__ = [
    "BUILDING_WATCH",
    "BUILTIN_LINES",
    "DATA_TARGETING",
    "DEFAULT_TIME_ZONE",
    "DOOR_TO_DOOR",
    "FACT_TYPES",
    "GB11643",
    "REGISTRY_TYPES",
    "Anomaly",
    "AnomalyKind",
    "Area",
    "AreaLevel",
    "Building",
    "Campaign",
    "Channel",
    "CheckIn",
    "CheckInStatus",
    "CompositionPolicy",
    "Exposure",
    "ExposureKind",
    "Fact",
    "HealthReport",
    "Household",
    "IdentityScheme",
    "LineOfDefense",
    "MemberRole",
    "OutbreakArea",
    "Person",
    "Residency",
    "ResidentId",
    "Screening",
    "ServiceKind",
    "ServiceRequest",
    "Sex",
    "Stairwell",
    "Team",
    "TeamKind",
    "TeamMember",
    "Trip",
    "Visit",
    "VisitOutcome",
    "get_identity_scheme",
    "identity_schemes",
    "new_fact_id",
    "normalize_phone",
    "register_identity_scheme",
]
