"""Fast, seeded making of people: names, identity numbers, phones, households.

Everything here works on plain tuples, already encoded the way
:meth:`gridguard.storage.schema.TableSpec.encode` stores a :class:`Person`,
so that the city generator never builds a model object per person. The
Huayuan scenario builds its model objects from the same tuples, which puts
every generated value through full model validation in the tests.
"""

from __future__ import annotations

import datetime as dt
import random
from array import array
from bisect import bisect
from collections.abc import Sequence
from itertools import accumulate
from typing import Any

__all__ = [
    "PERSON_COLUMNS",
    "REFERENCE_DATE",
    "PersonFactory",
    "check_character",
    "mobile_prefixes",
]

Row = tuple[Any, ...]

REFERENCE_DATE = dt.date(2020, 1, 25)
"""Ages are counted on the first day of the level-1 response (Chinese New Year 2020)."""

PERSON_COLUMNS = (
    "id",
    "household_id",
    "name",
    "resident_id",
    "phone",
    "sex",
    "birth_date",
    "residency",
)
"""The stored column order of a person row, checked against the storage schema."""

# -- identity numbers (GB 11643-1999) ------------------------------------------------------

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK = "10X98765432"
"""ISO 7064 MOD 11-2: the check character for each weighted sum modulo 11."""


def _weighted(digits: str, start: int) -> int:
    return sum(int(c) * _WEIGHTS[start + i] for i, c in enumerate(digits))


def check_character(first17: str) -> str:
    """The MOD 11-2 check character of 17 digits (what ``stdnum.cn.ric`` computes)."""
    return _CHECK[_weighted(first17, 0) % 11]


# Region codes (the first six digits): where a person was first registered.
LOCAL_REGION = "442000"
"""Zhongshan, a prefecture-level city without county-level districts."""
GUANGDONG_REGIONS = ("440104", "440604", "441900", "440802", "445102", "440303", "441302")
"""Guangzhou Yuexiu, Foshan Chancheng, Dongguan, Zhanjiang Chikan, Chaozhou Xiangqiao,
Shenzhen Luohu, Huizhou Huicheng."""
MIGRANT_REGIONS = ("430102", "450102", "360102", "510104", "431102", "452402", "421002", "420106")
"""Changsha Furong, Nanning Xingning, Nanchang Donghu, Chengdu Jinjiang, Yongzhou Lingling,
Hezhou Babu, Jingzhou Shashi, Wuhan Wuchang: the provinces Zhongshan's tenants come from."""
REGIONS = (LOCAL_REGION, *GUANGDONG_REGIONS, *MIGRANT_REGIONS)

_OLDEST = dt.date(1918, 1, 1).toordinal()
_REF = REFERENCE_DATE.toordinal()
_DAYS = _REF - _OLDEST + 1
_MAX_AGE = 100
_PER_SEX = 500
"""Sequence numbers per region, birth date and sex: three digits, odd for men, even for women."""
_STRIDE = 197
"""Coprime with 500: spreads consecutive sequence numbers (k * 197 mod 500 is a bijection)."""
_SEQ_OF = [((k * _STRIDE + 11) % _PER_SEX) * 2 for k in range(_PER_SEX)]
"""The even sequence number handed out k-th; a man's is one more (odd)."""
_LAST_DAY = _DAYS - 1


def _seq_tables() -> tuple[list[str], list[int]]:
    text = [f"{n:03d}" for n in range(1000)]
    return text, [_weighted(t, 14) for t in text]


def _day_tables() -> tuple[list[str], list[str], list[int]]:
    compact, iso, sums = [], [], []
    for ordinal in range(_OLDEST, _REF + 1):
        day = dt.date.fromordinal(ordinal)
        digits = f"{day.year:04d}{day.month:02d}{day.day:02d}"
        compact.append(digits)
        iso.append(day.isoformat())
        sums.append(_weighted(digits, 6))
    return compact, iso, sums


# -- phones ----------------------------------------------------------------------------------

_MOBILE_PREFIXES = (
    # China Mobile
    ("134", 3), ("135", 6), ("136", 6), ("137", 6), ("138", 8), ("139", 8), ("147", 1),
    ("150", 3), ("151", 3), ("152", 3), ("157", 2), ("158", 4), ("159", 4), ("178", 2),
    ("182", 3), ("183", 2), ("184", 1), ("187", 3), ("188", 3), ("198", 1),
    # China Unicom
    ("130", 4), ("131", 3), ("132", 3), ("155", 2), ("156", 3), ("166", 1), ("175", 1),
    ("176", 2), ("185", 2), ("186", 4),
    # China Telecom
    ("133", 3), ("153", 2), ("173", 1), ("177", 2), ("180", 2), ("181", 2), ("189", 3),
    ("191", 1), ("199", 1),
)  # fmt: skip
"""Mobile prefixes with a rough share of subscribers; every 11-digit number starting
with one is valid for ``phonenumbers`` (the tests check every fourth digit)."""


def mobile_prefixes() -> tuple[str, ...]:
    """The three-digit mobile prefixes the generator draws from."""
    return tuple(p for p, _ in _MOBILE_PREFIXES)


# -- names -----------------------------------------------------------------------------------

_SURNAMES = (
    ("陈", 12), ("李", 8), ("黄", 8), ("张", 5), ("梁", 5), ("林", 5), ("刘", 5), ("吴", 4),
    ("罗", 3), ("杨", 3), ("周", 2), ("郑", 3), ("何", 3), ("谢", 2), ("曾", 2), ("冯", 2),
    ("邓", 2), ("钟", 2), ("余", 2), ("叶", 2), ("卢", 2), ("苏", 2), ("蔡", 2), ("潘", 1),
    ("郭", 2), ("彭", 1), ("黎", 1), ("萧", 1), ("王", 3), ("赵", 1), ("孙", 1), ("朱", 1),
    ("胡", 1), ("高", 1), ("马", 1), ("徐", 1), ("欧阳", 1), ("麦", 1), ("甘", 1), ("简", 1),
    ("古", 1), ("阮", 1), ("缪", 1), ("容", 1), ("温", 1), ("邝", 1), ("区", 1), ("司徒", 1),
)  # fmt: skip
"""Surnames common in the Pearl River Delta, with rough weights."""

_MALE_CHARS = "伟强明华军杰俊文斌辉健勇志浩宇鹏涛锋国荣家振永建东海峰锦耀荣宏达嘉俊子豪智"
_FEMALE_CHARS = "芳丽敏静燕玲婷霞娟秀英慧兰红梅琳欣怡雪颖洁莹倩佩珊淑嘉美凤诗晓妍彩玉月桂"


def _given_names(chars: str) -> list[str]:
    unique = list(dict.fromkeys(chars))
    doubles = [a + b for a in unique for b in unique if a != b]
    return unique + doubles


# -- ages and households ----------------------------------------------------------------------

HOUSEHOLD_SIZES = (1, 2, 3, 4, 5, 6)
HOUSEHOLD_SIZE_WEIGHTS = (0.25, 0.29, 0.21, 0.14, 0.07, 0.04)
"""People per family household: mean 2.61, Guangdong's 2020 census average is about 2.6."""
CITY_HOUSEHOLD_SIZE_WEIGHTS = (0.18, 0.25, 0.23, 0.18, 0.10, 0.06)
"""People per household across Zhongshan: mean 2.95, so that its 4.42 million residents
fill about 1.5 million households (collective ones, such as factory dormitories, included)."""

AgeBands = Sequence[tuple[int, int, float]]

OLD_COMMUNITY_HEADS: AgeBands = (
    (25, 34, 0.10),
    (35, 44, 0.15),
    (45, 54, 0.20),
    (55, 64, 0.22),
    (65, 74, 0.20),
    (75, 90, 0.13),
)
"""Ages of the head of a household in an old inner-city community: many long-time residents."""
NEW_ESTATE_HEADS: AgeBands = ((26, 34, 0.30), (35, 44, 0.35), (45, 54, 0.18), (55, 80, 0.17))
TENANT_HEADS: AgeBands = ((19, 29, 0.35), (30, 39, 0.40), (40, 49, 0.18), (50, 60, 0.07))

RESIDENT, TENANT, VISITOR = "resident", "tenant", "visitor"
MALE, FEMALE = "male", "female"


class _Bands:
    """Sample an age from weighted inclusive bands."""

    def __init__(self, bands: AgeBands) -> None:
        self.bands = tuple(bands)
        self.cum = list(accumulate(w for _, _, w in bands))

    def sample(self, rng: random.Random) -> int:
        lo, hi, _ = self.bands[bisect(self.cum, rng.random() * self.cum[-1])]
        return lo + int(rng.random() * (hi - lo + 1))


class PersonFactory:
    """Makes households of people as encoded person rows, from one seeded RNG.

    Identity numbers are unique across everything one factory makes: a
    counter per region, birth date and sex hands out the three-digit sequence
    number, and the check character comes from precomputed weighted sums.
    """

    def __init__(
        self, rng: random.Random, household_sizes: Sequence[float] = HOUSEHOLD_SIZE_WEIGHTS
    ) -> None:
        self.rng = rng
        self._seq_text, self._seq_sum = _seq_tables()
        self._day_compact, self._day_iso, self._day_sum = _day_tables()
        self._region_sum = {r: _weighted(r, 0) for r in REGIONS}
        self._region_index = {r: n for n, r in enumerate(REGIONS)}
        self._used = array("H", bytes(2 * len(REGIONS) * _DAYS * 2))
        self._surnames = [s for s, _ in _SURNAMES]
        self._surname_cum = list(accumulate(w for _, w in _SURNAMES))
        self._male = _given_names(_MALE_CHARS)
        self._female = _given_names(_FEMALE_CHARS)
        self._phones = [p for p, _ in _MOBILE_PREFIXES]
        self._phone_cum = list(accumulate(w for _, w in _MOBILE_PREFIXES))
        self._phone_table = [f"+86{p}" for p, w in _MOBILE_PREFIXES for _ in range(w)]
        self._size_cum = list(accumulate(household_sizes))
        self.bands = {
            "old": _Bands(OLD_COMMUNITY_HEADS),
            "new": _Bands(NEW_ESTATE_HEADS),
            "tenant": _Bands(TENANT_HEADS),
        }

    # -- single values ---------------------------------------------------------------------

    def surname(self) -> str:
        rng = self.rng
        return self._surnames[bisect(self._surname_cum, rng.random() * self._surname_cum[-1])]

    def given_name(self, male: bool) -> str:
        pool = self._male if male else self._female
        return pool[int(self.rng.random() * len(pool))]

    def name(self, male: bool) -> str:
        return self.surname() + self.given_name(male)

    def phone(self) -> str:
        """A valid mainland mobile number in E.164 form."""
        rng = self.rng
        prefix = self._phones[bisect(self._phone_cum, rng.random() * self._phone_cum[-1])]
        return f"+86{prefix}{int(rng.random() * 100_000_000):08d}"

    def household_size(self) -> int:
        """1 to 6 people, with the weights the factory was made with."""
        return 1 + bisect(self._size_cum, self.rng.random() * self._size_cum[-1])

    def identity(self, region: str, age: int, male: bool) -> tuple[str, str]:
        """A unique identity number and the ISO birth date it encodes.

        The birth date is ``age`` years and a random part of a year before
        :data:`REFERENCE_DATE`; the sequence number is the next one free for
        that region, date and sex (the date moves back a day if all 500 are
        taken).
        """
        day = _LAST_DAY - age * 365 - int(self.rng.random() * 365)
        day = min(max(day, 0), _LAST_DAY)
        sex_bit = 1 if male else 0
        base = self._region_index[region] * _DAYS * 2 + sex_bit
        used = self._used
        while used[base + day * 2] >= _PER_SEX:
            day = day - 1 if day > 0 else _LAST_DAY
        k = used[base + day * 2]
        used[base + day * 2] = k + 1
        seq = _SEQ_OF[k] + sex_bit
        total = self._region_sum[region] + self._day_sum[day] + self._seq_sum[seq]
        number = f"{region}{self._day_compact[day]}{self._seq_text[seq]}{_CHECK[total % 11]}"
        return number, self._day_iso[day]

    def region(self, residency: str) -> str:
        rng = self.rng
        roll = rng.random()
        if residency == RESIDENT:
            if roll < 0.88:
                return LOCAL_REGION
            return GUANGDONG_REGIONS[int(rng.random() * len(GUANGDONG_REGIONS))]
        if residency == TENANT and roll < 0.25:
            return GUANGDONG_REGIONS[int(rng.random() * len(GUANGDONG_REGIONS))]
        return MIGRANT_REGIONS[int(rng.random() * len(MIGRANT_REGIONS))]

    # -- households ------------------------------------------------------------------------

    def members(self, size: int, head_age: int) -> list[tuple[int, bool, int]]:
        """``(age, male, kin)`` of each member; kin 0 head, 1 spouse, 2 child, 3 parent."""
        rng = self.rng
        head_male = rng.random() < 0.7
        out = [(head_age, head_male, 0)]
        if size >= 2:
            if rng.random() < 0.85:
                spouse = head_age + (
                    int(rng.random() * 7) - 3 if head_male else int(rng.random() * 5)
                )
                out.append((min(max(spouse, 18), _MAX_AGE), not head_male, 1))
            else:
                out.append((max(head_age - 22 - int(rng.random() * 12), 0), rng.random() < 0.5, 2))
        parent_age = head_age + 24 + int(rng.random() * 8)
        child_age = head_age - 24 - int(rng.random() * 10)
        while len(out) < size:
            if child_age >= 0 and (head_age < 60 or len(out) == 2):
                out.append((child_age, rng.random() < 0.52, 2))
                child_age -= 1 + int(rng.random() * 5)
            elif parent_age <= 95 and head_age < 60:
                out.append((parent_age, len(out) % 2 == 0, 3))
                parent_age += int(rng.random() * 4) - 1
            else:
                # A grandchild of an older head, or another relative.
                age = max(head_age - 50 - int(rng.random() * 15), 0)
                out.append((age, rng.random() < 0.52, 2))
        return out

    def household(
        self,
        household_id: str,
        size: int,
        residency: str,
        bands: str = "old",
        visitor_chance: float = 0.0,
    ) -> list[Row]:
        """Person rows for one household, in :data:`PERSON_COLUMNS` order.

        The hot loop of the city generator: identity numbers are inlined
        (see :meth:`identity`) and everything is looked up in tables.
        """
        random = self.rng.random
        head_age = self.bands["tenant" if residency == TENANT else bands].sample(self.rng)
        members = self.members(size, head_age)
        head_male = members[0][1]
        surnames, surname_cum = self._surnames, self._surname_cum
        top = surname_cum[-1]
        family = surnames[bisect(surname_cum, random() * top)]
        other = surnames[bisect(surname_cum, random() * top)]
        home_region = self.region(residency)
        visitor_at = size - 1 if size >= 2 and random() < visitor_chance else -1
        used, day_compact, day_sum, day_iso = (
            self._used,
            self._day_compact,
            self._day_sum,
            self._day_iso,
        )
        seq_text, seq_sum, seq_of = self._seq_text, self._seq_sum, _SEQ_OF
        region_index, region_sum = self._region_index, self._region_sum
        phones, n_phones = self._phone_table, len(self._phone_table)
        male_names, female_names = self._male, self._female
        n_male, n_female = len(male_names), len(female_names)
        rows: list[Row] = []
        for n, (age, male, kin) in enumerate(members):
            status = VISITOR if n == visitor_at else residency
            if kin == 0:
                surname = family
            elif kin == 1:
                surname = other
            elif kin == 2:
                surname = family if head_male else other  # the father's surname
            else:
                surname = family if male else surnames[bisect(surname_cum, random() * top)]
            if status == VISITOR:
                surname = surnames[bisect(surname_cum, random() * top)]
                region = self.region(VISITOR)
            elif kin == 1 or n == 0 or random() < 0.2:
                region = self.region(status)
            else:
                region = home_region
            # A unique identity number (see identity()).
            day = _LAST_DAY - age * 365 - int(random() * 365)
            if day < 0:
                day = 0
            sex_bit = 1 if male else 0
            base = region_index[region] * _DAYS * 2 + sex_bit
            k = used[base + day * 2]
            while k >= _PER_SEX:
                day = day - 1 if day > 0 else _LAST_DAY
                k = used[base + day * 2]
            used[base + day * 2] = k + 1
            seq = seq_of[k] + sex_bit
            check = _CHECK[(region_sum[region] + day_sum[day] + seq_sum[seq]) % 11]
            phone = None
            if age >= 16 and random() < (0.5 if age >= 75 else 0.95):
                phone = f"{phones[int(random() * n_phones)]}{int(random() * 100_000_000):08d}"
            if male:
                given = male_names[int(random() * n_male)]
            else:
                given = female_names[int(random() * n_female)]
            rows.append(
                (
                    f"{household_id}-{n + 1}",
                    household_id,
                    surname + given,
                    f"{region}{day_compact[day]}{seq_text[seq]}{check}",
                    phone,
                    MALE if male else FEMALE,
                    day_iso[day],
                    status,
                )
            )
        return rows


def age_on_reference(birth_iso: str) -> int:
    """Whole years between an ISO birth date and :data:`REFERENCE_DATE`."""
    born = dt.date.fromisoformat(birth_iso)
    ref = REFERENCE_DATE
    return ref.year - born.year - ((ref.month, ref.day) < (born.month, born.day))
