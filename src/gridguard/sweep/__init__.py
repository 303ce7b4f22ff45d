"""The first line of defense: the door-to-door sweep (入户走访), planned, recorded and covered.

Start with :class:`Sweep`, opened on a workspace for a campaign::

    sweep = Sweep(ws)                                   # the store's campaign
    plan = sweep.plan(sweep.roster([6, 10, 14, 20]), capacity=Capacity.households(100))
    routes = sweep.route(plan.shifts[0])                # team -> households, floor by floor
    sweep.record_file("visits.jsonl")                   # idempotent
    sweep.coverage(by="grid")
"""

from .context import CampaignContext, HouseholdFacts
from .coverage import LEVELS, CoverageRow
from .files import FEVER, Flag, HouseholdFile, PersonFile, flags
from .planner import (
    DEFAULT_CAPACITY,
    Assignment,
    Capacity,
    CapacityUnit,
    Shift,
    ShiftPlan,
    Stop,
    SweepPlan,
    Work,
    pack,
    round_robin,
)
from .recording import CSV_COLUMNS, RecordError, RecordReport, VisitRecord
from .workflow import DEFAULT_DOOR_ATTEMPTS, FollowUp, Sweep

__all__ = [
    "CSV_COLUMNS",
    "DEFAULT_CAPACITY",
    "DEFAULT_DOOR_ATTEMPTS",
    "FEVER",
    "LEVELS",
    "Assignment",
    "CampaignContext",
    "Capacity",
    "CapacityUnit",
    "CoverageRow",
    "Flag",
    "FollowUp",
    "HouseholdFacts",
    "HouseholdFile",
    "PersonFile",
    "RecordError",
    "RecordReport",
    "Shift",
    "ShiftPlan",
    "Stop",
    "Sweep",
    "SweepPlan",
    "VisitRecord",
    "Work",
    "flags",
    "pack",
    "round_robin",
]
