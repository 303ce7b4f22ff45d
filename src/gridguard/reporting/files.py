"""The household file (一户一档) and the person file (一人一档) as reports.

They show what :func:`gridguard.sweep.files.household_file` and
:func:`~gridguard.sweep.files.person_file` gather (where the household is,
who lives there, every visit and screening, and why a person is flagged),
as tables any reporter can draw. Names, phone numbers and identity numbers
are masked, and birth dates cut to the year, unless ``unmask=True``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..model import Campaign, Person, Screening, Visit
from ..report.document import Cell, Column, Label, Report, Section, Table
from ..report.locale import label, value_label
from ..sweep.context import CampaignContext, resolve_campaign
from ..sweep.files import Flag, flags, household_file, person_file
from ._common import masked_name, masked_phone, new_report, note_for
from .scope import authorize

if TYPE_CHECKING:
    from ..workspace import Workspace

__all__ = ["household_report", "person_report"]


def _fields(key: str, title: Label, pairs: Iterable[tuple[str, Cell]]) -> Table:
    return Table(
        key=key,
        title=title,
        columns=[Column("field", label("field")), Column("value", label("value"))],
        rows=[(label(name), value) for name, value in pairs],
    )


def _person_rows(members: Iterable[Person], masked: bool) -> list[tuple[Cell, ...]]:
    rows: list[tuple[Cell, ...]] = []
    for p in members:
        born: Cell = None
        if p.birth_date is not None:
            born = str(p.birth_date.year) if masked else p.birth_date
        resident_id = None
        if p.resident_id is not None:
            resident_id = p.resident_id.masked if masked else str(p.resident_id)
        rows.append(
            (
                p.id,
                masked_name(p.name, masked),
                value_label(p.sex.value) if p.sex else None,
                born,
                value_label(p.residency.value),
                masked_phone(p.phone, masked),
                resident_id,
            )
        )
    return rows


_PERSON_COLUMNS = [
    Column("id", label("id")),
    Column("name", label("name")),
    Column("sex", label("sex")),
    Column("birth_date", label("birth_date")),
    Column("residency", label("residency")),
    Column("phone", label("phone")),
    Column("resident_id", label("resident_id")),
]


def _visits(visits: Iterable[Visit], zone: dt.tzinfo) -> Table:
    return Table(
        key="visits",
        title=label("section.visits"),
        columns=[
            Column("time", label("time"), "datetime"),
            Column("channel", label("channel")),
            Column("outcome", label("outcome")),
            Column("team", label("team")),
            Column("note", label("note")),
        ],
        rows=[
            (
                v.at.astimezone(zone),
                value_label(v.channel.value),
                value_label(v.outcome.value),
                v.team_id,
                v.note or None,
            )
            for v in visits
        ],
    )


def _screenings(
    screenings: Iterable[Screening], campaign: Campaign, names: dict[str, str | None]
) -> Table:
    zone = campaign.zone
    rows: list[tuple[Cell, ...]] = []
    for s in screenings:
        trips = "; ".join(
            f"{t.destination} {t.departed or ''}–{t.returned or ''}".strip() for t in s.trips
        )
        exposures = _joined(
            [(value_label(e.kind.value), f" {e.last_contact}") for e in s.exposures], "; "
        )
        found = _joined([(value_label(f.kind), "") for f in flags(s, campaign)], ", ")
        rows.append(
            (
                s.at.astimezone(zone),
                names.get(s.person_id, s.person_id),
                s.temperature,
                trips or None,
                exposures,
                ", ".join(s.symptoms) or None,
                found,
            )
        )
    return Table(
        key="screenings",
        title=label("section.screenings"),
        columns=[
            Column("time", label("time"), "datetime"),
            Column("person", label("person")),
            Column("temperature", label("temperature"), "float"),
            Column("trips", label("trips")),
            Column("exposures", label("exposures")),
            Column("symptoms", label("symptoms")),
            Column("flags", label("flag")),
        ],
        rows=rows,
    )


def _joined(parts: list[tuple[Label, str]], sep: str) -> Label | None:
    """Vocabulary labels (each with a plain suffix) joined into one label, ``None`` if none."""
    if not parts:
        return None
    return Label(
        sep.join(lab.en + extra for lab, extra in parts),
        sep.join(lab.zh + extra for lab, extra in parts),
    )


def _flags(found: Iterable[Flag]) -> Table:
    return Table(
        key="flags",
        title=label("section.flags"),
        columns=[
            Column("flag", label("flag")),
            Column("detail", label("detail")),
            Column("day", label("day"), "date"),
        ],
        rows=[(value_label(f.kind), f.detail, f.on) for f in found],
    )


def _listing(key: str, table: Table, *, empty: bool) -> Section:
    """Section ``key`` holding one list, with the "nothing recorded" note when it is empty."""
    return Section(key, label(f"section.{key}"), [table], note=note_for(empty))


def _screenings_section(
    found: tuple[Screening, ...], campaign: Campaign, names: dict[str, str | None]
) -> Section:
    """The screenings section, the same in a household's file and in a person's."""
    return _listing("screenings", _screenings(found, campaign, names), empty=not found)


def household_report(
    ws: Workspace,
    household_id: str,
    *,
    campaign: str | Campaign | None = None,
    unmask: bool = False,
) -> Report:
    """The file of household ``household_id``; ``NotFoundError`` if there is none."""
    ctx = CampaignContext(ws, resolve_campaign(ws, campaign))
    found = household_file(ctx, household_id)
    authorize(ws, found.household, unmask=unmask)
    masked = not unmask
    h = found.household
    details = _fields(
        "household",
        label("section.household"),
        [
            ("id", h.id),
            ("address", h.address),
            ("building", found.building.name),
            ("stairwell", found.stairwell.name),
            ("floor", h.floor),
            ("door", h.door),
            ("phone", masked_phone(h.phone, masked)),
            ("area", found.area.name if found.area else None),
            ("status", value_label(found.status)),
        ],
    )
    members = Table(
        key="members",
        title=label("section.members"),
        columns=_PERSON_COLUMNS,
        rows=_person_rows(found.members, masked),
    )
    names = {p.id: masked_name(p.name, masked) for p in found.members}
    sections = [
        Section("household", label("section.household"), [details]),
        _listing("members", members, empty=not found.members),
        _listing("visits", _visits(found.visits, ctx.campaign.zone), empty=not found.visits),
        _screenings_section(found.screenings, ctx.campaign, names),
    ]
    return new_report(
        "household",
        None,
        sections,
        masked=masked,
        area_id=found.area.id if found.area else None,
        area_name=found.area.name if found.area else None,
        extra={"campaign": ctx.campaign.id, "household": h.id},
    )


def person_report(
    ws: Workspace,
    person_id: str,
    *,
    campaign: str | Campaign | None = None,
    unmask: bool = False,
) -> Report:
    """The file of person ``person_id``; ``NotFoundError`` if there is none."""
    ctx = CampaignContext(ws, resolve_campaign(ws, campaign))
    found = person_file(ctx, person_id)
    authorize(ws, found.person, unmask=unmask)
    masked = not unmask
    person = Table(
        key="person",
        title=label("section.person"),
        columns=_PERSON_COLUMNS,
        rows=_person_rows([found.person], masked),
    )
    household = _fields(
        "household",
        label("section.household"),
        [("id", found.household.id), ("address", found.household.address)],
    )
    names = {found.person.id: masked_name(found.person.name, masked)}
    sections = [
        Section("person", label("section.person"), [person, household]),
        _listing("flags", _flags(found.flags), empty=not found.flags),
        _screenings_section(found.screenings, ctx.campaign, names),
    ]
    return new_report(
        "person",
        None,
        sections,
        masked=masked,
        extra={"campaign": ctx.campaign.id, "person": found.person.id},
    )
