"""Where a record is stored and who may see it, declared beside its class.

Every stored record class carries ``@stored(table, category, parent=...,
refs=...)``: its table, its access :class:`Category`, the reference its
jurisdiction comes from and the other references that must exist. The
storage schema (:mod:`gridguard.storage.schema`) builds its table specs
from these declarations and access control
(:func:`gridguard.security.access.category_of`) reads the category from
the class, so neither keeps a list of classes of its own.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any, TypeVar

import attrs

__all__ = ["Category", "Ref", "Storing", "stored", "storing_of"]

T = TypeVar("T")

_ATTRIBUTE = "__gridguard_stored__"


class Category(enum.StrEnum):
    """Kinds of records that roles are granted access to."""

    PLACE = "place"
    """Areas, buildings, stairwells: the place tree, nothing personal."""
    HOUSEHOLD = "household"
    """Household files: address and phone."""
    PERSON = "person"
    """Person files: name, identity number, phone, birth date."""
    TEAM = "team"
    CAMPAIGN = "campaign"
    VISIT = "visit"
    HEALTH = "health"
    """Screenings, health reports, assessments, quarantine orders: medical roles only."""
    CHECK_IN = "check_in"
    SERVICE = "service"
    TASK = "task"
    TARGETING = "targeting"
    """Outside lists and their rows, matches, reviews and targets."""
    OUTBOX = "outbox"
    AUDIT = "audit"
    OTHER = "other"
    """Records of plugins and extensions that declare no category."""


@attrs.frozen
class Ref:
    """A column naming another stored record, which must exist."""

    column: str
    target: str
    """The name of the stored record class it names (``"Household"``): the
    classes refer to each other across modules, so by name, resolved among
    :data:`~gridguard.model.STORED_TYPES`."""
    many: bool = False
    """The column holds a list of ids (a campaign's scope)."""


@attrs.frozen
class Storing:
    """What ``@stored`` declares about a record class."""

    table: str
    category: Category
    parent: Ref | None = None
    """The reference the row's jurisdiction comes from (``None``: reference data)."""
    refs: tuple[Ref, ...] = ()
    """Other references that must exist (the parent is not repeated here)."""


def stored(
    table: str,
    category: Category,
    *,
    parent: Ref | None = None,
    refs: tuple[Ref, ...] = (),
) -> Callable[[type[T]], type[T]]:
    """Declare the table and access category of a record class (put it above ``@attrs``)."""
    declared = Storing(table, Category(category), parent, tuple(refs))

    def mark(cls: type[T]) -> type[T]:
        setattr(cls, _ATTRIBUTE, declared)
        return cls

    return mark


def storing_of(cls: type[Any]) -> Storing | None:
    """The declaration of ``cls`` itself (not inherited), or ``None`` for a class not stored."""
    found = vars(cls).get(_ATTRIBUTE)
    return found if isinstance(found, Storing) else None
