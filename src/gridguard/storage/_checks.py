"""Checks shared by the builtin backends: references, versions and fact conflicts."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from ..errors import ConflictError, ValidationError, Violation
from .schema import Reference, Row, TableSpec

__all__ = ["check_versions", "encoded_filters", "fact_conflicts", "missing_references", "noun"]

ExistingIds = Callable[[type[Any], set[str]], set[str]]
"""Given a class and ids, the subset of ids that exist in the store."""


def noun(cls: type[Any]) -> str:
    """``Household`` -> ``household``, ``HealthReport`` -> ``health report``."""
    name = cls.__name__
    return "".join(" " + c.lower() if c.isupper() and i else c.lower() for i, c in enumerate(name))


def _ids(ref: Reference, value: Any) -> list[str]:
    if value is None:
        return []
    if ref.many:
        return [str(v) for v in (json.loads(value) if isinstance(value, str) else value)]
    return [str(value)]


def missing_references(
    spec: TableSpec, rows: Sequence[Row], existing: ExistingIds
) -> list[Violation]:
    """Every reference in ``rows`` to a record that is neither stored nor earlier in the batch."""
    names = spec.column_names
    violations: list[Violation] = []
    for ref in spec.all_references:
        index = names.index(ref.column)
        wanted = {i for row in rows for i in _ids(ref, row[index])}
        if not wanted:
            continue
        found = existing(ref.target, wanted)
        batch_ids: dict[str, int] = {}
        if ref.target is spec.cls:
            batch_ids = {str(row[0]): n for n, row in enumerate(rows)}
        for n, row in enumerate(rows):
            for ref_id in _ids(ref, row[index]):
                if ref_id in found or batch_ids.get(ref_id, len(rows)) < n:
                    continue
                violations.append(
                    Violation(f"$[{n}].{ref.column}", repr(ref_id), f"unknown {noun(ref.target)}")
                )
    return violations


def check_versions(spec: TableSpec, expect: Mapping[str, int], stored: Mapping[str, int]) -> None:
    """Raise :class:`ConflictError` when a stored version is not the one the caller read."""
    stale = [
        f"{noun(spec.cls)} {id!r}: read version {want}, stored version {stored.get(id)}"
        for id, want in expect.items()
        if stored.get(id) != want
    ]
    if stale:
        raise ConflictError("changed by someone else since it was read: " + "; ".join(stale))


def fact_conflicts(
    spec: TableSpec, rows: Iterable[Row], stored: Mapping[str, Sequence[Any]]
) -> None:
    """Raise :class:`ConflictError` for any fact whose id is stored with other content."""
    clashes = [
        str(row[0])
        for row in rows
        if str(row[0]) in stored and tuple(stored[str(row[0])]) != tuple(row)
    ]
    if clashes:
        shown = ", ".join(clashes[:5]) + (
            f" and {len(clashes) - 5} more" if len(clashes) > 5 else ""
        )
        raise ConflictError(
            f"{len(clashes)} {noun(spec.cls)} fact(s) already stored with other content: {shown}"
        )


def encoded_filters(spec: TableSpec, where: Mapping[str, Any] | None) -> list[tuple[str, Any]]:
    """``where`` as ``(column, stored value)`` pairs; an unknown field is a ValidationError."""
    filters: list[tuple[str, Any]] = []
    for name, value in (where or {}).items():
        if name not in spec.column_names:
            known = ", ".join(spec.column_names)
            raise ValidationError.single(
                f"$.{name}", repr(value), f"not a field of {noun(spec.cls)} (fields: {known})"
            )
        filters.append((name, None if value is None else spec.encode_value(name, value)))
    return filters
