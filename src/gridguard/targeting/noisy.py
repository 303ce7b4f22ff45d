"""A seeded outside list with the mistakes real lists have, and its ground truth.

:func:`noisy_list` draws travellers from a register and writes them down the
way a railway or airline list would reach a community: some identity
numbers mistyped (a wrong digit, two digits swapped, one dropped), some
missing, some phones changed or missing, some names mistyped (often a
homophone, as a pinyin input method makes them) or written in pinyin, and a
share of people who are not in the register at all. Phones and numbers come
in every format people use (spaces, ``+86``, full-width digits).

The same people and seed always give the same list. :meth:`NoisyList.score`
compares what :func:`~gridguard.targeting.matching.match_list` linked with the truth:
precision and recall of the links.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import attrs

from ..model._masked import id_number_repr, name_repr, phone_repr
from ..model.targeting import ListEntry, Match
from .names import COMPOUND_SURNAMES, PINYIN_AVAILABLE, pinyin_readings

if TYPE_CHECKING:
    from ..workspace import Workspace

__all__ = ["LIST_HEADER", "NoisyList", "NoisyRow", "Scores", "noisy_list"]

LIST_HEADER = ("姓名", "身份证号", "手机号", "到达日期", "出发地", "车次")
"""The columns of the written list, as a railway list has them."""

_SURNAMES = "陈李黄张梁林刘吴罗杨周郑何谢曾冯邓钟余叶卢苏蔡潘郭彭黎王赵孙朱胡高马徐"
_GIVEN = (
    "伟强明华军杰俊文斌辉健勇志浩宇鹏涛锋国荣家振永建东海峰锦耀宏达嘉子豪智"
    "芳丽敏静燕玲婷霞娟秀英慧兰红梅琳欣怡雪颖洁莹倩佩珊淑美凤诗晓妍彩玉月桂"
)
_REGIONS = ("430102", "450102", "360102", "510104", "431102", "452402", "421002", "420106")
_PREFIXES = ("138", "139", "135", "136", "137", "150", "186", "189", "133", "158", "188", "131")
_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")

Person = tuple[str, str, str | None, str | None]
"""``(person id, name, identity number, E.164 phone)`` of a resident."""


@attrs.frozen
class NoisyRow:
    """One row of the list, and who it really is (``None``: not in the register)."""

    name: str = attrs.field(repr=name_repr)
    id_number: str = attrs.field(repr=id_number_repr)
    phone: str = attrs.field(repr=phone_repr)
    arrival: dt.date
    origin: str
    train: str
    truth: str | None

    def cells(self) -> tuple[str, ...]:
        return (
            self.name,
            self.id_number,
            self.phone,
            self.arrival.isoformat(),
            self.origin,
            self.train,
        )


@attrs.frozen
class Scores:
    """How the links of a matched list compare with the truth."""

    rows: int
    in_register: int
    linked: int
    true_links: int
    false_links: int

    @property
    def precision(self) -> float:
        links = self.true_links + self.false_links
        return self.true_links / links if links else 1.0

    @property
    def recall(self) -> float:
        return self.true_links / self.in_register if self.in_register else 1.0


@attrs.frozen
class NoisyList:
    """The rows of a generated list, in file order (the first data row is row 2)."""

    rows: tuple[NoisyRow, ...]
    seed: int

    def write_csv(self, path: Path, encoding: str = "gb18030") -> Path:
        """Write the list as CSV (GB18030 by default, as Chinese Excel saves it)."""
        with open(path, "w", encoding=encoding, newline="") as handle:
            out = csv.writer(handle)
            out.writerow(LIST_HEADER)
            out.writerows(row.cells() for row in self.rows)
        return path

    def score(self, ws: Workspace, list_id: str) -> Scores:
        """Precision and recall of the matches recorded for the list ``list_id`` in ``ws``."""

        with ws._transaction(write=False) as uow:
            row_of = {e.id: e.row for e in uow.find(ListEntry, where={"list_id": list_id})}
            linked: dict[int, set[str]] = {}
            for match in uow.find(Match):
                at = row_of.get(match.entry_id)
                if at is not None:
                    linked.setdefault(at, set()).add(match.person_id)
        true_links = false_links = 0
        for n, row in enumerate(self.rows, start=2):
            people = linked.get(n, set())
            hit = row.truth is not None and row.truth in people
            true_links += hit
            false_links += len(people) - hit
        return Scores(
            rows=len(self.rows),
            in_register=sum(r.truth is not None for r in self.rows),
            linked=len(linked),
            true_links=true_links,
            false_links=false_links,
        )


def _check(first17: str) -> str:
    return "10X98765432"[sum(int(c) * w for c, w in zip(first17, _WEIGHTS, strict=True)) % 11]


class _Noise:
    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.homophones: dict[str, list[str]] = {}
        if PINYIN_AVAILABLE:
            by_sound: dict[str, list[str]] = {}
            for ch in dict.fromkeys(_GIVEN + _SURNAMES + "建健坚剑俊骏军君华桦志智芳方"):
                by_sound.setdefault(pinyin_readings(ch)[0], []).append(ch)
            for chars in by_sound.values():
                for ch in chars:
                    others = [c for c in chars if c != ch]
                    if others:
                        self.homophones[ch] = others

    def number(self, number: str) -> str:
        """A mistyped identity number: a wrong digit, a swap, two wrong digits, a dropped one."""
        rng = self.rng
        roll = rng.random()
        chars = list(number)
        if roll < 0.60:
            self._substitute(chars)
        elif roll < 0.85:
            i = rng.randrange(17)
            while chars[i] == chars[i + 1]:
                i = rng.randrange(17)
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
        elif roll < 0.95:
            self._substitute(chars)
            self._substitute(chars)
        else:
            del chars[rng.randrange(18)]
        typed = "".join(chars)
        return typed if typed != number else self.number(number)

    def _substitute(self, chars: list[str]) -> None:
        i = self.rng.randrange(len(chars))
        pool = "0123456789X" if i == 17 else "0123456789"
        chars[i] = self.rng.choice([c for c in pool if c != chars[i]])

    def number_format(self, number: str) -> str:
        roll = self.rng.random()
        if roll < 0.03 and number.endswith("X"):
            return number[:-1] + "x"
        if roll < 0.05 and len(number) == 18:
            return f"{number[:6]} {number[6:14]} {number[14:]}"
        if roll < 0.06:
            return number.translate(_FULL_WIDTH)
        return number

    def phone(self) -> str:
        rng = self.rng
        return f"+86{rng.choice(_PREFIXES)}{rng.randrange(100_000_000):08d}"

    def phone_format(self, e164: str) -> str:
        national = e164.removeprefix("+86")
        roll = self.rng.random()
        if roll < 0.20:
            return f"{national[:3]} {national[3:7]} {national[7:]}"
        if roll < 0.30:
            return f"+86 {national}"
        if roll < 0.35:
            return f"{national[:3]}-{national[3:7]}-{national[7:]}"
        if roll < 0.37:
            return national.translate(_FULL_WIDTH)
        return national

    def name_typo(self, name: str) -> str:
        """One character of the given name replaced: mostly by a homophone."""
        rng = self.rng
        start = 2 if name[:2] in COMPOUND_SURNAMES else 1
        if len(name) <= start:
            return name + rng.choice(_GIVEN)
        i = rng.randrange(start, len(name))
        sounds = self.homophones.get(name[i])
        if sounds and rng.random() < 0.7:
            new = rng.choice(sounds)
        else:
            new = rng.choice([c for c in _GIVEN if c != name[i]])
        return name[:i] + new + name[i + 1 :]

    def pinyin(self, name: str) -> str:
        """The name in pinyin: ``CHEN JIANGUO`` or ``Jianguo Chen``."""
        split = 2 if name[:2] in COMPOUND_SURNAMES else 1
        syllables = [pinyin_readings(c)[0] for c in name]
        surname, given = "".join(syllables[:split]), "".join(syllables[split:])
        if self.rng.random() < 0.5:
            return f"{surname} {given}".upper()
        return f"{given.capitalize()} {surname.capitalize()}"

    def stranger(self, today: dt.date) -> tuple[str, str, str]:
        rng = self.rng
        name = rng.choice(_SURNAMES) + "".join(rng.choice(_GIVEN) for _ in range(rng.randint(1, 2)))
        born = today - dt.timedelta(days=rng.randint(18 * 365, 75 * 365))
        first17 = f"{rng.choice(_REGIONS)}{born:%Y%m%d}{rng.randrange(1000):03d}"
        return name, first17 + _check(first17), self.phone()


def noisy_list(
    people: Sequence[Person],
    *,
    size: int,
    seed: int = 2020,
    strangers: float = 0.10,
    number_typos: float = 0.15,
    missing_numbers: float = 0.25,
    changed_phones: float = 0.05,
    missing_phones: float = 0.03,
    name_typos: float = 0.05,
    pinyin_names: float = 0.05,
    arrivals: tuple[dt.date, dt.date] = (dt.date(2020, 1, 10), dt.date(2020, 1, 24)),
    origin: str = "武汉",
) -> NoisyList:
    """A list of ``size`` rows: residents drawn from ``people`` and strangers, with noise.

    The shares are of all rows: 15% of the identity numbers mistyped, 25%
    missing, 5% of the phones changed, 3% missing (only where the row keeps
    its identity number: a list row with neither is of no use to anyone),
    by default. ``people`` should have identity numbers and phones, as
    ticketed travellers do; the draw is without replacement, for ``seed``.
    """
    rng = random.Random(seed)
    noise = _Noise(rng)
    known = min(round(size * (1 - strangers)), len(people))
    drawn = rng.sample(range(len(people)), known)
    span = (arrivals[1] - arrivals[0]).days
    rows: list[NoisyRow] = []
    for index in drawn:
        person_id, name, number, phone = people[index]
        roll = rng.random()
        typed = ""
        if number and roll >= missing_numbers:
            typed = number
            if roll < missing_numbers + number_typos:
                typed = noise.number(number)
            typed = noise.number_format(typed)
        roll = rng.random()
        if roll < changed_phones:
            phone = noise.phone()
        elif typed and roll < changed_phones + missing_phones:
            phone = None  # a row keeps a phone when it has no identity number
        roll = rng.random()
        written = name
        if roll < name_typos:
            written = noise.name_typo(name)
        elif roll < name_typos + pinyin_names and PINYIN_AVAILABLE:
            written = noise.pinyin(name)
        rows.append(
            NoisyRow(
                name=written,
                id_number=typed,
                phone="" if phone is None else noise.phone_format(phone),
                arrival=arrivals[0] + dt.timedelta(days=rng.randint(0, span)),
                origin=origin,
                train=f"G{rng.randint(1, 2000)}",
                truth=person_id,
            )
        )
    for _ in range(size - known):
        name, number, phone = noise.stranger(arrivals[1])
        rows.append(
            NoisyRow(
                name=name,
                id_number=noise.number_format(number),
                phone=noise.phone_format(phone),
                arrival=arrivals[0] + dt.timedelta(days=rng.randint(0, span)),
                origin=origin,
                train=f"G{rng.randint(1, 2000)}",
                truth=None,
            )
        )
    rng.shuffle(rows)
    return NoisyList(rows=tuple(rows), seed=seed)
