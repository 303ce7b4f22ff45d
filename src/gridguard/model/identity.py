"""Resident identity numbers: a pluggable scheme, GB 11643-1999 built in.

A scheme normalises a number (full-width digits, spaces, lowercase ``x``) and
validates it; it may also read a birth date and sex from it. Another
country's number is added by a scheme, from a plugin through the
``register_identity_schemes`` hook or with :func:`register_identity_scheme`.

Which schemes a :class:`ResidentId` is validated with, first match wins:

1. the schemes in use in the current context (:func:`identity_schemes_in_use`):
   a workspace puts its plugins' schemes in use inside its transactions and
   its ``with`` block, so each workspace validates with its own plugins;
2. the schemes registered for the whole process with
   :func:`register_identity_scheme` (scripts and tests without a workspace);
3. the builtin ``CN`` scheme.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from types import MappingProxyType
from typing import Protocol, runtime_checkable

import attrs

from ..errors import ValidationError
from ..masking import mask_id_number
from ._masked import id_number_repr
from .enums import Sex

__all__ = [
    "DEFAULT_SCHEME",
    "GB11643",
    "IdentityScheme",
    "ResidentId",
    "get_identity_scheme",
    "identity_schemes",
    "identity_schemes_in_use",
    "register_identity_scheme",
]


@runtime_checkable
class IdentityScheme(Protocol):
    """What an identity number scheme provides."""

    name: str

    def normalize(self, text: str) -> str:
        """Return the canonical form of ``text`` or raise ``ValueError`` naming the rule broken."""

    def birth_date(self, number: str) -> dt.date | None:
        """The birth date encoded in a normalised number, if the scheme encodes one."""

    def sex(self, number: str) -> Sex | None:
        """The sex encoded in a normalised number, if the scheme encodes one."""


def _fold(text: str) -> str:
    """Full-width to ASCII, drop spaces and hyphens, upper case."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(c for c in text if c not in " -\t").upper()


class GB11643:
    """China's resident identity number (GB 11643-1999).

    18 characters: a 6-digit region code, the birth date ``YYYYMMDD``, a
    3-digit sequence (odd for men, even for women) and an ISO 7064 MOD 11-2
    check character (``0``-``9`` or ``X``). The region code is not checked
    against a list: codes were renamed over the years and a number stays
    valid for life.
    """

    name = "CN"

    def normalize(self, text: str) -> str:
        from stdnum.cn import ric

        number = _fold(text)
        if len(number) != 18:
            raise ValueError("a resident identity number has 18 characters (GB 11643-1999)")
        if not number[:17].isdigit() or not number[:17].isascii():
            raise ValueError("the first 17 characters must be digits (GB 11643-1999)")
        if number[17] != ric.calc_check_digit(number):
            raise ValueError("check character does not match (ISO 7064 MOD 11-2)")
        born = self.birth_date(number)
        if born is None:
            raise ValueError("characters 7-14 are not a valid birth date")
        if born > dt.date.today() or born.year < 1850:
            raise ValueError("the birth date must lie between 1850 and today")
        return number

    def birth_date(self, number: str) -> dt.date | None:
        try:
            return dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
        except ValueError:
            return None

    def sex(self, number: str) -> Sex | None:
        return Sex.MALE if int(number[16]) % 2 else Sex.FEMALE

    @staticmethod
    def check_character(first17: str) -> str:
        """The MOD 11-2 check character for 17 digits (used to make valid numbers)."""
        from stdnum.cn import ric

        return str(ric.calc_check_digit(first17 + "0"))


DEFAULT_SCHEME = "CN"
_SCHEMES: dict[str, IdentityScheme] = {"CN": GB11643()}
"""The builtin scheme and those registered for the whole process."""
_IN_USE: ContextVar[Mapping[str, IdentityScheme]] = ContextVar(
    "gridguard_identity_schemes", default=MappingProxyType({})
)
"""The schemes in use in this context (a workspace's plugins'), by name."""


def register_identity_scheme(scheme: IdentityScheme, *, replace: bool = False) -> None:
    """Make ``scheme`` available to :class:`ResidentId` under ``scheme.name``, process-wide.

    For code without a workspace; a workspace validates with the schemes of
    its own plugins (``register_identity_schemes``) without registering them here.
    """
    if scheme.name in _SCHEMES and not replace and _SCHEMES[scheme.name] is not scheme:
        raise ValueError(f"identity scheme {scheme.name!r} is already registered")
    _SCHEMES[scheme.name] = scheme


@contextmanager
def identity_schemes_in_use(schemes: Mapping[str, IdentityScheme]) -> Iterator[None]:
    """Validate identity numbers with ``schemes`` (by name) too, inside the ``with`` block.

    Scoped to the current context (thread, asyncio task) and undone on exit;
    blocks nest, the innermost wins. A workspace uses it with the schemes
    of its plugins.
    """
    token = _IN_USE.set(schemes)
    try:
        yield
    finally:
        # Left in another context than entered (an async fixture's teardown in another
        # task), reset refuses: the schemes were set in the context that entered it.
        with suppress(ValueError):
            _IN_USE.reset(token)


def get_identity_scheme(name: str) -> IdentityScheme:
    """The scheme called ``name`` in use here; ``ValidationError`` if unknown."""
    found = _IN_USE.get().get(name) or _SCHEMES.get(name)
    if found is None:
        known = ", ".join(sorted(identity_schemes()))
        raise ValidationError.single(
            "$.scheme", repr(name), f"unknown identity scheme (known: {known})"
        )
    return found


def identity_schemes() -> dict[str, IdentityScheme]:
    """A copy of the schemes known here, by name: registered ones and those in use."""
    return {**_SCHEMES, **_IN_USE.get()}


@attrs.frozen(slots=True)
class ResidentId:
    """A validated identity number in its canonical form.

    ``ResidentId("44200019900307123x")`` normalises (``X`` upper case, full
    width digits folded) and validates against the scheme, ``CN`` by
    default. In JSON it is a string: the number, or ``SCHEME:number`` for a
    scheme other than the default.
    """

    number: str = attrs.field(repr=id_number_repr)
    scheme: str = DEFAULT_SCHEME

    def __attrs_post_init__(self) -> None:
        scheme = get_identity_scheme(self.scheme)
        if not isinstance(self.number, str):
            raise ValidationError.single("$.number", repr(self.number), "must be text")
        try:
            canonical = scheme.normalize(self.number)
        except ValueError as exc:
            raise ValidationError.single(
                "$", mask_id_number(_fold(self.number)), str(exc)
            ) from None
        object.__setattr__(self, "number", canonical)

    @property
    def birth_date(self) -> dt.date | None:
        """The birth date the number encodes, if any."""
        return get_identity_scheme(self.scheme).birth_date(self.number)

    @property
    def sex(self) -> Sex | None:
        """The sex the number encodes, if any."""
        return get_identity_scheme(self.scheme).sex(self.number)

    @property
    def masked(self) -> str:
        """The number with its middle hidden, for display."""
        return mask_id_number(self.number)

    def __str__(self) -> str:
        if self.scheme == DEFAULT_SCHEME:
            return self.number
        return f"{self.scheme}:{self.number}"

    @classmethod
    def from_str(cls, text: str) -> ResidentId:
        """Parse the JSON form: ``number`` or ``SCHEME:number``."""
        scheme, sep, number = text.rpartition(":")
        return cls(number, scheme) if sep else cls(text)
