"""Small validators shared by the model classes.

Each raises :class:`~gridguard.errors.ValidationError` with the field path
``$.<field>``, the value (masked where personal) and the rule, so that the
serializer can prefix the path of the enclosing document.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
import zoneinfo
from collections.abc import Callable
from typing import Any, TypeVar

import attrs

from ..errors import ValidationError
from ..masking import mask_text

__all__ = [
    "BIDI_CONTROLS",
    "BIDI_RULE",
    "as_day",
    "aware",
    "bounded",
    "calendar_day",
    "enum_of",
    "fail",
    "free_text",
    "identifier",
    "non_empty",
    "optional_aware",
    "optional_calendar_day",
    "optional_identifier",
    "optional_text",
    "personal_text",
    "text_items",
    "time_zone",
    "to_date",
    "to_utc",
]

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
"""C0 and C1 control characters, DEL and the Unicode line/paragraph separators."""
_NOT_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
"""In free text: control characters other than tab and line breaks, and lone surrogates."""
BIDI_CONTROLS = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
"""The Unicode bidirectional controls: ALM, LRM, RLM, the embeddings and overrides
(U+202A-U+202E) and the isolates (U+2066-U+2069). Invisible, they reorder how the
text around them is shown (``U+202E`` makes ``txt.exe`` of ``exe.txt``), so text
fields refuse them."""
BIDI_RULE = "must not contain bidirectional control characters, which reorder how text is shown"
MAX_NAME = 200
"""Longest name, address or other one-line text, in characters."""
MAX_TEXT = 4000
"""Longest free text (a note), in characters."""
_IDENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-/]{0,127}$")


def _refuse_bidi(attribute: attrs.Attribute[Any], value: str) -> None:
    """Refuse ``value`` if it holds a bidirectional control, naming it (never printing it)."""
    found = BIDI_CONTROLS.search(value)
    if found is not None:
        where = f"U+{ord(found.group()):04X} at character {found.start() + 1}"
        raise ValidationError.single(f"$.{attribute.name}", where, BIDI_RULE)


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
    if _NOT_TEXT.search(value):
        fail(attribute, _shown(value), "must not contain control characters", personal=personal)
    if _CONTROL.search(value):
        fail(attribute, value, "must not contain control characters", personal=personal)
    _refuse_bidi(attribute, value)
    if len(value) > MAX_NAME:
        fail(attribute, _shown(value), f"must be at most {MAX_NAME} characters", personal=personal)


def free_text(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Free text (a note): may be empty or span lines, but is bounded and has no control bytes."""
    if not isinstance(value, str):
        fail(attribute, type(value).__name__, "must be text")
    assert isinstance(value, str)
    if len(value) > MAX_TEXT:
        fail(attribute, _shown(value), f"must be at most {MAX_TEXT} characters", personal=True)
    if _NOT_TEXT.search(value):
        fail(attribute, _shown(value), "must not contain control characters", personal=True)
    _refuse_bidi(attribute, value)


def optional_text(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """``None`` or one line of text (a code, a compound): bounded, no control characters."""
    if value is None:
        return
    if not isinstance(value, str):
        fail(attribute, type(value).__name__, "must be text")
    assert isinstance(value, str)
    if len(value) > MAX_NAME:
        fail(attribute, _shown(value), f"must be at most {MAX_NAME} characters")
    if _NOT_TEXT.search(value) or _CONTROL.search(value):
        fail(attribute, _shown(value), "must not contain control characters")
    _refuse_bidi(attribute, value)


def text_items(inst: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    """Every item of a tuple of words (symptoms) is :func:`optional_text`."""
    for item in value:
        optional_text(inst, attribute, item)


def _shown(value: str) -> str:
    """A value that can be printed: lone surrogates (from invalid UTF-8) escaped, first 20."""
    return value[:20].encode("utf-8", "backslashreplace").decode("utf-8")


def non_empty(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Text that is not blank and has no control characters."""
    _text(attribute, value, personal=False)


def personal_text(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Like :func:`non_empty` for personal text (a name): errors show it masked."""
    _text(attribute, value, personal=True)


def bounded(low: float, high: float) -> Callable[[object, attrs.Attribute[Any], Any], None]:
    """A validator for a number in ``[low, high]`` (``None`` passes).

    With ``int`` bounds the number must be an ``int`` too (a count, a floor):
    ``2.5`` floors are refused.
    """
    whole = isinstance(low, int) and isinstance(high, int)
    kinds = int if whole else int | float
    rule = f"must be a {'whole ' if whole else ''}number from {low:g} to {high:g}"

    def check(_: object, attribute: attrs.Attribute[Any], value: Any) -> None:
        if value is None:
            return
        if isinstance(value, bool) or not isinstance(value, kinds) or not low <= value <= high:
            fail(attribute, value, rule)

    return check


# -- instants and days ----------------------------------------------------------------------------
#
# Two converter/validator pairs serve every time field of the model. An
# instant (``dt.datetime``) is stored in UTC: ``to_utc`` converts, ``aware``
# refuses a naive time. A day (``dt.date``) is a calendar day: ``to_date``
# turns an aware datetime into the day it falls on, and ``calendar_day``
# refuses anything that is not a date by then. ``datetime`` is a subclass of
# ``date``, so without them a datetime would slip into a date field, be
# stored as text no date parser reads back, and compare unequal to the day.

_NAIVE_INSTANT = "must be a timezone-aware datetime"
_NAIVE_DAY = "must be a date; a datetime is taken only with a time zone, which decides its day"


def aware(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Timestamps must carry a time zone: a naive time is ambiguous across days."""
    if not isinstance(value, dt.datetime) or value.utcoffset() is None:
        fail(attribute, _when(value), _NAIVE_INSTANT)


def optional_aware(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Like :func:`aware` but also accepts ``None``."""
    if value is not None:
        aware(inst, attribute, value)


def to_date(value: Any, zone: dt.tzinfo | None = None) -> Any:
    """The calendar day of ``value`` when it is an aware datetime; anything else unchanged.

    The day is the one the datetime falls on in ``zone``: a campaign passes
    its own time zone. A record that knows no time zone (a trip, an order)
    uses this as its attrs converter without ``zone``, and then the day is the
    one on the datetime's own clock, in its own ``tzinfo``: 00:01 on
    21 January in Shanghai is 21 January. A naive datetime is left for
    :func:`calendar_day` to refuse: it names no clock, so no day.
    """
    if isinstance(value, dt.datetime) and value.utcoffset() is not None:
        return (value if zone is None else value.astimezone(zone)).date()
    return value


def calendar_day(
    _: object, attribute: attrs.Attribute[Any], value: object, personal: bool = False
) -> None:
    """A day must be a ``date`` (after :func:`to_date`): a naive datetime or text is refused."""
    if isinstance(value, dt.datetime):
        fail(attribute, value.isoformat(), _NAIVE_DAY, personal=personal)
    if not isinstance(value, dt.date):
        fail(attribute, value, "must be a date", personal=personal)


def optional_calendar_day(inst: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """Like :func:`calendar_day` but also accepts ``None``."""
    if value is not None:
        calendar_day(inst, attribute, value)


def as_day(value: object, path: str, zone: dt.tzinfo | None = None) -> dt.date:
    """``value`` as a day, for an argument that names one (a run's or a report's day).

    Judged as a day field is (:func:`to_date`, :func:`calendar_day`), with
    ``zone`` the campaign's time zone when the caller knows the campaign; a
    refusal names ``path``.
    """
    day = to_date(value, zone)
    if isinstance(day, dt.datetime):
        raise ValidationError.single(path, repr(day.isoformat()), _NAIVE_DAY)
    if not isinstance(day, dt.date):
        raise ValidationError.single(path, repr(day), "must be a date")
    return day


def _when(value: object) -> object:
    """A time as an error shows it: ISO 8601 for a datetime, anything else as it is."""
    return value.isoformat() if isinstance(value, dt.datetime) else value


E = TypeVar("E", bound=enum.Enum)


def enum_of(kind: type[E], value: Any, field: str) -> E:
    """``kind(value)``, or an error that names the field and the allowed values.

    Wrapped in a small named converter per field, which type checkers can follow.
    """
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(str(m.value) for m in kind)
        raise ValidationError.single(
            f"$.{field}", repr(value), f"must be one of: {allowed}"
        ) from None


def to_utc(value: Any) -> Any:
    """Convert an aware datetime to UTC so equal instants compare and store equal.

    The attrs converter of every instant field; anything else (``None``, a
    naive time) is left for :func:`aware` or :func:`optional_aware` to judge.
    """
    if isinstance(value, dt.datetime) and value.utcoffset() is not None:
        return value.astimezone(dt.UTC)
    return value


def time_zone(_: object, attribute: attrs.Attribute[Any], value: object) -> None:
    """An IANA time zone name that this machine's zone data knows (``Asia/Shanghai``).

    A region name such as ``Asia`` is a folder of the zone data, which
    ``zoneinfo`` reports as an ``OSError`` when it reads the ``tzdata``
    package: that is refused like any unknown name.
    """
    try:
        zoneinfo.ZoneInfo(value)  # type: ignore[arg-type]
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError, OSError):
        fail(attribute, value, "must be an IANA time zone such as 'Asia/Shanghai'")
