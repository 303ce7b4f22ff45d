"""Small helpers the report builders share: figures with their change, shares, headers."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from ..masking import mask_name, mask_phone
from ..report.document import ColumnKind, Figure, Label, Report, Section
from ..report.locale import label
from .scope import ReportScope

__all__ = ["figure", "masked_name", "masked_phone", "meta", "new_report", "number", "share"]


def number(value: Any) -> int:
    """An aggregate from SQL as an ``int`` (``NULL`` is 0)."""
    return int(value or 0)


def share(part: int, whole: int) -> float | None:
    """``part / whole``, or ``None`` when there is nothing to divide by."""
    return part / whole if whole else None


def figure(
    key: str,
    value: int | float | None,
    before: int | float | None = None,
    *,
    kind: ColumnKind = "int",
    text: str | None = None,
) -> Figure:
    """A figure labelled from the catalogue, with its change since ``before`` when known."""
    change = None
    if value is not None and before is not None:
        change = round(value - before, 6) if kind in ("float", "percent") else value - before
    return Figure(key=key, label=label(text or key), value=value, change=change, kind=kind)


def meta(scope: ReportScope, **more: str) -> dict[str, str]:
    """Header facts every report carries: campaign, time zone and more."""
    return {
        "campaign": scope.campaign.id,
        "campaign_name": scope.campaign.name,
        "time_zone": scope.campaign.time_zone,
        **more,
    }


def new_report(
    kind: str,
    scope: ReportScope | None,
    sections: list[Section],
    *,
    masked: bool = True,
    area_id: str | None = None,
    area_name: str | None = None,
    day: dt.date | None = None,
    extra: dict[str, str] | None = None,
) -> Report:
    """A :class:`Report` of ``kind`` titled from the catalogue."""
    return Report(
        kind=kind,
        title=label(f"{kind}.title"),
        area_id=area_id if scope is None else scope.area_id,
        area_name=area_name if scope is None else scope.area_name,
        day=day if scope is None else scope.day,
        generated_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
        sections=sections,
        masked=masked,
        meta={**({} if scope is None else meta(scope)), **(extra or {})},
    )


def masked_name(name: str | None, masked: bool) -> str | None:
    """A person's name, masked unless ``masked`` is false."""
    if name is None:
        return None
    return mask_name(name) if masked else name


def masked_phone(phone: str | None, masked: bool) -> str | None:
    """A phone number, masked unless ``masked`` is false."""
    if not phone:
        return None
    return mask_phone(phone) if masked else phone


def json_list(value: Any) -> list[Any]:
    """A JSON list column as Python (PostgreSQL may hand it over decoded already)."""
    if value is None:
        return []
    if isinstance(value, str):
        loaded = json.loads(value)
        return loaded if isinstance(loaded, list) else []
    return list(value)


def note_for(empty: bool) -> Label | None:
    """The "nothing recorded" note of an empty section."""
    return label("note.empty") if empty else None
