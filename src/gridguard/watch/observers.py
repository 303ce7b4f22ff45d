"""Observers: one person per building (一人一楼幢), and how many buildings have one.

An observer is a :class:`~gridguard.model.Person` with a phone (the
community calls the building that did not report); assigning one updates
``Building.observer_id`` with optimistic concurrency, so two clerks
assigning the same building at once cannot both win silently.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

import attrs

from ..errors import NotFoundError, ValidationError
from ..model import Area, Building, MonitoringPoint, Person
from ..storage.schema import spec_for
from ._sql import text

if TYPE_CHECKING:
    from ..workspace import Workspace

__all__ = ["Coverage", "assign_observer", "coverage_rows", "observer_coverage"]

_WATCHED = (Building, MonitoringPoint)
"""The places an observer watches: ``coverage_rows`` names their table in its SQL."""


@attrs.frozen(kw_only=True)
class Coverage:
    """Watched places under one area: how many there are and how many have an observer."""

    area_id: str
    name: str
    places: int
    observed: int

    @property
    def unobserved(self) -> int:
        return self.places - self.observed

    @property
    def share(self) -> float:
        """The share of places with an observer (0 when there are none)."""
        return self.observed / self.places if self.places else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "area_id": self.area_id,
            "name": self.name,
            "places": self.places,
            "observed": self.observed,
            "unobserved": self.unobserved,
        }


def assign_observer(
    ws: Workspace, building_id: str, person_id: str | None, *, expected_version: int | None = None
) -> Building:
    """Make ``person_id`` the observer of ``building_id`` (``None`` removes the observer).

    The person must exist (in the principal's scope) and have a phone;
    the principal needs ``watch.observer`` on the building (write access
    to places, read access to persons). ``expected_version`` is the
    building version the caller read; without it the current one is used.
    Returns the updated building.
    """
    with ws._transaction() as uow:
        ws.authorize_known("watch.observer", Building, [building_id])  # unknown looks like outside
        building = uow.get(Building, building_id)
        if building is None:
            raise NotFoundError(f"no building with id {building_id!r}")
        if person_id is not None:
            # A person outside the scope is as good as unknown: nothing about them is shown.
            person = uow.get(Person, person_id) if ws.in_scope(Person, [person_id]) else None
            check_observer(person, person_id)
        version = (
            expected_version if expected_version is not None else uow.version(Building, building_id)
        )
        assert version is not None
        updated = attrs.evolve(building, observer_id=person_id)
        ws.update(updated, expected_version=version)
    return updated


def check_observer(person: Person | None, person_id: str, path: str = "$.observer_id") -> None:
    """An observer must be a stored person with a phone: the community has to be able to call."""
    if person is None:
        raise ValidationError.single(path, repr(person_id), "unknown person")
    if not person.phone:
        raise ValidationError.single(
            path, repr(person_id), "an observer needs a phone: the community calls them"
        )


def coverage_rows(ws: Workspace, table: str, cls: type[Any], by: str = "area") -> list[Coverage]:
    """Places of ``table`` (``buildings``, ``monitoring_points``) with and without an observer.

    ``by="area"`` counts per area the place stands in (a grid, a village
    group); ``by="community"`` per community (the row's jurisdiction).
    One grouped query on SQL stores; only the areas inside the principal's
    scope are kept (``watch.coverage``: read access to places).
    """
    if by not in ("area", "community"):
        raise ValueError(f"coverage is by 'area' or 'community', not {by!r}")
    if cls not in _WATCHED or table != spec_for(cls).table:
        raise ValueError(f"coverage is of buildings or monitoring points, not {table!r}")
    ws.authorize("watch.coverage")
    column = "area_id" if by == "area" else "jurisdiction"
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    names: dict[str, str] = {}
    dialect = ws.dialect
    with ws._transaction(write=False) as uow:
        if dialect.runs_sql:
            sql = (
                f"SELECT t.{column}, a.name, count(*), count(t.observer_id) FROM {table} t "
                f"LEFT JOIN areas a ON a.id = t.{column} GROUP BY t.{column}, a.name"
            )
            for key, name, places, observed in uow.query(text(dialect, sql)):
                counts[str(key)] = [int(places), int(observed)]
                names[str(key)] = str(key) if name is None else str(name)
        else:
            for place in uow.find(cls):
                key = place.area_id if by == "area" else uow.jurisdiction_of(cls, place.id)
                entry = counts[str(key)]
                entry[0] += 1
                entry[1] += place.observer_id is not None
        for key in counts:
            if key not in names:
                area = uow.get(Area, key)
                names[key] = key if area is None else area.name
    inside = ws.in_scope(Area, counts)
    return [
        Coverage(area_id=key, name=names[key], places=places, observed=observed)
        for key, (places, observed) in sorted(counts.items())
        if key in inside
    ]


def observer_coverage(ws: Workspace, by: str = "area") -> list[Coverage]:
    """Buildings with and without an observer, per grid (``by="area"``) or community."""
    return coverage_rows(ws, "buildings", Building, by)
