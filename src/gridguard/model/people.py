"""Persons: the residents of households, "one file per person" once flagged."""

from __future__ import annotations

import datetime as dt
from typing import Any

import attrs

from ..errors import ValidationError
from ._masked import birth_date_repr, id_number_repr, name_repr, phone_repr
from ._stored import Category, Ref, stored
from ._validate import calendar_day, enum_of, fail, identifier, personal_text, to_date
from .enums import Residency, Sex
from .identity import ResidentId
from .phone import normalize_phone

__all__ = ["Person", "optional_phone", "optional_resident_id"]


def optional_phone(value: Any) -> str | None:
    """attrs converter: ``None`` or blank stays ``None``, anything else becomes E.164."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    try:
        return normalize_phone(value)
    except ValidationError as exc:
        raise exc.prefixed("$.phone") from None


def optional_resident_id(value: Any) -> ResidentId | None:
    """attrs converter: accepts a :class:`ResidentId`, its text form, or nothing."""
    if value is None or isinstance(value, ResidentId):
        return value
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            return ResidentId.from_str(value)
        except ValidationError as exc:
            raise exc.prefixed("$.resident_id") from None
    raise ValidationError.single("$.resident_id", type(value).__name__, "must be text")


def _sex(value: Any) -> Sex | None:
    return None if value is None else enum_of(Sex, value, "sex")


def _residency(value: Any) -> Residency:
    return enum_of(Residency, value, "residency")


def _past_date(_: object, attribute: attrs.Attribute[Any], value: dt.date | None) -> None:
    """A birth date is a day (shown masked when refused), and not a day to come."""
    if value is None:
        return
    calendar_day(_, attribute, value, personal=True)
    if value > dt.date.today():
        fail(attribute, value, "must not be in the future")


@stored("persons", Category.PERSON, parent=Ref("household_id", "Household"))
@attrs.frozen(kw_only=True)
class Person:
    """A person living in (or visiting) a household.

    The identity number, when given, must agree with the birth date and sex
    given beside it.
    """

    id: str = attrs.field(validator=identifier)
    household_id: str = attrs.field(validator=identifier)
    name: str = attrs.field(validator=personal_text, repr=name_repr)
    resident_id: ResidentId | None = attrs.field(
        default=None, converter=optional_resident_id, repr=id_number_repr
    )
    phone: str | None = attrs.field(default=None, converter=optional_phone, repr=phone_repr)
    sex: Sex | None = attrs.field(default=None, converter=_sex)
    birth_date: dt.date | None = attrs.field(
        default=None, converter=to_date, validator=_past_date, repr=birth_date_repr
    )
    residency: Residency = attrs.field(default=Residency.RESIDENT, converter=_residency)

    def __attrs_post_init__(self) -> None:
        if self.resident_id is None:
            return
        born = self.resident_id.birth_date
        if self.birth_date is not None and born is not None and born != self.birth_date:
            raise ValidationError.single(
                "$.birth_date",
                repr(self.birth_date),
                "does not match the birth date in the identity number",
            )
        sex = self.resident_id.sex
        if self.sex is not None and sex is not None and sex != self.sex:
            raise ValidationError.single(
                "$.sex", repr(self.sex.value), "does not match the sex in the identity number"
            )
