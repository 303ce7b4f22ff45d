"""What changed since the last screening run: the inputs of an incremental run.

A run stores, with its :class:`~gridguard.model.assessments.ScreeningRun`,
a fingerprint per community of every row screening reads there (screenings,
persons, households, stairwells, buildings, quarantine orders, check-ins):
how many rows, and for records that change in place, the sum of their
versions (every stored change raises a record's version). The next run of
the same rule set version for the same day compares:

- screenings newer than the last run's watermark are new: their persons'
  places (stairwell, or building when the rules count buildings) are
  screened again;
- a community whose fingerprint, with its screenings counted up to that
  watermark, differs from the stored one has a late-entered screening, a
  person who moved, a household or stairwell that changed, an order made or
  ended: the whole community is screened again.

A run for another day starts over (date windows have moved for everyone,
and assessments are made per day), and so does ``full``. When nothing
changed, the run stores nothing at all.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from ..model import Building, CheckIn, Household, Person, Screening, Stairwell
from ..model.assessments import QuarantineOrder, ScreeningRun
from ..storage.base import UnitOfWork
from ..storage.dialect import SqlDialect
from ..storage.schema import spec_for

__all__ = ["Changes", "Inputs", "changed_communities", "inputs_of", "last_run"]

_KINDS: tuple[type[Any], ...] = (
    Screening,
    Person,
    Household,
    Stairwell,
    Building,
    QuarantineOrder,
    CheckIn,
)
"""What screening reads, in the order of a fingerprint's parts (screenings first)."""


@attrs.frozen
class Inputs:
    """Fingerprints per community: ``now`` of every row, ``before`` with screenings counted
    only up to the last run's watermark (comparable with that run's ``now``); ``newer``
    is how many screenings are newer than that watermark."""

    now: dict[str, str]
    before: dict[str, str]
    newer: int


@attrs.frozen
class Changes:
    """What an incremental run screens again: persons in ``communities``, and the places of
    persons with a screening newer than ``since``."""

    since: dt.datetime | None
    communities: tuple[str, ...]


def _fingerprints(parts: dict[str, list[str]]) -> dict[str, str]:
    return {j: "|".join(p) for j, p in sorted(parts.items())}


def inputs_of(
    uow: UnitOfWork,
    dialect: SqlDialect,
    scope: Sequence[str] | None,
    since: dt.datetime | None,
) -> Inputs:
    """The fingerprint of each community in ``scope`` (``None``: every one).

    On a SQL store, one grouped count per table (the screenings' on their
    ``(jurisdiction, at)`` index); on the memory store, the same in Python.
    """
    if not dialect.runs_sql:
        return _inputs_in_python(uow, scope, since)
    mark = dialect.placeholder
    where = "" if scope is None else f" WHERE jurisdiction IN ({', '.join(mark for _ in scope)})"
    params = list(scope or ())
    now: dict[str, list[str]] = defaultdict(lambda: ["0:0"] * len(_KINDS))
    before: dict[str, list[str]] = defaultdict(lambda: ["0:0"] * len(_KINDS))
    newer = 0
    if since is None:
        early = "0"
        early_params: list[Any] = []
    else:
        early = f"sum(CASE WHEN at <= {mark} THEN 1 ELSE 0 END)"
        early_params = [dialect.value(since, "timestamp")]
    sql = f"SELECT jurisdiction, count(*), {early} FROM screenings{where} GROUP BY jurisdiction"
    for j, total, up_to in uow.query(sql, [*early_params, *params]):
        now[j][0] = f"{int(total)}:0"
        before[j][0] = f"{int(up_to or 0)}:0"
        newer += int(total) - int(up_to or 0)
    for n, cls in enumerate(_KINDS[1:], start=1):
        spec = spec_for(cls)
        versions = "0" if spec.is_fact else 'sum("version")'
        sql = f"SELECT jurisdiction, count(*), {versions} FROM {spec.table}{where} GROUP BY 1"
        for j, count, total in uow.query(sql, params):
            now[j][n] = before[j][n] = f"{int(count)}:{int(total or 0)}"
    return Inputs(_fingerprints(now), _fingerprints(before), newer)


def _inputs_in_python(uow: UnitOfWork, scope: Sequence[str] | None, since: Any) -> Inputs:
    wanted = None if scope is None else list(scope)
    now: dict[str, list[str]] = defaultdict(lambda: ["0:0"] * len(_KINDS))
    before: dict[str, list[str]] = defaultdict(lambda: ["0:0"] * len(_KINDS))
    newer = 0
    screenings: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for s in uow.find(Screening, jurisdictions=wanted):
        counts = screenings[uow.jurisdiction_of(Screening, str(s.id)) or ""]
        counts[0] += 1
        if since is not None and s.at <= since:
            counts[1] += 1
        else:
            newer += 1
    for j, (total, up_to) in screenings.items():
        now[j][0], before[j][0] = f"{total}:0", f"{up_to}:0"
    for n, cls in enumerate(_KINDS[1:], start=1):
        spec = spec_for(cls)
        tally: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for obj in uow.find(cls, jurisdictions=wanted):
            key = str(obj.id)
            place = tally[uow.jurisdiction_of(cls, key) or ""]
            place[0] += 1
            place[1] += 0 if spec.is_fact else uow.version(cls, key) or 0
        for j, (count, total) in tally.items():
            now[j][n] = before[j][n] = f"{count}:{total}"
    return Inputs(_fingerprints(now), _fingerprints(before), newer)


def last_run(
    runs: Iterable[ScreeningRun], day: dt.date
) -> tuple[ScreeningRun, dict[str, Any]] | None:
    """The latest run of ``day`` among ``runs`` that kept its inputs, with them decoded."""
    best: tuple[ScreeningRun, dict[str, Any]] | None = None
    for run in runs:
        if run.day != day or not run.inputs:
            continue
        data = json.loads(run.inputs)
        if best is None or int(data["seq"]) > int(best[1]["seq"]):
            best = (run, data)
    return best


def changed_communities(before: dict[str, str], stored: dict[str, str]) -> tuple[str, ...]:
    """The communities whose fingerprint differs from the stored one (either side missing too)."""
    return tuple(sorted(j for j in before.keys() | stored.keys() if before.get(j) != stored.get(j)))
