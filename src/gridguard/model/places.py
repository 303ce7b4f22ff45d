"""The place tree: areas by level, buildings, stairwells and households."""

from __future__ import annotations

from typing import Any

import attrs

from ._masked import phone_repr
from ._stored import Category, Ref, stored
from ._validate import (
    bounded,
    enum_of,
    identifier,
    non_empty,
    optional_identifier,
    optional_text,
    personal_text,
)
from .enums import AreaLevel
from .people import optional_phone

__all__ = ["Area", "Building", "Household", "Stairwell"]


def _level(value: Any) -> AreaLevel:
    return enum_of(AreaLevel, value, "level")


@stored("areas", Category.PLACE, parent=Ref("parent_id", "Area"))
@attrs.frozen(kw_only=True)
class Area:
    """A node of the administrative tree: city, district, town, community, grid...

    ``parent_id`` is ``None`` only at the top. A community (or village) is a
    *jurisdiction*: it runs the lines of defense and everything below it is
    keyed by it in storage.
    """

    id: str = attrs.field(validator=identifier)
    name: str = attrs.field(validator=non_empty)
    level: AreaLevel = attrs.field(converter=_level)
    parent_id: str | None = attrs.field(default=None, validator=optional_identifier)
    code: str | None = attrs.field(default=None, validator=optional_text)
    """Official administrative division code, when there is one."""


@stored(
    "buildings", Category.PLACE, parent=Ref("area_id", "Area"), refs=(Ref("observer_id", "Person"),)
)
@attrs.frozen(kw_only=True)
class Building:
    """A residential building (楼幢) in a grid or compound, watched by one observer."""

    id: str = attrs.field(validator=identifier)
    area_id: str = attrs.field(validator=identifier)
    name: str = attrs.field(validator=non_empty)
    compound: str | None = attrs.field(default=None, validator=optional_text)
    """The compound or estate (小区) the building stands in, by name."""
    managed: bool = False
    """True when a property-management company runs the compound; old open compounds are not."""
    observer_id: str | None = attrs.field(default=None, validator=optional_identifier)
    """The person who reports for this building every day (楼幢观察员)."""


@stored("stairwells", Category.PLACE, parent=Ref("building_id", "Building"))
@attrs.frozen(kw_only=True)
class Stairwell:
    """An entrance (楼梯/单元) of a building: the unit a sweep team walks, floors x doors."""

    id: str = attrs.field(validator=identifier)
    building_id: str = attrs.field(validator=identifier)
    name: str = attrs.field(validator=non_empty)
    floors: int = attrs.field(validator=bounded(1, 200))
    doors_per_floor: int = attrs.field(validator=bounded(1, 50))

    @property
    def door_count(self) -> int:
        """How many dwellings the stairwell has when every door is a household."""
        return self.floors * self.doors_per_floor


@stored("households", Category.HOUSEHOLD, parent=Ref("stairwell_id", "Stairwell"))
@attrs.frozen(kw_only=True)
class Household:
    """One dwelling, "one file per household" (一户一档)."""

    id: str = attrs.field(validator=identifier)
    stairwell_id: str = attrs.field(validator=identifier)
    floor: int = attrs.field(validator=bounded(-5, 200))
    door: str = attrs.field(validator=non_empty)
    address: str = attrs.field(validator=personal_text)
    phone: str | None = attrs.field(default=None, converter=optional_phone, repr=phone_repr)
