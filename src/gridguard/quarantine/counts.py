"""Quarantine figures of a local day, defined once: active, new, ending, released.

The daily report and the census count with these definitions (one SQL text,
and one Python function for stores without SQL), so they agree on every
day. Each figure is about the facts' own time, never the wall clock of the
run: an order counts from when it was known (``ordered_at``: when it was
ordered by hand, or when the screening run made it; older rule-made orders
without it, from their start), its end is the end it had at the end of that
day (an extension recorded later does not move it back in time), and an
early release counts from the release's own instant. A report for a day
computed three days later therefore says what it said on the day.

For local day ``D`` (instants ``t0`` to ``t1``), an order that was not
cancelled is:

- **active** when ``start <= D < end``, it was known by ``t1`` and not
  released early before ``t1`` (day 1 to day 14 of its window);
- **new** when it holds on ``D`` for the first time as far as anyone
  knew: it starts on ``D``, or was ordered on ``D`` (by hand, counted from a
  past exposure);
- **ending** when it is active and ``D`` is its last day (``end`` is ``D + 1``);
- **released** when released early on ``D``, or when ``D`` is its release
  day (``end``) and it was not released early.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import attrs

from ..model.assessments import QuarantineOrder
from ..model.quarantine import QuarantineExtension, QuarantineRelease

__all__ = [
    "QUARANTINE_FIGURES",
    "DayFigures",
    "as_of",
    "figure_params",
    "figures_in_python",
    "figures_of",
    "figures_sql",
]

QUARANTINE_FIGURES = ("active", "new", "ending", "released")
"""The figures every quarantine count gives, in the order of :func:`figures_sql`'s columns."""

_ORDERS = """SELECT q.id, q.kind, {area} AS area, q."start" AS s,
  COALESCE((SELECT min(x.previous_end) FROM quarantine_extensions x
            WHERE x.order_id = q.id AND x."at" >= ?), q."end") AS e,
  q.ordered_at AS k, r.released_at
FROM quarantine_orders q{join}
LEFT JOIN (SELECT order_id, min("at") AS released_at FROM quarantine_releases
           WHERE early = ? GROUP BY order_id) r ON r.order_id = q.id
WHERE q.status <> 'cancelled'{where}"""
"""Each order that was not cancelled, with its end as it stood at an instant (the earliest
extension recorded after it held the end from before: ends only move later) and the
instant an early release ended it."""

_KNOWN = "(x.k IS NULL OR x.k < ?)"
_ACTIVE = f"x.s <= ? AND x.e > ? AND {_KNOWN} AND (x.released_at IS NULL OR x.released_at >= ?)"
_NEW = f"x.s <= ? AND x.e > ? AND {_KNOWN} AND (x.s = ? OR x.k >= ?)"
_ENDING = f"{_ACTIVE} AND x.e = ?"
_RELEASED = (
    "((x.released_at >= ? AND x.released_at < ?)"
    f" OR (x.released_at IS NULL AND x.e = ? AND {_KNOWN}))"
)


def figures_sql(
    group: str, *, area: str = "q.jurisdiction", join: str = "", where: str = ""
) -> str:
    """The query of the four figures per ``group`` (``x.kind`` or ``x.area``), ``?`` marks.

    ``area`` is the SQL of an order's area (its community by default), with
    ``join`` the tables it needs; ``where`` limits the orders (``AND ...``).
    Parameters: :func:`figure_params`, then those of ``where``.
    """
    columns = ",\n  ".join(
        f"sum(CASE WHEN {condition} THEN 1 ELSE 0 END)"
        for condition in (_ACTIVE, _NEW, _ENDING, _RELEASED)
    )
    orders = _ORDERS.format(area=area, join=join, where=where)
    return f"SELECT {group} AS grouped,\n  {columns}\nFROM ({orders}) x\nGROUP BY {group}"


def figure_params(
    day: dt.date,
    t0: dt.datetime,
    t1: dt.datetime,
    *,
    date: Callable[[dt.date], Any],
    ts: Callable[[dt.datetime], Any],
    true: Any,
) -> list[Any]:
    """The parameters of :func:`figures_sql` for local ``day`` (instants ``t0`` to ``t1``).

    ``date``, ``ts`` and ``true`` bind a date, an instant and ``True`` as the
    dialect stores them.
    """
    d, after, start, end = date(day), date(day + dt.timedelta(days=1)), ts(t0), ts(t1)
    active = [d, d, end, end]
    return [
        *active,
        *[d, d, end, d, start],  # new
        *active,
        after,  # ending
        *[start, end, d, end],  # released
        end,  # the orders: their end as it stood at the end of the day
        true,  # early releases
    ]


@attrs.frozen
class DayFigures:
    """The four figures of one group (a kind, an area) on one day."""

    active: int = 0
    new: int = 0
    ending: int = 0
    released: int = 0

    def __add__(self, other: DayFigures) -> DayFigures:
        return DayFigures(
            *(a + b for a, b in zip(attrs.astuple(self), attrs.astuple(other), strict=True))
        )


def as_of(
    order: QuarantineOrder, extensions: Iterable[QuarantineExtension], t1: dt.datetime
) -> dt.date:
    """The end ``order`` had at instant ``t1``: extensions recorded later did not exist yet."""
    later = [x.previous_end for x in extensions if x.at >= t1]
    return min(later) if later else order.end


def figures_of(
    order: QuarantineOrder,
    day: dt.date,
    t0: dt.datetime,
    t1: dt.datetime,
    *,
    extensions: Iterable[QuarantineExtension] = (),
    releases: Iterable[QuarantineRelease] = (),
) -> DayFigures:
    """The figures ``order`` adds on ``day``: :func:`figures_sql` for one order, in Python.

    ``extensions`` and ``releases`` are the order's own records; a cancelled
    order adds nothing.
    """
    from ..model.assessments import OrderStatus

    if order.status is OrderStatus.CANCELLED:
        return DayFigures()
    s, e, k = order.start, as_of(order, extensions, t1), order.ordered_at
    early = [r.at for r in releases if r.early]
    released_at = min(early) if early else None
    known = k is None or k < t1
    active = s <= day < e and known and (released_at is None or released_at >= t1)
    new = s <= day < e and known and (s == day or (k is not None and k >= t0))
    ending = active and e == day + dt.timedelta(days=1)
    released = (released_at is not None and t0 <= released_at < t1) or (
        released_at is None and e == day and known
    )
    return DayFigures(int(active), int(new), int(ending), int(released))


def figures_in_python(
    orders: Iterable[QuarantineOrder],
    group: Callable[[QuarantineOrder], str],
    day: dt.date,
    t0: dt.datetime,
    t1: dt.datetime,
    *,
    extensions: Mapping[str, list[QuarantineExtension]],
    releases: Mapping[str, list[QuarantineRelease]],
) -> dict[str, DayFigures]:
    """:func:`figures_of` summed per ``group(order)``."""
    out: dict[str, DayFigures] = {}
    for order in orders:
        figures = figures_of(
            order,
            day,
            t0,
            t1,
            extensions=extensions.get(order.id, ()),
            releases=releases.get(order.id, ()),
        )
        key = group(order)
        out[key] = out.get(key, DayFigures()) + figures
    return out
