"""How personal fields show in ``repr()`` and ``str()``: masked, as reports show them.

Records end up in logs, tracebacks, debugger sessions and test failures.
A person's ``repr`` therefore shows ``'陈**'``, ``'+86138****8000'`` and
``'442000**********3X'``, never the name, phone or identity number in full;
the stored values and their JSON form are unchanged. Used as attrs
``field(repr=...)`` callables.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..masking import mask_id_number, mask_name, mask_phone

__all__ = ["birth_date_repr", "id_number_repr", "name_repr", "phone_repr"]


def name_repr(value: Any) -> str:
    """A name as ``'陈**'``."""
    return "None" if value is None else repr(mask_name(str(value)))


def phone_repr(value: Any) -> str:
    """A phone as ``'+86138****8000'``."""
    return "None" if value is None else repr(mask_phone(str(value)))


def id_number_repr(value: Any) -> str:
    """An identity number (text or a ``ResidentId``) as ``'442000**********3X'``."""
    if value is None:
        return "None"
    number = getattr(value, "number", value)
    return repr(mask_id_number(str(number)))


def birth_date_repr(value: Any) -> str:
    """A birth date as its year only (``'1955-**-**'``): the day would single a person out."""
    if not isinstance(value, dt.date):
        return repr(value)
    return repr(f"{value.year:04d}-**-**")
