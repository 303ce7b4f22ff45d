"""Masking of personal data for messages, errors, exports and logs.

Masking keeps just enough to recognise a record (a surname, the first three
and last four digits of a phone) without disclosing it.
"""

from __future__ import annotations

__all__ = ["mask_id_number", "mask_name", "mask_phone", "mask_text"]


def mask_name(name: str) -> str:
    """``张三丰`` -> ``张**``, ``Li Wei`` -> ``L*****``: the first character stays."""
    name = name.strip()
    if not name:
        return name
    return name[0] + "*" * (len(name) - 1)


def mask_phone(phone: str) -> str:
    """``+8613800138000`` -> ``+86138****8000``: first three and last four digits of the number."""
    phone = phone.strip()
    prefix = ""
    if phone.startswith("+86"):
        prefix, phone = "+86", phone[3:]
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
