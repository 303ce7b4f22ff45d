"""Data-driven targeting (大数据排查), the third line of defense.

From the population register a community already has and the lists it
receives (passengers from an outbreak area, contacts of a confirmed case)
to a short, ranked list of doors to knock on:

* :func:`~gridguard.targeting.importing.import_file` reads areas,
  buildings, stairwells, households and persons from CSV (UTF-8, UTF-8 with
  BOM, GBK/GB18030) or an importer plugin's format, row by row, with an
  error report beside the input;
* :func:`~gridguard.targeting.register.import_register` reads a community's
  flat register (one row per person) and builds its place tree, households
  and persons, every row's outcome in a report beside the input;
* :func:`~gridguard.targeting.matching.match_list` links an outside list to
  the register through a cascade of three passes and queues what stays
  unmatched for review;
* :func:`~gridguard.targeting.targets.compute_targets` ranks the matched
  households per grid, and :func:`~gridguard.targeting.targets.targets_for_planner`
  hands them to the sweep planner.

Everything is importable from ``gridguard.targeting``; the stored kinds live
in :mod:`gridguard.model.targeting`.
"""

from __future__ import annotations

from ..model.targeting import (
    Candidate,
    ListEntry,
    Match,
    MatchPass,
    OutsideList,
    ReviewDecision,
    ReviewItem,
    Target,
)
from .importing import ImportResult, import_file
from .matching import MatchResult, match_list, read_list, resolve_review, review_queue
from .names import name_similarity
from .noisy import NoisyList, noisy_list
from .register import RegisterResult, import_register
from .targets import (
    TargetPolicy,
    compute_targets,
    planner_priorities,
    ranked_targets,
    targets_for_planner,
)

__all__ = [
    "Candidate",
    "ImportResult",
    "ListEntry",
    "Match",
    "MatchPass",
    "MatchResult",
    "NoisyList",
    "OutsideList",
    "RegisterResult",
    "ReviewDecision",
    "ReviewItem",
    "Target",
    "TargetPolicy",
    "compute_targets",
    "import_file",
    "import_register",
    "match_list",
    "name_similarity",
    "noisy_list",
    "planner_priorities",
    "ranked_targets",
    "read_list",
    "resolve_review",
    "review_queue",
    "targets_for_planner",
]
