"""Phone numbers, normalised to E.164 with the ``phonenumbers`` library."""

from __future__ import annotations

from ..errors import ValidationError
from ..masking import mask_phone

__all__ = ["DEFAULT_REGION", "normalize_phone"]

DEFAULT_REGION = "CN"


def normalize_phone(text: str, region: str = DEFAULT_REGION, path: str = "$") -> str:
    """Return ``text`` as an E.164 number (``+8613800138000``).

    Accepts the usual ways people write numbers (spaces, hyphens, full-width
    digits, a leading ``0086`` or ``+86``); a number without a country code
    is read as ``region``'s. Raises :class:`ValidationError` for anything that
    is not a valid number.
    """
    import phonenumbers

    if not isinstance(text, str):
        raise ValidationError.single(path, repr(text), "a phone number must be text")
    try:
        parsed = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise ValidationError.single(path, mask_phone(text), "not a phone number") from None
    if not phonenumbers.is_valid_number(parsed):
        raise ValidationError.single(path, mask_phone(text), f"not a valid phone number ({region})")
    return str(phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164))
