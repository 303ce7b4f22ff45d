"""JSON-ready conversion of every model, through one private cattrs converter.

Unknown keys are errors (a typo in a file must not pass silently), and every
failure becomes one :class:`~gridguard.errors.ValidationError` listing each
problem with its field path (``$.members[1].role``), its masked value and
the rule it broke.
"""

from __future__ import annotations

import datetime as dt
import enum
import json
import uuid
from typing import Any, TypeVar

import attrs
import cattrs
from cattrs.errors import (
    ClassValidationError,
    ForbiddenExtraKeysError,
    IterableValidationError,
)

from .errors import ValidationError, Violation
from .model import enums
from .model.identity import ResidentId

__all__ = ["converter", "from_dict", "from_json", "to_dict", "to_json", "validation_error"]

T = TypeVar("T")


def _structure_datetime(value: Any, _: type) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value
    if not isinstance(value, str):
        raise ValidationError.single("$", repr(value), "must be an ISO 8601 timestamp")
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError.single("$", repr(value), "must be an ISO 8601 timestamp") from None


def _structure_date(value: Any, _: type) -> dt.date:
    """A day from ``YYYY-MM-DD`` text or a date.

    A datetime (or ISO 8601 timestamp text) is handed on as a datetime, for
    the model's converter to judge exactly as when it is passed in Python:
    an aware one becomes its day, a naive one is refused with the field's
    name. Files and the API therefore agree on every value.
    """
    if isinstance(value, dt.date):
        return value
    if not isinstance(value, str):
        raise ValidationError.single("$", repr(value), "must be a date YYYY-MM-DD")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        pass
    try:
        return dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError.single("$", repr(value), "must be a date YYYY-MM-DD") from None


def _structure_uuid(value: Any, _: type) -> uuid.UUID:
    if isinstance(value, uuid.UUID):
        return value
    try:
        return uuid.UUID(str(value))
    except ValueError:
        raise ValidationError.single("$", repr(value), "must be a UUID") from None


def _structure_float(value: Any, _: type) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValidationError.single("$", repr(value), "must be a number")
    try:
        return float(value)
    except ValueError:
        raise ValidationError.single("$", repr(value), "must be a number") from None


def _structure_int(value: Any, _: type) -> int:
    if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
        raise ValidationError.single("$", repr(value), "must be a whole number")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ValidationError.single("$", repr(value), "must be a whole number") from None


def _structure_bool(value: Any, _: type) -> bool:
    if isinstance(value, bool):
        return value
    raise ValidationError.single("$", repr(value), "must be true or false")


def _structure_str(value: Any, _: type) -> str:
    if isinstance(value, str):
        return value
    raise ValidationError.single("$", repr(value), "must be text")


def _unstructure_enum(value: enum.Enum) -> Any:
    return value.value


def _structure_enum(value: Any, cls: type[enum.Enum]) -> enum.Enum:
    try:
        return cls(value)
    except ValueError:
        allowed = ", ".join(str(m.value) for m in cls)
        raise ValidationError.single("$", repr(value), f"must be one of: {allowed}") from None


def _make_converter() -> cattrs.Converter:
    conv = cattrs.Converter(forbid_extra_keys=True)
    # String enums would otherwise dispatch as plain ``str``; register each one.
    for name in enums.__all__:
        kind = getattr(enums, name)
        conv.register_unstructure_hook(kind, _unstructure_enum)
        conv.register_structure_hook(kind, _structure_enum)
    conv.register_unstructure_hook(dt.datetime, lambda v: v.isoformat())
    conv.register_structure_hook(dt.datetime, _structure_datetime)
    conv.register_unstructure_hook(dt.date, lambda v: v.isoformat())
    conv.register_structure_hook(dt.date, _structure_date)
    conv.register_unstructure_hook(uuid.UUID, str)
    conv.register_structure_hook(uuid.UUID, _structure_uuid)
    conv.register_unstructure_hook(ResidentId, str)
    conv.register_structure_hook(
        ResidentId, lambda v, _: ResidentId.from_str(_structure_str(v, str))
    )
    conv.register_structure_hook(float, _structure_float)
    conv.register_structure_hook(int, _structure_int)
    conv.register_structure_hook(bool, _structure_bool)
    # ``str`` must be a direct hook: a predicate hook ranks below cattrs' built-in
    # ``str`` handling, which would quietly turn ``5`` into ``"5"``.
    conv.register_structure_hook(str, _structure_str)
    conv.register_structure_hook_factory(attrs.has, _object_hook_factory)
    return conv


def _object_hook_factory(cls: type[Any], conv: cattrs.Converter) -> Any:
    """cattrs' own hook for an attrs class, refusing anything but a JSON object."""
    inner = conv.gen_structure_attrs_fromdict(cls)

    def structure(value: Any, _: type) -> Any:
        if not isinstance(value, dict):
            raise ValidationError.single("$", type(value).__name__, "must be an object")
        return inner(value, cls)

    return structure


converter = _make_converter()
"""gridguard's private converter; never the cattrs global one."""


def _collect(exc: BaseException, path: str, out: list[Violation]) -> None:
    if isinstance(exc, ValidationError):
        out.extend(v.prefixed(path) for v in exc.violations)
    elif isinstance(exc, ForbiddenExtraKeysError):
        out.extend(
            Violation(f"{path}.{key}", "", "unknown key") for key in sorted(exc.extra_fields)
        )
    elif isinstance(exc, ClassValidationError):
        with_notes, others = exc.group_exceptions()
        for sub, note in with_notes:
            _collect(sub, f"{path}.{note.name}", out)
        for sub in others:
            _collect(sub, path, out)
    elif isinstance(exc, IterableValidationError):
        with_notes_i, others_i = exc.group_exceptions()
        for sub_i, note_i in with_notes_i:
            _collect(sub_i, f"{path}[{note_i.index!r}]", out)
        for sub_i in others_i:
            _collect(sub_i, path, out)
    elif isinstance(exc, ExceptionGroup):
        for sub in exc.exceptions:
            _collect(sub, path, out)
    elif isinstance(exc, KeyError):
        out.append(Violation(path, "", "required field is missing"))
    elif isinstance(exc, ValueError):
        out.append(Violation(path, "(invalid)", str(exc) or "invalid value"))
    else:
        out.append(Violation(path, "(invalid)", f"{type(exc).__name__}: {exc}"))


def validation_error(exc: BaseException, path: str = "$") -> ValidationError:
    """Turn a cattrs (or attrs validator) failure into one :class:`ValidationError`."""
    out: list[Violation] = []
    _collect(exc, path, out)
    return ValidationError(out or [Violation(path, "(invalid)", str(exc))])


def from_dict(cls: type[T], data: Any, path: str = "$") -> T:
    """Build a ``cls`` from plain JSON-like data, validating everything."""
    if not isinstance(data, dict) and attrs.has(cls) and cls is not ResidentId:
        raise ValidationError.single(path, type(data).__name__, "must be an object")
    try:
        return converter.structure(data, cls)
    except (ValidationError, cattrs.BaseValidationError, ValueError, TypeError, KeyError) as exc:
        raise validation_error(exc, path) from None


def to_dict(obj: Any) -> Any:
    """Plain JSON-ready data (dicts, lists, strings, numbers) for ``obj``."""
    return converter.unstructure(obj)


def to_json(obj: Any, **kwargs: Any) -> str:
    """``obj`` as JSON text (UTF-8 characters kept readable)."""
    return json.dumps(to_dict(obj), ensure_ascii=False, **kwargs)


def from_json(cls: type[T], text: str | bytes) -> T:
    """Parse JSON text into a ``cls``; malformed JSON is a :class:`ValidationError` too."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError.single(
            "$", f"line {exc.lineno} column {exc.colno}", "not valid JSON"
        ) from None
    except UnicodeDecodeError as exc:
        raise ValidationError.single(
            "$", f"byte {exc.start}", "not valid JSON (undecodable bytes)"
        ) from None
    return from_dict(cls, data)
