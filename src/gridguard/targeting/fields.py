"""Reading one cell of an import file: fast checks that agree with the model's validation.

The bulk import validates millions of rows, so the common, well-formed
cases (an 18-digit identity number in plain ASCII, an 11-digit mobile
number) are checked here without building a model object; anything else
goes through the model's own normalisers (:class:`~gridguard.model.ResidentId`,
:func:`~gridguard.model.normalize_phone`), so the result and the error
message are exactly what the model gives. The property tests hold the fast
and the model paths to the same answers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import unicodedata
from collections.abc import Callable, Sequence
from functools import lru_cache

from ..errors import ValidationError
from ..masking import mask_id_number, mask_name, mask_phone, mask_text
from ..model._validate import _CONTROL as CONTROL
from ..model._validate import _IDENT as IDENT
from ..model._validate import BIDI_CONTROLS, BIDI_RULE, MAX_NAME
from ..model.identity import GB11643, ResidentId, get_identity_scheme
from ..model.phone import normalize_phone

__all__ = [
    "CONTROL",
    "FREE_TEXT",
    "IDENT",
    "RESIDENCIES",
    "SEXES",
    "CellError",
    "builtin_cn",
    "calendar_date",
    "check_formula",
    "derived_id",
    "fast_phone",
    "fast_resident_id",
    "is_identifier",
    "mask",
    "parse_bool",
    "parse_date",
    "parse_enum",
    "parse_int",
    "read_identifier",
    "read_name",
    "read_phone",
    "read_resident_id",
    "read_text",
    "refresh_today",
    "today_iso",
]

IDENTIFIER_RULE = "an id is 1-128 letters, digits or _.:-/ and starts alphanumeric"


class CellError(Exception):
    """One cell broke a rule: the field, the value as shown (masked) and the rule."""

    def __init__(self, field: str, shown: str, rule: str) -> None:
        super().__init__(f"{field}: {rule}")
        self.field = field
        self.shown = shown
        self.rule = rule

    @classmethod
    def from_validation(cls, field: str, exc: ValidationError) -> CellError:
        first = exc.violations[0]
        return cls(field, first.value, first.rule)


PERSONAL_MASKS: dict[str, Callable[[str], str]] = {
    "name": mask_name,
    "resident_id": mask_id_number,
    "id_number": mask_id_number,
    "phone": mask_phone,
    "address": lambda v: mask_text(v, keep=3),
}


def mask(field: str, value: str) -> str:
    """A cell's value as an error report shows it: personal fields masked, others cut short."""
    masker = PERSONAL_MASKS.get(field)
    if masker is not None:
        return masker(value)
    return value if len(value) <= 40 else value[:37] + "..."


_NUMBER_LIKE = re.compile(r"[+-][\d\s().\-]*")


FREE_TEXT = frozenset(("name", "address", "door", "note", "origin", "compound"))
"""Fields of free text: a cell there that looks like a formula is stored as the text it is.

The API stores such text as given, and every export neutralises it
(:func:`gridguard.report._format.neutralise`), so the import does the same.
"""


def check_formula(field: str, value: str) -> None:
    """Refuse a spreadsheet formula (``=``, ``@``, or ``+``/``-`` not starting a number).

    Such a cell is either an unevaluated formula or a CSV injection; a phone
    like ``+86 138 0013 8000`` or a floor like ``-1`` is not one. Free text
    (:data:`FREE_TEXT`) is never refused: it is stored as text, as the API
    stores it, and neutralised on export.
    """
    if field in FREE_TEXT:
        return
    first = value[:1]
    if first in ("=", "@") or (first in ("+", "-") and not _NUMBER_LIKE.fullmatch(value)):
        raise CellError(field, mask_text(value), f"a spreadsheet formula (starts with {first!r})")


_IDENT_RULE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:\-/]{0,127}").fullmatch


def is_identifier(value: str) -> bool:
    """The model's id rule (1-128 ASCII letters, digits, ``_.:-/``, alphanumeric first), fast."""
    return _IDENT_RULE(value) is not None


def read_identifier(field: str, value: str) -> str:
    if not is_identifier(value):
        raise CellError(field, repr(value), IDENTIFIER_RULE)
    return value


SUSPECT = re.compile(f"{CONTROL.pattern}|{BIDI_CONTROLS.pattern}|\\A.{{{MAX_NAME + 1}}}", re.DOTALL)
"""Text :func:`read_text` would refuse (control or bidi characters, too long): one search."""


def read_text(field: str, value: str, personal: bool = False) -> str:
    """Non-blank text without control characters (blank cells arrive as ``None``)."""
    if CONTROL.search(value):
        shown = mask(field, value) if personal else repr(value)
        raise CellError(field, shown, "must not contain control characters")
    found = BIDI_CONTROLS.search(value)
    if found is not None:
        raise CellError(
            field, f"U+{ord(found.group()):04X} at character {found.start() + 1}", BIDI_RULE
        )
    if len(value) > MAX_NAME:
        shown = mask(field, value[:20]) if personal else repr(value[:20])
        raise CellError(field, shown, f"must be at most {MAX_NAME} characters")
    return value


def parse_int(field: str, value: str, low: int, high: int) -> int:
    """A whole number in ``[low, high]``; full-width digits and a trailing 楼/层/F are accepted."""
    text = unicodedata.normalize("NFKC", value).strip().rstrip("楼层Ff").strip()
    try:
        number = int(text)
    except ValueError:
        raise CellError(field, repr(value), "must be a whole number") from None
    if not low <= number <= high:
        raise CellError(field, repr(value), f"must be a whole number from {low} to {high}")
    return number


_TRUE = frozenset(("1", "true", "yes", "y", "是", "有", "√", "✓"))
_FALSE = frozenset(("0", "false", "no", "n", "否", "无", "没有", "×"))


def parse_bool(field: str, value: str) -> bool:
    text = unicodedata.normalize("NFKC", value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise CellError(field, repr(value), "must be yes or no (是/否, true/false, 1/0)")


def parse_enum(field: str, value: str, table: dict[str, str]) -> str:
    """``value`` looked up (NFKC, lower case) in ``table``, whose values are the stored forms."""
    found = table.get(unicodedata.normalize("NFKC", value).strip().lower())
    if found is None:
        allowed = ", ".join(dict.fromkeys(table.values()))
        raise CellError(field, repr(value), f"must be one of: {allowed} (or their Chinese names)")
    return found


_DATE_FORMATS = (
    re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})"),
    re.compile(r"(\d{4})/(\d{1,2})/(\d{1,2})"),
    re.compile(r"(\d{4})\.(\d{1,2})\.(\d{1,2})"),
    re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日?"),
    re.compile(r"(\d{4})(\d{2})(\d{2})"),
)


def parse_date(field: str, value: str, personal: bool = False) -> dt.date:
    """A date as people write it: ``2020-01-25``, ``2020/1/25``, ``2020年1月25日``, ``20200125``.

    A time after a date (``2020-01-25 00:00:00``, from a spreadsheet) is ignored.
    """
    if len(value) == 10 and value[4] == "-" and value[7] == "-" and value.isascii():
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass  # the slow path below says what is wrong
    text = unicodedata.normalize("NFKC", value).strip().split(" ")[0].split("T")[0]
    for pattern in _DATE_FORMATS:
        found = pattern.fullmatch(text)
        if found:
            try:
                return dt.date(int(found[1]), int(found[2]), int(found[3]))
            except ValueError:
                raise CellError(field, _shown(value, personal), "not a calendar date") from None
    raise CellError(field, _shown(value, personal), "not a date (YYYY-MM-DD)")


def _shown(value: str, personal: bool) -> str:
    return mask_text(value, keep=4) if personal else repr(value)


# -- natural keys and vocabularies --------------------------------------------------------------


def derived_id(prefix: str, *parts: str | None) -> str:
    """A stable id from a natural key: ``h-`` and 20 hex digits of its BLAKE2b hash."""
    key = "\x1f".join("" if p is None else p for p in parts)
    return f"{prefix}-{hashlib.blake2b(key.encode('utf-8'), digest_size=10).hexdigest()}"


def derived_ids(prefix: str, head: str, keys: Sequence[str]) -> list[str]:
    """``derived_id(prefix, head + key)`` of each key (one part each), for a batch: the
    hash of ``head`` is taken once and copied, not started again for every key."""
    start = hashlib.blake2b(head.encode("utf-8"), digest_size=10)
    tag = prefix + "-"
    out: list[str] = []
    add = out.append
    for key in keys:
        hashed = start.copy()
        hashed.update(key.encode("utf-8"))
        add(tag + hashed.hexdigest())
    return out


SEXES = {
    "male": "male", "m": "male", "男": "male", "1": "male", "男性": "male",
    "female": "female", "f": "female", "女": "female", "2": "female", "女性": "female",
}  # fmt: skip
RESIDENCIES = {
    "resident": "resident", "常住": "resident", "户籍": "resident", "本地": "resident",
    "居民": "resident", "常住人口": "resident", "户籍人口": "resident",
    "tenant": "tenant", "租户": "tenant", "租住": "tenant", "流动": "tenant",
    "流动人口": "tenant", "外来": "tenant", "外来人口": "tenant",
    "visitor": "visitor", "访客": "visitor", "暂住": "visitor", "临时": "visitor",
    "探亲": "visitor",
}  # fmt: skip

# -- identity numbers ---------------------------------------------------------------------------

_CHECK = "10X98765432"

_today = dt.date.today().isoformat()


def refresh_today() -> None:
    """Re-read today's date (a long import calls this once a batch, in case midnight passed)."""
    global _today
    _today = dt.date.today().isoformat()


def today_iso() -> str:
    """Today as ISO text, as last read by :func:`refresh_today`."""
    return _today


@lru_cache(maxsize=65_536)
def _calendar(compact: str) -> str | None:
    """``YYYYMMDD`` as an ISO date if it is a calendar date, else ``None`` (cached)."""
    try:
        return dt.date(int(compact[:4]), int(compact[4:6]), int(compact[6:8])).isoformat()
    except ValueError:
        return None


def calendar_date(compact: str) -> str | None:
    """``YYYYMMDD`` as an ISO date when it is a calendar date, else ``None``."""
    return _calendar(compact)


def fast_resident_id(text: str) -> tuple[str, str] | None:
    """``(number, ISO birth date)`` for a plain 18-character CN number that is valid, else ``None``.

    ``None`` only means "not sure": the caller then asks the model. Only the
    builtin GB 11643 scheme is checked this way; a plugin that replaces the
    ``CN`` scheme always goes through the model.
    """
    if len(text) != 18 or not text.isascii() or not text[:17].isdigit():
        return None
    # The weights are 2**(17 - i) mod 11, and 13 = 2 (mod 11): read in base 13, the
    # 17 digits give the weighted sum (halved) modulo 11 in one C call.
    total = 2 * int(text[:17], 13)
    check = text[17]
    if check == "x":
        check = "X"
    if _CHECK[total % 11] != check:
        return None
    born = _calendar(text[6:14])
    if born is None or not ("1850-01-01" <= born <= _today):
        return None
    return text[:17] + check, born


def builtin_cn() -> bool:
    """Whether the ``CN`` scheme is the builtin GB 11643 one (so the fast check applies)."""
    return isinstance(get_identity_scheme("CN"), GB11643)


def read_resident_id(field: str, value: str) -> tuple[str, str | None, int | None]:
    """``(stored text, ISO birth date or None, sex digit parity or None)`` of an identity number.

    Raises :class:`CellError` with the model's own rule for an invalid number.
    """
    if builtin_cn() and ":" not in value:
        fast = fast_resident_id(value)
        if fast is not None:
            number, born = fast
            return number, born, int(number[16]) % 2
    try:
        rid = ResidentId.from_str(value)
    except ValidationError as exc:
        raise CellError.from_validation(field, exc) from None
    born_date = rid.birth_date
    sex = rid.sex
    return (
        str(rid),
        None if born_date is None else born_date.isoformat(),
        None if sex is None else (1 if sex.value == "male" else 0),
    )


# -- phones ---------------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _cn_mobile() -> re.Pattern[str]:
    import phonenumbers

    metadata = phonenumbers.PhoneMetadata.metadata_for_region("CN")
    mobile = None if metadata is None else metadata.mobile
    pattern = None if mobile is None else mobile.national_number_pattern
    if pattern is None:  # pragma: no cover - phonenumbers always has CN mobile metadata
        raise RuntimeError("phonenumbers has no pattern for CN mobile numbers")
    return re.compile(pattern)


def fast_phone(text: str) -> str | None:
    """E.164 for a plain mainland mobile (``13800138000``, ``+8613800138000``), else ``None``.

    A number matching ``phonenumbers``' own CN mobile pattern is one it calls
    valid; anything else is left to :func:`~gridguard.model.normalize_phone`.
    """
    if text.startswith("+86"):
        text = text[3:]
    if len(text) == 11 and text.isascii() and text.isdigit() and _cn_mobile().fullmatch(text):
        return "+86" + text
    return None


def read_phone(field: str, value: str) -> str:
    fast = fast_phone(value)
    if fast is not None:
        return fast
    try:
        return normalize_phone(value)
    except ValidationError as exc:
        raise CellError.from_validation(field, exc) from None


def read_name(field: str, value: str) -> str:
    return read_text(field, value, personal=True)
