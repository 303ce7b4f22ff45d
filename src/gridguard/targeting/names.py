"""How alike two names are, for Chinese names in characters and in pinyin.

Outside lists spell names their own way: a homophone typed by a pinyin
input method (陈建国 / 陈健国), a passenger list in pinyin (``CHEN JIANGUO``
or ``Jianguo Chen``), a dropped character. :func:`name_similarity` scores a
pair from 0 (nothing alike) to 1 (the same):

* two names in characters: the better of the character edit ratio and the
  pinyin syllable edit ratio (two characters agree when they share a
  reading, so heteronyms such as 曾 ``zeng``/``ceng`` work), the latter
  counted at 0.95 since a homophone is not quite the same name;
* a name in characters against one in Latin letters: the letter edit ratio
  of the pinyin spelling, surname first or last, counted at 0.95;
* two names in Latin letters: the letter edit ratio, either word order.

Pinyin readings come from the ``pypinyin`` package. Without it, names in
characters are compared by their characters only and a name in characters
never resembles one in Latin letters (score 0), so such pairs go to review
instead of being matched: :data:`PINYIN_AVAILABLE` says which it is.
Cantonese or Wade-Giles spellings (``Chan`` for 陈) are not recognised.
"""

from __future__ import annotations

import importlib.util
import itertools
import unicodedata
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import TypeVar

__all__ = [
    "PINYIN_AVAILABLE",
    "fold_name",
    "name_similarity",
    "osa_distance",
    "pinyin_readings",
]

T = TypeVar("T")

PINYIN_AVAILABLE: bool = importlib.util.find_spec("pypinyin") is not None
"""Whether ``pypinyin`` is installed, so that names compare by their pinyin too.

``pypinyin`` itself is imported on the first reading asked for: its
dictionaries take longer to load than the rest of gridguard together.
"""

HOMOPHONE_WEIGHT = 0.95
"""A name that only sounds the same (or is the pinyin of the other) scores at most this."""

COMPOUND_SURNAMES = frozenset(
    ("欧阳", "司徒", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙",
     "宇文", "夏侯", "令狐", "澹台", "轩辕", "端木", "南宫", "西门", "申屠", "太史", "呼延",
     "闻人", "赫连", "万俟", "钟离", "独孤")
)  # fmt: skip
"""Two-character surnames: the rest of the name is the given name."""

_DROP = frozenset(" \t·.-_'’‧・•")
"""Separators people put inside names (the middle dot of transliterated names among them)."""


def _is_han(ch: str) -> bool:
    code = ord(ch)
    return 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0x20000 <= code <= 0x2FA1F


def fold_name(name: str) -> str:
    """A name as compared: NFKC, separators dropped, Latin letters lower case.

    ``"陈 建国"`` -> ``"陈建国"``, ``"CHEN Jian-Guo"`` -> ``"chenjianguo"``.
    """
    text = unicodedata.normalize("NFKC", name)
    return "".join(c for c in text if c not in _DROP).lower()


def _latin_words(name: str) -> list[str]:
    text = unicodedata.normalize("NFKC", name).lower()
    for sep in "·.-_'’‧・•,":
        text = text.replace(sep, " ")
    return [w for w in text.split() if w]


def osa_distance(a: Sequence[T], b: Sequence[T], same: Callable[[T, T], bool] | None = None) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions, swaps.

    ``same`` decides when two items are equal (default ``==``); for names in
    characters it says whether two characters share a reading.
    """
    eq = same or (lambda x, y: x == y)
    n, m = len(a), len(b)
    if n == 0 or m == 0:
        return max(n, m)
    prev2: list[int] = []
    prev = list(range(m + 1))
    for i in range(1, n + 1):
        cur = [i] + [0] * m
        ai = a[i - 1]
        for j in range(1, m + 1):
            cost = 0 if eq(ai, b[j - 1]) else 1
            best = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if (
                i > 1
                and j > 1
                and eq(ai, b[j - 2])
                and eq(a[i - 2], b[j - 1])
                and prev2[j - 2] + 1 < best
            ):
                best = prev2[j - 2] + 1
            cur[j] = best
        prev2, prev = prev, cur
    return prev[m]


def _ratio(distance: int, a: int, b: int) -> float:
    longest = max(a, b)
    return 1.0 - distance / longest if longest else 1.0


@lru_cache(maxsize=65_536)
def pinyin_readings(ch: str) -> tuple[str, ...]:
    """The toneless pinyin readings of one character, the usual one first.

    ``曾`` -> ``("zeng", "ceng")``; ``ü`` is written ``u`` (``吕`` -> ``lu``),
    as passports mostly do. A character without a reading (or without
    ``pypinyin``) reads as itself.
    """
    if not PINYIN_AVAILABLE or not _is_han(ch):
        return (ch,)
    from pypinyin import Style, pinyin

    found = pinyin(ch, style=Style.NORMAL, heteronym=True, errors="ignore")
    readings = [r.replace("v", "u").replace("ü", "u") for group in found for r in group if r]
    return tuple(dict.fromkeys(readings)) or (ch,)


def _share_reading(a: str, b: str) -> bool:
    return a == b or not set(pinyin_readings(a)).isdisjoint(pinyin_readings(b))


def _spellings(han: str, limit: int = 16) -> list[str]:
    """Pinyin spellings of a name in characters, surname first and given name first."""
    chars = [pinyin_readings(c) for c in han]
    split = 2 if han[:2] in COMPOUND_SURNAMES else 1
    out: list[str] = []
    for combo in itertools.islice(itertools.product(*chars), limit):
        surname, given = "".join(combo[:split]), "".join(combo[split:])
        out.append(surname + given)
        if given:
            out.append(given + surname)
    return out


def _han_vs_han(a: str, b: str) -> float:
    chars = _ratio(osa_distance(a, b), len(a), len(b))
    if chars == 1.0 or not PINYIN_AVAILABLE:
        return chars
    sounds = _ratio(osa_distance(a, b, _share_reading), len(a), len(b))
    return max(chars, HOMOPHONE_WEIGHT * sounds)


def _latin_vs_latin(a: str, b: str) -> float:
    # Either name may give surname and given name in either order; trying both
    # orders of both keeps the score symmetric.
    wa, wb = _latin_words(a), _latin_words(b)
    best = 0.0
    for la in {"".join(wa), "".join(reversed(wa))}:
        for lb in {"".join(wb), "".join(reversed(wb))}:
            best = max(best, _ratio(osa_distance(la, lb), len(la), len(lb)))
    return best


def _han_vs_latin(han: str, latin: str) -> float:
    if not PINYIN_AVAILABLE:
        return 0.0
    letters = "".join(_latin_words(latin))
    best = 0.0
    for spelling in _spellings(han):
        best = max(best, _ratio(osa_distance(spelling, letters), len(spelling), len(letters)))
        if best == 1.0:
            break
    return HOMOPHONE_WEIGHT * best


def name_similarity(a: str, b: str) -> float:
    """How alike two names are, from 0.0 to 1.0 (see the module docstring).

    Symmetric; equal names (after :func:`fold_name`) score 1.0, an empty name
    scores 0.0 against anything.
    """
    fa, fb = fold_name(a), fold_name(b)
    if not fa or not fb:
        return 0.0
    if fa == fb:
        return 1.0
    han_a = any(_is_han(c) for c in fa)
    han_b = any(_is_han(c) for c in fb)
    if han_a and han_b:
        return round(_han_vs_han(fa, fb), 4)
    if not han_a and not han_b:
        return round(_latin_vs_latin(a, b), 4)
    han, latin = (fa, b) if han_a else (fb, a)
    return round(_han_vs_latin(han, latin), 4)
