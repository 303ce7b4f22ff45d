"""Masking of personal data for messages, errors, exports and logs.

Masking keeps just enough to recognise a record (a surname, the first three
and last four digits of a phone) without disclosing it.
"""

from __future__ import annotations

__all__ = ["mask_id_number", "mask_name", "mask_phone", "mask_text"]


def mask_name(name: str, *, keep_length: bool = True) -> str:
    """``张三丰`` -> ``张**``, ``Li Wei`` -> ``L*****``: the first character stays.

    ``keep_length=False`` hides the length too (``张三丰`` -> ``张*``), as
    messages to people do: a surname and one star.
    """
    name = name.strip()
    if not name:
        return name
    return name[0] + "*" * ((len(name) - 1) if keep_length else min(len(name) - 1, 1))


def mask_phone(phone: str, *, national: bool = False) -> str:
    """``+8613800138000`` -> ``+86138****8000``: first three and last four digits of the number.

    ``national=True`` drops the ``+86`` of a Chinese number (``138****8000``),
    the way people write it in a message.
    """
    phone = phone.strip()
    prefix = ""
    if phone.startswith("+86"):
        prefix, phone = ("" if national else "+86"), phone[3:]
    if len(phone) <= 7:
        return prefix + "*" * len(phone)
    return prefix + phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_id_number(number: str) -> str:
    """``44200019900307123X`` -> ``442000**********3X``: region code and the last two characters."""
    number = number.strip()
    if len(number) <= 8:
        return "*" * len(number)
    return number[:6] + "*" * (len(number) - 8) + number[-2:]


def mask_text(text: str, keep: int = 1) -> str:
    """Generic masking for any personal string: ``keep`` leading characters and the length."""
    text = str(text)
    return text[:keep] + "*" * max(len(text) - keep, 0)
