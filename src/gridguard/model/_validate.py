"""Small validators shared by the model classes.

Each raises :class:`~gridguard.errors.ValidationError` with the field path
``$.<field>``, the value (masked where personal) and the rule, so that the
serializer can prefix the path of the enclosing document.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any

import attrs

from ..errors import ValidationError
from ..masking import mask_text

__all__ = [
    "aware",
    "bounded",
    "fail",
    "identifier",
    "non_empty",
    "optional_identifier",
    "personal_text",
    "to_utc",
]

_IDENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-/]{0,127}$")


def fail(attribute: attrs.Attribute[Any], value: object, rule: str, personal: bool = False) -> None:
    """Raise a one-violation error for ``attribute``."""
    shown = mask_text(str(value)) if personal else repr(value)
    raise ValidationError.single(f"$.{attribute.name}", shown, rule)


def identifier(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Ids are 1-128 characters of letters, digits and ``_ . : - /``."""
    if not isinstance(value, str) or not _IDENT.match(value):
        fail(attribute, value, "an id is 1-128 letters, digits or _.:-/ and starts alphanumeric")


def optional_identifier(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Like :func:`identifier` but also accepts ``None``."""
    if value is not None:
        identifier(inst, attribute, value)


def _text(attribute: attrs.Attribute[Any], value: object, personal: bool) -> None:
    if not isinstance(value, str) or not value.strip():
        fail(attribute, value, "must not be empty", personal=personal and isinstance(value, str))
    assert isinstance(value, str)
    if any(ord(c) < 32 for c in value):
        fail(attribute, value, "must not contain control characters", personal=personal)


def non_empty(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Text that is not blank and has no control characters."""
    _text(attribute, value, personal=False)


def personal_text(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Like :func:`non_empty` for personal text (a name): errors show it masked."""
    _text(attribute, value, personal=True)


def bounded(low: float, high: float) -> Callable[[object, attrs.Attribute[Any], Any], None]:
    """A validator for a number in ``[low, high]`` (``None`` passes)."""

    def check(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None:
            return
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            fail(attribute, value, f"must be a number from {low:g} to {high:g}")

    return check


def aware(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Timestamps must carry a time zone: a naive time is ambiguous across days."""
    if not isinstance(value, dt.datetime) or value.utcoffset() is None:
        fail(attribute, value, "must be a timezone-aware datetime")


def to_utc(value: Any) -> Any:
    """Convert an aware datetime to UTC so equal instants compare and store equal."""
    if isinstance(value, dt.datetime) and value.utcoffset() is not None:
        return value.astimezone(dt.UTC)
    return value
