"""What data-driven targeting stores: outside lists, their rows, matches, reviews, targets.

An :class:`OutsideList` (a list of train passengers from an outbreak area,
the contacts of a confirmed case) is a registry entry owned by the area that
received it. Its rows are facts (:class:`ListEntry`): what the list said,
stored once, whatever its spelling mistakes. Linking a row to a resident of
the register is a fact too (:class:`Match`), recording the pass of the
cascade that found it, its score and the list's source; a row that no pass
could link waits in the manual review queue (:class:`ReviewItem`) until
someone decides (:class:`ReviewDecision`). :class:`Target` is derived
state: the ranked visit list per grid, recomputed from the matches.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any, ClassVar

import attrs

from ._masked import id_number_repr, name_repr, phone_repr
from ._stored import Category, Ref, stored
from ._validate import (
    bounded,
    enum_of,
    identifier,
    non_empty,
    optional_calendar_day,
    optional_identifier,
    to_date,
)
from .enums import ExposureKind
from .facts import Fact

__all__ = [
    "Candidate",
    "ListEntry",
    "Match",
    "MatchPass",
    "OutsideList",
    "ReviewDecision",
    "ReviewItem",
    "Target",
]


class MatchPass(enum.StrEnum):
    """The pass of the matching cascade that linked a list row to a person."""

    IDENTITY = "identity"
    """Pass 1: the same valid identity number."""
    PHONE_NAME = "phone_name"
    """Pass 2: the same phone number and a similar name."""
    FUZZY_IDENTITY = "fuzzy_identity"
    """Pass 3: an identity number at most two edits away, in a block, and a similar name."""
    MANUAL = "manual"
    """Decided by a person working through the review queue."""

    @property
    def number(self) -> int:
        """1, 2 or 3 for the automatic passes; 4 for a manual decision."""
        return _PASS_NUMBERS[self]


_PASS_NUMBERS = {
    MatchPass.IDENTITY: 1,
    MatchPass.PHONE_NAME: 2,
    MatchPass.FUZZY_IDENTITY: 3,
    MatchPass.MANUAL: 4,
}


def _pass(value: Any) -> MatchPass:
    return enum_of(MatchPass, value, "match_pass")


def _exposure(value: Any) -> ExposureKind:
    return enum_of(ExposureKind, value, "exposure")


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value)


def _candidates(value: Any) -> tuple[Candidate, ...]:
    return tuple(value)


def _optional_text(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    if value is not None:
        non_empty(_, attribute, value)


@stored("outside_lists", Category.TARGETING, parent=Ref("area_id", "Area"))
@attrs.frozen(kw_only=True)
class OutsideList:
    """A list received from outside the register (大数据排查): who, from where, when.

    ``source`` is the name the list is known by (``railway-0124``); the list
    belongs to ``area_id``, the area that received it, whose community owns
    its rows. ``exposure`` says what everyone on the list was exposed to.
    """

    id: str = attrs.field(validator=identifier)
    source: str = attrs.field(validator=non_empty)
    area_id: str = attrs.field(validator=identifier)
    exposure: ExposureKind = attrs.field(
        default=ExposureKind.OUTBREAK_AREA_ARRIVAL, converter=_exposure
    )
    received: dt.date | None = attrs.field(
        default=None, converter=to_date, validator=optional_calendar_day
    )
    """The day the list arrived."""
    note: str = ""


@stored("list_entries", Category.TARGETING, parent=Ref("list_id", "OutsideList"))
@attrs.frozen(kw_only=True)
class ListEntry(Fact):
    """One row of an outside list, as the list gave it.

    The identity number is kept as written (folded to half-width upper
    case), valid or not: a number with a typo is exactly what pass 3 of the
    cascade looks for. ``phone`` is E.164 when it could be read as a phone
    number. ``last_contact`` is the day of arrival from the outbreak area,
    or of the last contact with the case.
    """

    kind: ClassVar[str] = "list_entry"

    list_id: str = attrs.field(validator=identifier)
    row: int = attrs.field(validator=bounded(1, 10**9))
    """Row number in the file the entry was first read from (the header is row 1)."""
    name: str | None = attrs.field(default=None, validator=_optional_text, repr=name_repr)
    id_number: str | None = attrs.field(default=None, validator=_optional_text, repr=id_number_repr)
    phone: str | None = attrs.field(default=None, validator=_optional_text, repr=phone_repr)
    last_contact: dt.date | None = attrs.field(
        default=None, converter=to_date, validator=optional_calendar_day
    )
    origin: str = ""
    """Where the person came from (an outbreak area), as the list says."""
    note: str = ""


@attrs.frozen(kw_only=True)
class Candidate:
    """A person a review item suggests, with the score the cascade gave them."""

    person_id: str = attrs.field(validator=identifier)
    score: float = attrs.field(validator=bounded(0.0, 1.0))


@stored(
    "matches",
    Category.TARGETING,
    parent=Ref("person_id", "Person"),
    refs=(Ref("entry_id", "ListEntry"),),
)
@attrs.frozen(kw_only=True)
class Match(Fact):
    """A list row linked to a resident: by which pass, how sure, from which list.

    Owned by the person's community, since that is the community that acts
    on it. ``score`` runs from 0 to 1 (the name similarity, lowered by each
    edit in pass 3).
    """

    kind: ClassVar[str] = "match"

    entry_id: uuid.UUID
    person_id: str = attrs.field(validator=identifier)
    match_pass: MatchPass = attrs.field(converter=_pass)
    score: float = attrs.field(validator=bounded(0.0, 1.0))
    source: str = attrs.field(validator=non_empty)


@stored("review_items", Category.TARGETING, parent=Ref("entry_id", "ListEntry"))
@attrs.frozen(kw_only=True)
class ReviewItem(Fact):
    """A list row that no pass could link, waiting for a person to decide.

    ``reason`` says why the cascade stopped; ``candidates`` are the people
    it looked at, best first (possibly none).
    """

    kind: ClassVar[str] = "review_item"

    entry_id: uuid.UUID
    reason: str = attrs.field(validator=non_empty)
    candidates: tuple[Candidate, ...] = attrs.field(default=(), converter=_candidates)


@stored(
    "review_decisions",
    Category.TARGETING,
    parent=Ref("entry_id", "ListEntry"),
    refs=(Ref("person_id", "Person"),),
)
@attrs.frozen(kw_only=True)
class ReviewDecision(Fact):
    """What a reviewer decided for a queued row: this person, or nobody in the register."""

    kind: ClassVar[str] = "review_decision"

    entry_id: uuid.UUID
    person_id: str | None = attrs.field(default=None, validator=optional_identifier)
    note: str = ""


@stored(
    "targets",
    Category.TARGETING,
    parent=Ref("household_id", "Household"),
    refs=(Ref("grid_id", "Area"),),
)
@attrs.frozen(kw_only=True)
class Target:
    """A household to visit first (重点排查对象), with its priority and why.

    Derived state, recomputed from the matches: one per household, in the
    grid its building stands in. Higher ``priority`` goes first.
    """

    id: str = attrs.field(validator=identifier)
    household_id: str = attrs.field(validator=identifier)
    grid_id: str | None = attrs.field(default=None, validator=optional_identifier)
    priority: float = attrs.field(validator=bounded(0.0, 1_000_000.0))
    persons: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    """The matched residents of the household, ids in order."""
    sources: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    """The lists they were on."""
    reasons: tuple[str, ...] = attrs.field(default=(), converter=_strings)
    """One line per matched person: exposure, last contact, list, pass and score."""
    last_contact: dt.date | None = attrs.field(
        default=None, converter=to_date, validator=optional_calendar_day
    )
    """The latest exposure among the matched residents."""
